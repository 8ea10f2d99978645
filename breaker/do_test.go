package breaker

import (
	"context"
	"errors"
	"testing"
)

// TestDoOutcomes runs each outcome through both forms of Do on a plain
// closed breaker (the fast path) and on one with a window: a success
// counts and clears the consecutive failures, an error counts as a
// failure, and a panic counts as a failure and goes on unwinding.
func TestDoOutcomes(t *testing.T) {
	errBad := errors.New("bad")
	forms := []struct {
		name string
		do   func(*Breaker, func() error) error
	}{
		{"generic", func(b *Breaker, f func() error) error {
			_, err := Do(context.Background(), b, func(context.Context) (int, error) { return 1, f() })
			return err
		}},
		{"method", func(b *Breaker, f func() error) error {
			return b.Do(context.Background(), func(context.Context) error { return f() })
		}},
	}
	configs := []struct {
		name string
		cfg  Config
	}{
		{"plain", Config{FailureThreshold: 10}},
		{"window", Config{FailureThreshold: 10, FailureRateThreshold: 0.9, MinimumCalls: 100}},
	}
	for _, form := range forms {
		for _, c := range configs {
			t.Run(form.name+"/"+c.name, func(t *testing.T) {
				b := New(c.cfg)
				if err := form.do(b, func() error { return errBad }); !errors.Is(err, errBad) {
					t.Fatalf("failing call: %v, want %v", err, errBad)
				}
				func() {
					defer func() {
						if r := recover(); r != "kaboom" {
							t.Errorf("recovered %v, want the panic of fn", r)
						}
					}()
					_ = form.do(b, func() error { panic("kaboom") })
				}()
				if s := b.Stats(); s.Failures != 2 || s.ConsecutiveFailures != 2 || s.Successes != 0 {
					t.Fatalf("after an error and a panic: %+v, want 2 failures", s)
				}
				if err := form.do(b, func() error { return nil }); err != nil {
					t.Fatalf("succeeding call: %v", err)
				}
				if s := b.Stats(); s.Successes != 1 || s.ConsecutiveFailures != 0 || s.Failures != 2 {
					t.Fatalf("after a success: %+v, want 1 success and no consecutive failures", s)
				}
			})
		}
	}
}
