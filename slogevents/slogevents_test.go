package slogevents_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/slogevents"
	"github.com/seed94f50169/resilience/timeout"
)

// reqIDHandler adds the request id it finds in the context, as a handler
// that correlates logs with traces would.
type reqIDHandler struct{ slog.Handler }

type reqID struct{}

func (h reqIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(reqID{}).(string); ok {
		r.AddAttrs(slog.String("req", id))
	}
	return h.Handler.Handle(ctx, r)
}

func newLogger(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level, ReplaceAttr: noTime})
	return slog.New(reqIDHandler{h}), &buf
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestNothingPerSuccessfulCall(t *testing.T) {
	logger, buf := newLogger(slog.LevelDebug)
	r := &middleware.Recovery{
		Retry:    &retry.Policy{},
		Breaker:  breaker.New(breaker.Config{Observers: []breaker.Observer{slogevents.Breaker(logger)}}),
		Bulkhead: bulkhead.New(bulkhead.Config{Observers: []bulkhead.Observer{slogevents.Bulkhead(logger)}}),
	}
	slogevents.Attach(r, logger)
	for range 10 {
		middleware.Do(t.Context(), r, func(context.Context) (int, error) { return 1, nil })
	}
	h := r.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := lines(buf); len(got) != 0 {
		t.Errorf("successful calls logged %q", got)
	}
}

func TestLevelsAndAttributes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, buf := newLogger(slog.LevelDebug)
		br := breaker.New(breaker.Config{FailureThreshold: 1, OpenTimeout: time.Minute, Observers: []breaker.Observer{slogevents.Breaker(logger)}})
		r := &middleware.Recovery{Retry: &retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Jitter: backoff.NoJitter}}, Breaker: br}
		slogevents.Attach(r, logger)
		ctx := context.WithValue(t.Context(), reqID{}, "r-7")
		middleware.Do(ctx, r, func(context.Context) (int, error) { return 0, errors.New("boom") })
		want := []string{
			`level=WARN msg="breaker opened" event=state_change from=closed to=open`,
			`level=DEBUG msg=retrying event=retry attempt=2 delay=100ms reason=backoff err=boom req=r-7`,
			`level=WARN msg=rejected event=reject state=open err="breaker: open" retry_after=1m0s`,
			`level=WARN msg=rejected event=reject attempt=2 err="breaker: open" req=r-7`,
			`level=ERROR msg="retries exhausted" event=exhausted attempt=2 err="retry: giving up after 2 attempts: breaker: open" req=r-7`,
		}
		got := lines(buf)
		if len(got) != len(want) {
			t.Fatalf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
			}
		}
	})
}

func TestHandlerPanicIsLoggedOnce(t *testing.T) {
	logger, buf := newLogger(slog.LevelInfo)
	r := &middleware.Recovery{}
	slogevents.Attach(r, logger)
	h := r.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "http://svc/orders?id=1", nil))
	got := lines(buf)
	if w.Code != 500 || len(got) == 0 {
		t.Fatalf("status %d, log %q", w.Code, got)
	}
	first := got[0]
	for _, part := range []string{`level=ERROR msg="panic recovered" event=panic host=svc method=POST url="http://svc/orders?id=1" status=500 err=`, "kaboom", "stack="} {
		if !strings.Contains(first, part) {
			t.Errorf("panic record %q lacks %q", first, part)
		}
	}
	if n := strings.Count(buf.String(), "panic recovered"); n != 1 {
		t.Errorf("panic logged %d times, want 1", n)
	}
}

func TestPackageObservers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, buf := newLogger(slog.LevelInfo)
		ctx := timeout.WithObserver(fallback.WithObserver(t.Context(), slogevents.Fallback(logger)), slogevents.Timeout(logger))
		timeout.DoNamed(ctx, "step", time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		fallback.Do(ctx, func(context.Context) (int, error) { return 0, errors.New("down") }, fallback.Value(1))
		retry.Do(ctx, retry.Policy{MaxAttempts: 1, Observers: []retry.Observer{slogevents.Retry(logger)}},
			func(context.Context) (int, error) { return 0, errors.New("x") })
		want := []string{
			`level=WARN msg="timed out" event=timeout scope=step limit=1s`,
			`level=INFO msg="fallback served" event=served step=1 err=down`,
			`level=ERROR msg="retries exhausted" event=exhausted attempt=1 err="retry: giving up after 1 attempt: x"`,
		}
		got := lines(buf)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
