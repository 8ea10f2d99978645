package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
)

const ms = time.Millisecond

var errBoom = errors.New("boom")

// hintError is an error with a Retry-After hint.
type hintError struct{ after time.Duration }

func (e hintError) Error() string             { return fmt.Sprintf("busy, retry after %v", e.after) }
func (e hintError) RetryAfter() time.Duration { return e.after }

// recorder is an operation that fails a given number of times and notes
// when each attempt started, on the (fake) clock.
type recorder struct {
	start  time.Time
	fails  int
	err    error
	starts []time.Duration
}

func newRecorder(fails int, err error) *recorder {
	return &recorder{start: time.Now(), fails: fails, err: err}
}

func (r *recorder) op(ctx context.Context) (int, error) {
	r.starts = append(r.starts, time.Since(r.start))
	if len(r.starts) <= r.fails {
		return -1, r.err
	}
	return len(r.starts), nil
}

func (r *recorder) calls() int { return len(r.starts) }

func TestZeroPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(math.MaxInt, errBoom)
		v, err := retry.Do(context.Background(), retry.Policy{}, r.op)
		if r.calls() != 3 {
			t.Fatalf("fn called %d times, want 3", r.calls())
		}
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || ex.Attempts != 3 || ex.Err != errBoom {
			t.Fatalf("err = %#v, want *ExhaustedError{Attempts: 3, Err: errBoom}", err)
		}
		if !errors.Is(err, errBoom) || !errors.Is(err, retry.ErrExhausted) {
			t.Errorf("err = %v, want it to match errBoom and ErrExhausted", err)
		}
		if errors.Is(err, retry.ErrBudgetExhausted) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v matches a reason it does not have", err)
		}
		if v != -1 {
			t.Errorf("value = %d, want the last attempt's -1", v)
		}
		if got, want := err.Error(), "retry: giving up after 3 attempts: boom"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		// Full jitter on 100ms, 200ms: each wait within its bound.
		if d := r.starts[1] - r.starts[0]; d > 100*ms {
			t.Errorf("first wait %v, want ≤ 100ms", d)
		}
		if d := r.starts[2] - r.starts[1]; d > 200*ms {
			t.Errorf("second wait %v, want ≤ 200ms", d)
		}
	})
}

func TestSucceedsAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(2, errBoom)
		v, err := retry.Do(context.Background(), retry.Policy{}, r.op)
		if err != nil || v != 3 {
			t.Fatalf("Do = %d, %v; want 3, nil", v, err)
		}
	})
}

func TestWaitsFollowTheSchedule(t *testing.T) {
	policies := map[string]backoff.Policy{
		"no jitter":    {Initial: 100 * ms, Jitter: backoff.NoJitter},
		"seeded full":  {Initial: 100 * ms, Seed: 9},
		"decorrelated": {Initial: 100 * ms, Max: time.Second, Jitter: backoff.DecorrelatedJitter, Seed: 3},
		"spread":       {Initial: 100 * ms, Jitter: backoff.SpreadJitter, Seed: 5},
	}
	for name, bp := range policies {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var hooked []time.Duration
				p := retry.Policy{MaxAttempts: 6, Backoff: bp, OnRetry: func(a retry.Attempt) {
					if a.Number != len(hooked)+1 || a.Err != errBoom {
						t.Errorf("OnRetry(%+v), want Number %d and errBoom", a, len(hooked)+1)
					}
					hooked = append(hooked, a.Delay)
				}}
				r := newRecorder(math.MaxInt, errBoom)
				_, err := retry.Do(context.Background(), p, r.op)
				if !errors.Is(err, retry.ErrExhausted) || r.calls() != 6 {
					t.Fatalf("err = %v after %d calls, want exhausted after 6", err, r.calls())
				}
				seq := bp.Sequence()
				for i := 1; i < len(r.starts); i++ {
					want := seq.Next()
					if got := r.starts[i] - r.starts[i-1]; got != want {
						t.Errorf("wait before attempt %d = %v, want %v", i+1, got, want)
					}
					if hooked[i-1] != want {
						t.Errorf("OnRetry delay %d = %v, want %v", i, hooked[i-1], want)
					}
				}
				if len(hooked) != 5 {
					t.Errorf("OnRetry called %d times, want 5", len(hooked))
				}
			})
		})
	}
}

func TestNoJitterExactTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.Policy{MaxAttempts: 5, Backoff: backoff.Policy{Jitter: backoff.NoJitter}}
		r := newRecorder(math.MaxInt, errBoom)
		retry.Do(context.Background(), p, r.op)
		want := []time.Duration{0, 100 * ms, 300 * ms, 700 * ms, 1500 * ms}
		if fmt.Sprint(r.starts) != fmt.Sprint(want) {
			t.Errorf("attempts started at %v, want %v", r.starts, want)
		}
	})
}

func TestPermanent(t *testing.T) {
	cause := errors.New("bad request")
	tests := []struct {
		name     string
		err      error
		wantSame bool // Do returns cause itself
	}{
		{"direct", retry.Permanent(cause), true},
		{"wrapped", fmt.Errorf("call: %w", retry.Permanent(cause)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			p := retry.Policy{Retryable: func(error) bool { return true }}
			err := p.Do(context.Background(), func(context.Context) error {
				calls++
				return tt.err
			})
			if calls != 1 {
				t.Errorf("fn called %d times, want 1", calls)
			}
			if !errors.Is(err, cause) || errors.Is(err, retry.ErrExhausted) {
				t.Errorf("err = %v, want the cause, not exhausted", err)
			}
			if tt.wantSame && err != cause {
				t.Errorf("err = %#v, want the cause itself", err)
			}
		})
	}
	if retry.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if got := retry.Permanent(cause).Error(); got != "bad request" {
		t.Errorf("Permanent(cause).Error() = %q, want the cause's text", got)
	}
}

func TestRetryableRejects(t *testing.T) {
	synctest.Test(t, testRetryableRejects)
}

func testRetryableRejects(t *testing.T) {
	errFatal := errors.New("fatal")
	calls := 0
	p := retry.Policy{Retryable: func(err error) bool { return !errors.Is(err, errFatal) }}
	err := p.Do(context.Background(), func(context.Context) error {
		calls++
		if calls == 1 {
			return errBoom
		}
		return errFatal
	})
	if calls != 2 || err != errFatal {
		t.Errorf("after %d calls err = %v, want errFatal unchanged after 2", calls, err)
	}
}

func TestCallerContextEndedDuringAttempt(t *testing.T) {
	for _, returnCtxErr := range []bool{true, false} {
		t.Run(fmt.Sprint("fn returns ctx error ", returnCtxErr), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			p := retry.Policy{Retryable: func(error) bool { return true }}
			err := p.Do(ctx, func(ctx context.Context) error {
				calls++
				cancel()
				if returnCtxErr {
					return ctx.Err()
				}
				return errBoom
			})
			if calls != 1 {
				t.Errorf("fn called %d times, want 1", calls)
			}
			if !errors.Is(err, context.Canceled) || errors.Is(err, retry.ErrExhausted) {
				t.Errorf("err = %v, want context.Canceled, not exhausted", err)
			}
			if !returnCtxErr && !errors.Is(err, errBoom) {
				t.Errorf("err = %v, want it to match the attempt's error too", err)
			}
		})
	}
}

func TestContextEndedBeforeFirstAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := retry.Policy{}.Do(ctx, func(context.Context) error { calls++; return nil })
	if calls != 0 || err != context.Canceled {
		t.Errorf("fn called %d times, err = %v; want 0 and context.Canceled", calls, err)
	}
}

func TestPerAttemptDeadlineIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		err := retry.Policy{}.Do(context.Background(), func(ctx context.Context) error {
			calls++
			ctx, cancel := context.WithTimeout(ctx, 50*ms)
			defer cancel()
			<-ctx.Done() // the backend is too slow
			return ctx.Err()
		})
		if calls != 3 {
			t.Errorf("fn called %d times, want 3", calls)
		}
		if !errors.Is(err, retry.ErrExhausted) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want exhausted with the attempt's deadline error", err)
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("shutting down")
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		time.AfterFunc(300*ms, func() { cancel(cause) })
		start := time.Now()
		p := retry.Policy{MaxAttempts: 10, Backoff: backoff.Policy{Initial: time.Second, Jitter: backoff.NoJitter}}
		calls := 0
		err := p.Do(ctx, func(context.Context) error { calls++; return errBoom })
		if elapsed := time.Since(start); elapsed != 300*ms {
			t.Errorf("Do returned after %v, want at once on cancel (300ms)", elapsed)
		}
		if calls != 1 {
			t.Errorf("fn called %d times, want 1", calls)
		}
		for _, want := range []error{context.Canceled, cause, errBoom} {
			if !errors.Is(err, want) {
				t.Errorf("err = %v, want it to match %v", err, want)
			}
		}
		if errors.Is(err, retry.ErrExhausted) {
			t.Errorf("err = %v, a cancellation is not exhaustion", err)
		}
	})
}

func TestDeadlineWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*ms)
		defer cancel()
		p := retry.Policy{MaxAttempts: 10, Backoff: backoff.Policy{Initial: 100 * ms, Jitter: backoff.NoJitter}}
		r := newRecorder(math.MaxInt, errBoom)
		_, err := retry.Do(ctx, p, r.op)
		// Attempts at 0 and 100ms; the next wait (200ms) would end at 300ms,
		// past the deadline, so Do gives up at 100ms without sleeping.
		if got := time.Since(r.start); got != 100*ms {
			t.Errorf("Do returned after %v, want 100ms", got)
		}
		if r.calls() != 2 {
			t.Errorf("fn called %d times, want 2", r.calls())
		}
		if ctx.Err() != nil {
			t.Errorf("ctx ended (%v): Do should have returned before the deadline", ctx.Err())
		}
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || ex.Attempts != 2 {
			t.Fatalf("err = %v, want *ExhaustedError after 2 attempts", err)
		}
		for _, want := range []error{retry.ErrExhausted, context.DeadlineExceeded, errBoom} {
			if !errors.Is(err, want) {
				t.Errorf("err = %v, want it to match %v", err, want)
			}
		}
		if !strings.Contains(err.Error(), "deadline") {
			t.Errorf("err = %q, want it to say the deadline was the reason", err)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		maxHint  time.Duration
		wantWait time.Duration
	}{
		{"hint longer than backoff", hintError{2 * time.Second}, 0, 2 * time.Second},
		{"hint shorter than backoff", hintError{10 * ms}, 0, 100 * ms},
		{"wrapped hint", fmt.Errorf("GET /x: %w", hintError{3 * time.Second}), 0, 3 * time.Second},
		{"hostile hint capped at a minute", hintError{24 * time.Hour}, 0, time.Minute},
		{"hint capped at MaxRetryAfter", hintError{time.Hour}, 5 * time.Second, 5 * time.Second},
		{"negative hint ignored", hintError{-time.Hour}, 0, 100 * ms},
		{"negative MaxRetryAfter is the default", hintError{24 * time.Hour}, -1, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := retry.Policy{
					MaxAttempts:   2,
					MaxRetryAfter: tt.maxHint,
					Backoff:       backoff.Policy{Jitter: backoff.NoJitter, Max: 200 * ms},
				}
				r := newRecorder(1, tt.err)
				if _, err := retry.Do(context.Background(), p, r.op); err != nil {
					t.Fatalf("Do: %v", err)
				}
				if got := r.starts[1]; got != tt.wantWait {
					t.Errorf("waited %v, want %v", got, tt.wantWait)
				}
			})
		})
	}
}

func TestRetryAfterPastDeadlineReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := newRecorder(math.MaxInt, hintError{30 * time.Second})
		_, err := retry.Do(ctx, retry.Policy{}, r.op)
		if r.calls() != 1 || time.Since(r.start) != 0 {
			t.Errorf("%d calls in %v, want 1 call and no wait", r.calls(), time.Since(r.start))
		}
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, new(hintError)) {
			t.Errorf("err = %v, want deadline exhaustion wrapping the hint error", err)
		}
	})
}

func TestMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.Policy{
			MaxAttempts: math.MaxInt,
			MaxElapsed:  time.Second,
			Backoff:     backoff.Policy{Initial: 100 * ms, Multiplier: 1, Jitter: backoff.NoJitter},
		}
		start := time.Now()
		calls := 0
		err := p.Do(context.Background(), func(context.Context) error {
			calls++
			time.Sleep(50 * ms) // each attempt takes 50ms
			return errBoom
		})
		// Attempt k starts at 150ms·(k−1); after attempt 7 (ends at 950ms)
		// the next would start at 1050ms, past MaxElapsed.
		if calls != 7 {
			t.Errorf("fn called %d times, want 7", calls)
		}
		if got := time.Since(start); got != 950*ms {
			t.Errorf("Do returned after %v, want 950ms", got)
		}
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || ex.Attempts != 7 || !errors.Is(err, errBoom) {
			t.Errorf("err = %v, want *ExhaustedError after 7 attempts wrapping errBoom", err)
		}
		if errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "MaxElapsed") {
			t.Errorf("err = %q, want MaxElapsed as the reason, not a context deadline", err)
		}
	})
}

func TestMaxAttemptsBounds(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		want        int
	}{
		{"zero is three", 0, 3},
		{"negative is three", -5, 3},
		{"one is no retry", 1, 1},
		{"seven", 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRecorder(math.MaxInt, errBoom)
				_, err := retry.Do(context.Background(), retry.Policy{MaxAttempts: tt.maxAttempts}, r.op)
				if r.calls() != tt.want || !errors.Is(err, retry.ErrExhausted) {
					t.Errorf("%d calls, err %v; want %d calls, exhausted", r.calls(), err, tt.want)
				}
			})
		})
	}
}

func TestHugeMaxAttemptsWithHugeBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		p := retry.Policy{
			MaxAttempts: math.MaxInt,
			Backoff:     backoff.Policy{Initial: math.MaxInt64, Multiplier: math.MaxFloat64, Max: math.MaxInt64},
		}
		r := newRecorder(math.MaxInt, errBoom)
		_, err := retry.Do(ctx, p, r.op)
		if !errors.Is(err, retry.ErrExhausted) {
			t.Errorf("err = %v, want exhausted", err)
		}
		for i := 1; i < r.calls(); i++ {
			if d := r.starts[i] - r.starts[i-1]; d < 0 || d > time.Hour {
				t.Fatalf("wait %d = %v, want within the hour", i, d)
			}
		}
	})
}

func TestPanicPassesThrough(t *testing.T) {
	defer func() {
		if r := recover(); r != "kaboom" {
			t.Errorf("recovered %v, want the operation's panic", r)
		}
	}()
	retry.Policy{}.Do(context.Background(), func(context.Context) error { panic("kaboom") })
	t.Error("Do returned normally")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		policy    retry.Policy
		wantField string
	}{
		{"zero", retry.Policy{}, ""},
		{"full", retry.Policy{MaxAttempts: 5, MaxElapsed: time.Minute, MaxRetryAfter: time.Second}, ""},
		{"negative attempts", retry.Policy{MaxAttempts: -1}, "MaxAttempts"},
		{"negative elapsed", retry.Policy{MaxElapsed: -time.Second}, "MaxElapsed"},
		{"negative retry-after cap", retry.Policy{MaxRetryAfter: -1}, "MaxRetryAfter"},
		{"negative open wait", retry.Policy{MaxOpenWait: -1}, "MaxOpenWait"},
		{"bad backoff", retry.Policy{Backoff: backoff.Policy{Multiplier: 0.5}}, "Backoff: backoff: Multiplier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "retry: "+tt.wantField+" ") {
				t.Errorf("Validate() = %v, want an error starting with %q", err, "retry: "+tt.wantField)
			}
		})
	}
}

func TestFirstAttemptSuccessAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	budget := retry.NewBudget(retry.BudgetConfig{})
	policies := map[string]retry.Policy{
		"zero":        {},
		"max elapsed": {MaxElapsed: time.Second},
		"budget":      {Budget: budget},
	}
	for name, p := range policies {
		t.Run(name, func(t *testing.T) {
			op := func(context.Context) (int, error) { return 1, nil }
			if allocs := testing.AllocsPerRun(1000, func() { retry.Do(ctx, p, op) }); allocs != 0 {
				t.Errorf("Do allocates %v times per call, want 0", allocs)
			}
			errOp := func(context.Context) error { return nil }
			if allocs := testing.AllocsPerRun(1000, func() { p.Do(ctx, errOp) }); allocs != 0 {
				t.Errorf("Policy.Do allocates %v times per call, want 0", allocs)
			}
		})
	}
}

func FuzzDo(f *testing.F) {
	f.Add(0, int64(0), int64(0), int64(0), int64(0), 0.0, int64(0), 3)
	f.Add(5, int64(time.Second), int64(time.Minute), int64(10*ms), int64(time.Second), 2.0, int64(time.Hour), 3)
	f.Add(-3, int64(-1), int64(-1), int64(-1), int64(-1), -1.0, int64(-1), 100)
	f.Add(math.MaxInt, int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), 1e300, int64(math.MaxInt64), 50)
	f.Fuzz(func(t *testing.T, maxAttempts int, maxElapsed, maxHint, initial, maxDelay int64, mult float64, hint int64, fails int) {
		p := retry.Policy{
			MaxAttempts:   maxAttempts,
			MaxElapsed:    time.Duration(maxElapsed),
			MaxRetryAfter: time.Duration(maxHint),
			Backoff:       backoff.Policy{Initial: time.Duration(initial), Max: time.Duration(maxDelay), Multiplier: mult},
		}
		wantMax := maxAttempts
		if wantMax <= 0 {
			wantMax = 3
		}
		fails = min(max(fails, 0), 200)
		synctest.Test(t, func(t *testing.T) {
			// A day-long deadline bounds runs with huge attempt counts.
			ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
			defer cancel()
			r := newRecorder(fails, hintError{time.Duration(hint)})
			v, err := retry.Do(ctx, p, r.op)
			if r.calls() > wantMax {
				t.Fatalf("%d calls, more than MaxAttempts %d", r.calls(), wantMax)
			}
			if err == nil && v != fails+1 {
				t.Fatalf("success with %d, want %d", v, fails+1)
			}
			if err != nil && (ctx.Err() != nil || !errors.Is(err, retry.ErrExhausted) || !errors.As(err, new(hintError))) {
				t.Fatalf("err = %v (ctx %v), want an *ExhaustedError wrapping the attempt's error before the deadline", err, ctx.Err())
			}
			if p.MaxElapsed > 0 && r.starts[len(r.starts)-1] >= p.MaxElapsed && r.calls() > 1 {
				t.Fatalf("attempt started at %v, at or past MaxElapsed %v", r.starts[len(r.starts)-1], p.MaxElapsed)
			}
		})
	})
}

func TestStartsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		calls := 0
		err := retry.Policy{MaxAttempts: 4}.Do(context.Background(), func(context.Context) error {
			calls++
			if n := runtime.NumGoroutine(); n != before {
				t.Errorf("attempt %d: %d goroutines, want %d as before Do", calls, n, before)
			}
			return errBoom
		})
		if calls != 4 || !errors.Is(err, retry.ErrExhausted) {
			t.Errorf("%d calls, err %v; want 4, exhausted", calls, err)
		}
	})
}

// openError is a rejection by an open circuit breaker: it has the class
// and the hint of breaker.ErrOpen's rejections.
type openError struct{ after time.Duration }

func (e openError) Error() string             { return "breaker: open" }
func (e openError) RetryAfter() time.Duration { return e.after }
func (e openError) ErrorClass() string        { return "circuit_open" }
func (e openError) Is(target error) bool      { _, ok := target.(openError); return ok }

// classedHint is a hint of another class: honoured as usual.
type classedHint struct{ after time.Duration }

func (e classedHint) Error() string             { return "busy" }
func (e classedHint) RetryAfter() time.Duration { return e.after }
func (e classedHint) ErrorClass() string        { return "rate_limit" }

// TestOpenCircuit: a rejection by an open breaker is waited out only when
// the breaker lets calls through within the backoff delay, or within an
// explicit MaxOpenWait; otherwise Do fails fast with it.
func TestOpenCircuit(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		maxOpenWait time.Duration
		maxHint     time.Duration
		deadline    time.Duration // 0: none
		wantWait    time.Duration // before the second attempt; -1: no second attempt
	}{
		{"fits the backoff", openError{80 * ms}, 0, 0, 0, 100 * ms},
		{"exactly the backoff", openError{100 * ms}, 0, 0, 0, 100 * ms},
		{"fails fast by default", openError{time.Minute}, 0, 0, 0, -1},
		{"1ns beyond the backoff", openError{100*ms + 1}, 0, 0, 0, -1},
		{"wrapped", fmt.Errorf("call: %w", openError{time.Minute}), 0, 0, 0, -1},
		{"within MaxOpenWait", openError{time.Minute}, 2 * time.Minute, 0, 0, time.Minute},
		{"exactly MaxOpenWait", openError{time.Minute}, time.Minute, 0, 0, time.Minute},
		{"beyond MaxOpenWait", openError{time.Minute + 1}, time.Minute, 0, 0, -1},
		{"beyond MaxRetryAfter: not clamped", openError{time.Minute}, time.Hour, 30 * time.Second, 0, -1},
		{"negative MaxOpenWait is zero", openError{time.Minute}, -time.Hour, 0, 0, -1},
		{"wait ending before the deadline", openError{time.Minute}, time.Hour, 0, time.Minute + 1, time.Minute},
		{"wait ending at the deadline", openError{time.Minute}, time.Hour, 0, time.Minute, -1},
		{"another class is a plain hint", classedHint{time.Minute}, 0, 0, 0, time.Minute},
		{"no hint: the backoff", fmt.Errorf("breaker: too many calls"), 0, 0, 0, 100 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				p := retry.Policy{
					MaxAttempts:   2,
					MaxOpenWait:   tt.maxOpenWait,
					MaxRetryAfter: tt.maxHint,
					Backoff:       backoff.Policy{Jitter: backoff.NoJitter},
				}
				r := newRecorder(1, tt.err)
				_, err := retry.Do(ctx, p, r.op)
				if tt.wantWait >= 0 {
					if err != nil || r.calls() != 2 || r.starts[1] != tt.wantWait {
						t.Fatalf("Do = %v after %d calls (%v); want success after waiting %v", err, r.calls(), r.starts, tt.wantWait)
					}
					return
				}
				if r.calls() != 1 || time.Since(r.start) != 0 {
					t.Errorf("%d calls in %v, want 1 call and no wait", r.calls(), time.Since(r.start))
				}
				var ex *retry.ExhaustedError
				var got, want interface{ RetryAfter() time.Duration }
				errors.As(tt.err, &want)
				if !errors.As(err, &ex) || ex.Attempts != 1 || !errors.Is(err, openError{}) ||
					!errors.As(err, &got) || got.RetryAfter() != want.RetryAfter() {
					t.Fatalf("err = %v, want an *ExhaustedError after 1 attempt wrapping the rejection and its hint", err)
				}
				if tt.deadline > 0 {
					if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "(context deadline too near)") {
						t.Errorf("err = %v, want the deadline as the reason", err)
					}
				} else if want := "retry: giving up after 1 attempt (rejected: circuit open for another "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("err = %q, want prefix %q", err, want)
				}
			})
		})
	}
}

// TestExhaustedErrorScope: a named deadline is named in the message, and
// the error still matches what it matched.
func TestExhaustedErrorScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := retry.Do(ctx, retry.Policy{}, newRecorder(1, hintError{time.Minute}).op)
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) {
			t.Fatalf("err = %v, want an *ExhaustedError", err)
		}
		ex.Scope = "total"
		want := `retry: giving up after 1 attempt ("total" deadline too near): busy, retry after 1m0s`
		if err.Error() != want || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, retry.ErrExhausted) {
			t.Errorf("err = %q, want %q, matching DeadlineExceeded and ErrExhausted", err, want)
		}
	})
}
