package slogevents_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/slogevents"
	"github.com/seed94f50169/resilience/throttle"
)

// TestEventMapping feeds each package's observer the events it maps
// and checks the level and message of what it logs (or that it logs
// nothing).
func TestEventMapping(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	refused := errors.New("refused")
	tests := []struct {
		name  string
		level slog.Level // the logger's
		emit  func(l *slog.Logger)
		want  string // "" for no line; else "level=X msg=Y"
	}{
		{"limit reject", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Limit(l).Observe(limit.Event{Kind: limit.EventReject, Err: refused})
		}, "level=WARN msg=rejected"},
		{"limit reject of a caller gone", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Limit(l).Observe(limit.Event{Kind: limit.EventReject, Err: refused, Ctx: ended})
		}, ""},
		{"limit change", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.Limit(l).Observe(limit.Event{Kind: limit.EventLimitChange, From: 20, To: 10})
		}, `level=DEBUG msg="limit changed"`},
		{"limit acquire", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.Limit(l).Observe(limit.Event{Kind: limit.EventAcquire})
		}, ""},
		{"throttle reject", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Throttle(l).Observe(throttle.Event{Kind: throttle.EventReject, Err: refused, Probability: 0.5})
		}, "level=WARN msg=rejected"},
		{"rate limit reject", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.RateLimit(l).Observe(ratelimit.Event{Kind: ratelimit.EventReject, Err: refused})
		}, "level=WARN msg=rejected"},
		{"rate limit wait", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.RateLimit(l).Observe(ratelimit.Event{Kind: ratelimit.EventWait})
		}, ""},
		{"retry at debug", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.Retry(l).Observe(retry.Event{Kind: retry.EventRetry, Attempt: 1, Delay: time.Second, Err: refused})
		}, "level=DEBUG msg=retrying"},
		{"retry at info", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Retry(l).Observe(retry.Event{Kind: retry.EventRetry, Attempt: 1, Err: refused})
		}, ""},
		{"retries exhausted", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Retry(l).Observe(retry.Event{Kind: retry.EventExhausted, Attempt: 3, Err: refused})
		}, `level=ERROR msg="retries exhausted"`},
		{"hedge sent", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.Hedge(l).Observe(hedge.Event{Kind: hedge.EventHedge, Attempt: 2})
		}, `level=DEBUG msg="hedge sent"`},
		{"hedge refused", slog.LevelDebug, func(l *slog.Logger) {
			slogevents.Hedge(l).Observe(hedge.Event{Kind: hedge.EventRefused, Attempt: 2})
		}, `level=DEBUG msg="hedge refused"`},
		{"hedge at info", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Hedge(l).Observe(hedge.Event{Kind: hedge.EventHedge, Attempt: 2})
		}, ""},
		{"breaker opens", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Breaker(l).Observe(breaker.Event{Kind: breaker.EventStateChange, From: breaker.Closed, To: breaker.Open})
		}, "level=WARN"},
		{"breaker half-opens", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Breaker(l).Observe(breaker.Event{Kind: breaker.EventStateChange, From: breaker.Open, To: breaker.HalfOpen})
		}, "level=INFO"},
		{"breaker closes", slog.LevelInfo, func(l *slog.Logger) {
			slogevents.Breaker(l).Observe(breaker.Event{Kind: breaker.EventStateChange, From: breaker.HalfOpen, To: breaker.Closed})
		}, "level=INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, buf := newLogger(tt.level)
			tt.emit(l)
			got := lines(buf)
			switch {
			case tt.want == "" && len(got) != 0:
				t.Errorf("logged %q, want nothing", got)
			case tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.want)):
				t.Errorf("logged %q, want one line starting %q", got, tt.want)
			}
		})
	}
}

// A nil logger means slog.Default.
func TestNilLoggerIsDefault(t *testing.T) {
	l, buf := newLogger(slog.LevelInfo)
	old := slog.Default()
	slog.SetDefault(l)
	defer slog.SetDefault(old)
	slogevents.Throttle(nil).Observe(throttle.Event{Kind: throttle.EventReject, Err: errors.New("x")})
	if len(lines(buf)) != 1 {
		t.Errorf("logged %q through the default logger, want one line", lines(buf))
	}
}
