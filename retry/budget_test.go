package retry_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
)

func failing(calls *atomic.Int64) func(context.Context) error {
	return func(context.Context) error {
		calls.Add(1)
		return errBoom
	}
}

func TestBudgetRefusesARetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 1})
		p := retry.Policy{MaxAttempts: 5, Budget: b, Backoff: backoff.Policy{Initial: 10 * ms, Jitter: backoff.NoJitter}}
		var calls atomic.Int64
		err := p.Do(context.Background(), failing(&calls))
		// The call earns 0.5 token: not enough for a retry, so the first
		// retry comes from the floor (1 per second); the second is refused.
		if calls.Load() != 2 {
			t.Errorf("fn called %d times, want 2", calls.Load())
		}
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || ex.Attempts != 2 {
			t.Fatalf("err = %v, want *ExhaustedError after 2 attempts", err)
		}
		for _, want := range []error{retry.ErrBudgetExhausted, retry.ErrExhausted, errBoom} {
			if !errors.Is(err, want) {
				t.Errorf("err = %v, want it to match %v", err, want)
			}
		}
		if got, want := b.Stats(), (retry.BudgetStats{Tokens: 0.5, Retries: 1, Refused: 1}); got != want {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}

		// A second call brings the saved tokens to 1: one retry from them.
		// The floor refills after a second.
		calls.Store(0)
		time.Sleep(time.Second)
		p.Do(context.Background(), failing(&calls))
		if calls.Load() != 3 {
			t.Errorf("second call: fn called %d times, want 3 (a saved token, then the refilled floor)", calls.Load())
		}
		if got, want := b.Stats(), (retry.BudgetStats{Tokens: 0, Retries: 3, Refused: 2}); got != want {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}
	})
}

func TestBudgetCapsSavedTokens(t *testing.T) {
	b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.1, MaxTokens: 5})
	p := retry.Policy{Budget: b}
	ok := func(context.Context) error { return nil }
	for i := 0; i < 1000; i++ {
		p.Do(context.Background(), ok)
	}
	if got := b.Stats().Tokens; got != 5 {
		t.Errorf("Tokens = %v after 1000 calls, want the cap 5", got)
	}
}

func TestZeroBudgetRefusesEveryRetry(t *testing.T) {
	var b retry.Budget
	var calls atomic.Int64
	err := retry.Policy{Budget: &b}.Do(context.Background(), failing(&calls))
	if calls.Load() != 1 || !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Errorf("%d calls, err %v; want 1 call and ErrBudgetExhausted", calls.Load(), err)
	}
}

// During an outage every call fails; a budget of 10% must keep the retries
// actually made within 10% of the calls plus the floor, however many
// goroutines share it.
func TestBudgetBoundsRetriesUnderConcurrentLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			workers      = 16
			callsEach    = 250
			ratio        = 0.1
			minPerSecond = 2
		)
		b := retry.NewBudget(retry.BudgetConfig{Ratio: ratio, MinPerSecond: minPerSecond})
		p := retry.Policy{
			MaxAttempts: 4,
			Budget:      b,
			Backoff:     backoff.Policy{Initial: ms, Max: 10 * ms, Jitter: backoff.FullJitter},
		}
		start := time.Now()
		var attempts, refused atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for i := 0; i < callsEach; i++ {
					err := p.Do(context.Background(), failing(&attempts))
					if errors.Is(err, retry.ErrBudgetExhausted) {
						refused.Add(1)
					} else if !errors.Is(err, retry.ErrExhausted) {
						t.Errorf("err = %v, want exhaustion", err)
					}
				}
			})
		}
		wg.Wait()

		calls := int64(workers * callsEach)
		retries := attempts.Load() - calls
		seconds := math.Ceil(time.Since(start).Seconds())
		limit := ratio*float64(calls) + minPerSecond*(1+seconds)
		t.Logf("%d calls, %d retries (limit %.0f, %.0fs), %d refused", calls, retries, limit, seconds, refused.Load())
		if float64(retries) > limit {
			t.Errorf("%d retries for %d failing calls, want at most %.0f", retries, calls, limit)
		}
		// The budget is spent, not just refused: nearly every earned token
		// became a retry.
		if float64(retries) < ratio*float64(calls)-workers {
			t.Errorf("%d retries, want about %.0f: the budget refuses retries it has", retries, ratio*float64(calls))
		}
		if refused.Load() == 0 {
			t.Error("no call was refused by the budget")
		}
		if s := b.Stats(); int64(s.Retries) != retries || s.Refused != uint64(refused.Load()) {
			t.Errorf("Stats() = %+v, want %d retries and %d refused", s, retries, refused.Load())
		}
	})
}

func TestNewBudgetPanicsOnBadField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   retry.BudgetConfig
		field string
	}{
		{"negative ratio", retry.BudgetConfig{Ratio: -0.1}, "Ratio"},
		{"NaN ratio", retry.BudgetConfig{Ratio: math.NaN()}, "Ratio"},
		{"infinite floor", retry.BudgetConfig{MinPerSecond: math.Inf(1)}, "MinPerSecond"},
		{"negative floor", retry.BudgetConfig{MinPerSecond: -1}, "MinPerSecond"},
		{"negative cap", retry.BudgetConfig{MaxTokens: -1}, "MaxTokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "retry: BudgetConfig."+tt.field+" ") {
					t.Errorf("panic %q, want one naming BudgetConfig.%s", msg, tt.field)
				}
			}()
			retry.NewBudget(tt.cfg)
		})
	}
}

func TestNewBudgetRoundsTinyRatioUp(t *testing.T) {
	b := retry.NewBudget(retry.BudgetConfig{Ratio: 1e-12})
	p := retry.Policy{Budget: b}
	for i := 0; i < 3; i++ {
		p.Do(context.Background(), func(context.Context) error { return nil })
	}
	if got := b.Stats().Tokens; math.Abs(got-3e-6) > 1e-12 {
		t.Errorf("Tokens = %v after 3 calls at a ratio of 1e-12, want 3e-6 (one millionth each)", got)
	}
}

func TestNewBudgetClampsHugeValues(t *testing.T) {
	b := retry.NewBudget(retry.BudgetConfig{Ratio: math.MaxFloat64, MinPerSecond: math.MaxFloat64, MaxTokens: math.MaxFloat64})
	p := retry.Policy{Budget: b}
	for i := 0; i < 3; i++ {
		p.Do(context.Background(), func(context.Context) error { return nil })
	}
	if got := b.Stats().Tokens; got != 3000 {
		t.Errorf("Tokens = %v after 3 calls at the clamped ratio 1000, want 3000", got)
	}
}
