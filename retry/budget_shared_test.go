package retry_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
)

// sharer allows `allow` retries in total and counts what it is told.
type sharer struct {
	requests, retries atomic.Int64
	allow             int64
}

func (s *sharer) Request() { s.requests.Add(1) }
func (s *sharer) Retry() bool {
	if s.retries.Add(1) > s.allow {
		s.retries.Add(-1)
		return false
	}
	return true
}

func TestSharedBudget(t *testing.T) {
	tests := []struct {
		name      string
		allow     int64
		calls     int
		wantFn    int64 // fn calls in all
		wantRetry uint64
		wantRefus uint64
	}{
		{"refuses every retry", 0, 3, 3, 0, 3},
		{"allows some", 4, 3, 7, 4, 1},
		{"allows all", 100, 3, 9, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &sharer{allow: tt.allow}
				b := retry.NewSharedBudget(s)
				p := retry.Policy{MaxAttempts: 3, Budget: b, Backoff: backoff.Policy{Initial: time.Millisecond, Jitter: backoff.NoJitter}}
				var calls atomic.Int64
				for range tt.calls {
					err := p.Do(context.Background(), failing(&calls))
					if err == nil {
						t.Fatal("no error")
					}
				}
				if got := calls.Load(); got != tt.wantFn {
					t.Errorf("fn called %d times, want %d", got, tt.wantFn)
				}
				if got := s.requests.Load(); got != int64(tt.calls) {
					t.Errorf("sharer told of %d requests, want %d", got, tt.calls)
				}
				st := b.Stats()
				if st.Retries != tt.wantRetry || st.Refused != tt.wantRefus || st.Tokens != 0 {
					t.Errorf("stats %+v, want %d retries, %d refused, 0 tokens", st, tt.wantRetry, tt.wantRefus)
				}
			})
		})
	}
}

func TestSharedBudgetRefusalIsBudgetExhausted(t *testing.T) {
	p := retry.Policy{MaxAttempts: 3, Budget: retry.NewSharedBudget(&sharer{})}
	var calls atomic.Int64
	err := p.Do(context.Background(), failing(&calls))
	if !errors.Is(err, retry.ErrBudgetExhausted) || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want ErrBudgetExhausted wrapping the cause", err)
	}
}

func TestNewSharedBudgetNil(t *testing.T) {
	defer func() {
		if r := recover(); r != "retry: NewSharedBudget needs a BudgetSharer" {
			t.Fatalf("panic %v", r)
		}
	}()
	retry.NewSharedBudget(nil)
}

func TestSharedBudgetAllocs(t *testing.T) {
	p := retry.Policy{Budget: retry.NewSharedBudget(&sharer{})}
	fn := func(context.Context) error { return nil }
	if n := testing.AllocsPerRun(1000, func() { p.Do(context.Background(), fn) }); n != 0 {
		t.Fatalf("%v allocs per successful call, want 0", n)
	}
}
