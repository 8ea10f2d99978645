package slogevents_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/slogevents"
)

// noTime drops the time attribute, so that the output can be compared.
func noTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))

	br := breaker.New(breaker.Config{
		FailureThreshold: 3,
		Observers:        []breaker.Observer{slogevents.Breaker(logger)},
	})
	r := &middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: time.Millisecond, Jitter: backoff.NoJitter}},
		Breaker: br,
	}
	slogevents.Attach(r, logger) // one call: r's events go to logger

	_, err := middleware.Do(context.Background(), r, func(context.Context) (int, error) {
		return 0, errors.New("connection refused")
	})
	fmt.Println(err != nil)
	// Output:
	// level=WARN msg="breaker opened" event=state_change from=closed to=open
	// level=ERROR msg="retries exhausted" event=exhausted attempt=3 err="retry: giving up after 3 attempts: connection refused"
	// true
}
