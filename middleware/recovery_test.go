package middleware

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/timeout"
)

var errBoom = errors.New("boom")

// fastRetry retries without jitter after 10ms, 20ms, ...
func fastRetry(attempts int) *retry.Policy {
	return &retry.Policy{
		MaxAttempts: attempts,
		Backoff:     backoff.Policy{Initial: 10 * time.Millisecond, Max: time.Second, Jitter: backoff.NoJitter},
	}
}

// flaky fails its first n calls with err, then returns the call number.
func flaky(n int, err error) (func(context.Context) (int, error), *atomic.Int32) {
	var calls atomic.Int32
	return func(context.Context) (int, error) {
		c := int(calls.Add(1))
		if c <= n {
			return 0, err
		}
		return c, nil
	}, &calls
}

func TestDoZeroRecovery(t *testing.T) {
	for name, r := range map[string]*Recovery{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			fn, calls := flaky(1, errBoom)
			if _, err := Do(context.Background(), r, fn); !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want errBoom", err)
			}
			if calls.Load() != 1 {
				t.Fatalf("calls = %d, want 1", calls.Load())
			}
			v, err := Do(context.Background(), r, fn)
			if v != 2 || err != nil {
				t.Fatalf("Do = %v, %v", v, err)
			}
		})
	}
}

func TestDoRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts, retries []Event
		tr := errtrack.New(errtrack.Config{})
		r := &Recovery{
			Retry:   fastRetry(3),
			Tracker: tr,
			Hooks: Hooks{
				OnAttempt: func(e Event) { attempts = append(attempts, e) },
				OnRetry:   func(e Event) { retries = append(retries, e) },
			},
		}
		fn, calls := flaky(2, errBoom)
		start := time.Now()
		v, err := Do(context.Background(), r, fn)
		if v != 3 || err != nil {
			t.Fatalf("Do = %v, %v; want 3, nil", v, err)
		}
		if got := time.Since(start); got != 30*time.Millisecond {
			t.Errorf("took %v, want 30ms of backoff", got)
		}
		if calls.Load() != 3 || len(attempts) != 3 || len(retries) != 2 {
			t.Fatalf("calls %d, attempt events %d, retry events %d; want 3, 3, 2", calls.Load(), len(attempts), len(retries))
		}
		if attempts[0].Attempt != 1 || !errors.Is(attempts[0].Err, errBoom) || attempts[2].Err != nil {
			t.Errorf("attempt events = %+v", attempts)
		}
		if retries[1].Attempt != 3 || !errors.Is(retries[1].Err, errBoom) {
			t.Errorf("retry events = %+v", retries)
		}
		if tr.Total() != 2 {
			t.Errorf("tracked %d errors, want 2 (one per failed attempt)", tr.Total())
		}

		// Exhausted: the error is retry's and wraps the cause.
		fn, calls = flaky(10, errBoom)
		_, err = Do(context.Background(), r, fn)
		var ex *retry.ExhaustedError
		if !errors.As(err, &ex) || !errors.Is(err, errBoom) || calls.Load() != 3 {
			t.Fatalf("err = %v after %d calls; want ExhaustedError wrapping errBoom after 3", err, calls.Load())
		}
	})
}

func TestDoAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &Recovery{Retry: fastRetry(3), Timeout: time.Second}
		var calls int
		v, err := Do(context.Background(), r, func(ctx context.Context) (string, error) {
			calls++
			if calls < 3 {
				<-ctx.Done() // hangs until the attempt's deadline
				return "", ctx.Err()
			}
			return "ok", nil
		})
		if v != "ok" || err != nil || calls != 3 {
			t.Fatalf("Do = %q, %v after %d calls", v, err, calls)
		}
	})
}

func TestDoTotalTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := errtrack.New(errtrack.Config{})
		r := &Recovery{Retry: fastRetry(100), Timeout: time.Second, Total: 2500 * time.Millisecond, Tracker: tr}
		start := time.Now()
		_, err := Do(context.Background(), r, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		// Attempts end at 1s and 2.01s on their own limit; the third is cut
		// short by the total budget at 2.5s.
		var te *timeout.Error
		if !errors.As(err, &te) || te.Name != "total" || te.Limit != 2500*time.Millisecond {
			t.Fatalf("err = %v, want the total budget's *timeout.Error", err)
		}
		if took := time.Since(start); took != 2500*time.Millisecond {
			t.Errorf("took %v, want 2.5s", took)
		}
		recent := tr.Recent()
		if len(recent) != 3 || !errors.As(recent[0].Err, &te) || te.Name != "" || te.Limit != time.Second {
			t.Errorf("tracked %v, want 3 attempts, the first cut by its own 1s limit", recent)
		}
	})
}

func TestDoBreakerFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{FailureThreshold: 2, OpenTimeout: time.Minute})
		tr := errtrack.New(errtrack.Config{})
		var rejects int
		r := &Recovery{Breaker: b, Tracker: tr, Hooks: Hooks{OnReject: func(Event) { rejects++ }}}
		fn, calls := flaky(100, errBoom)
		for range 2 {
			Do(context.Background(), r, fn)
		}
		start := time.Now()
		_, err := Do(context.Background(), r, fn)
		if !errors.Is(err, breaker.ErrOpen) || calls.Load() != 2 || time.Since(start) != 0 {
			t.Fatalf("err = %v after %d calls; want ErrOpen at once after 2", err, calls.Load())
		}
		if rejects != 1 || tr.Total() != 3 || tr.ByClass()["circuit_open"] != 1 {
			t.Errorf("rejects %d, tracked %v; want 1 rejection, 3 records, 1 circuit_open", rejects, tr.ByClass())
		}
	})
}

func TestDoWaitsForOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: 10 * time.Second})
		var rejects int
		r := &Recovery{Retry: fastRetry(2), Breaker: b, Hooks: Hooks{OnReject: func(Event) { rejects++ }}}
		fn, calls := flaky(1, errBoom)
		start := time.Now()
		v, err := Do(context.Background(), r, fn)
		if v != 2 || err != nil {
			t.Fatalf("Do = %v, %v; want the second attempt to succeed after the breaker half-opens", v, err)
		}
		if took := time.Since(start); took < 10*time.Second || took > 11*time.Second {
			t.Errorf("took %v, want the 10s open timeout", took)
		}
		if calls.Load() != 2 || rejects != 1 || b.State() != breaker.Closed {
			t.Errorf("calls %d, rejects %d, state %v", calls.Load(), rejects, b.State())
		}

		// A wait that does not fit the context's deadline is not taken.
		b2 := breaker.New(breaker.Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second})
		r.Breaker = b2
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fn, calls = flaky(1, errBoom)
		start = time.Now()
		_, err = Do(ctx, r, fn)
		if !errors.Is(err, breaker.ErrOpen) || calls.Load() != 1 || time.Since(start) > 10*time.Millisecond {
			t.Errorf("err = %v after %d calls and %v; want ErrOpen without waiting", err, calls.Load(), time.Since(start))
		}
	})
}

func TestDoBulkheadRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: -1})
		if err := bh.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer bh.Release()
		// A breaker that ignores no error: the refusal must not reach
		// it as one.
		b := breaker.New(breaker.Config{FailureThreshold: 1, IsIgnored: func(error) bool { return false }})
		tr := errtrack.New(errtrack.Config{})
		r := &Recovery{Retry: fastRetry(3), Breaker: b, Bulkhead: bh, Tracker: tr}
		fn, calls := flaky(0, nil)

		_, err := Do(context.Background(), r, fn)
		if !errors.Is(err, bulkhead.ErrFull) || calls.Load() != 0 {
			t.Fatalf("err = %v, calls %d; want ErrFull at once", err, calls.Load())
		}
		if tr.Total() != 1 {
			t.Errorf("tracked %d, want 1: the rejection is not retried by default", tr.Total())
		}
		if b.State() != breaker.Closed || b.Stats().Failures != 0 {
			t.Errorf("breaker %+v: a full bulkhead is not a backend failure", b.Stats())
		}

		p := *r.Retry
		p.Retryable = func(err error) bool { return errors.Is(err, bulkhead.ErrFull) }
		r.Retry = &p
		_, err = Do(context.Background(), r, fn)
		if !errors.Is(err, bulkhead.ErrFull) || tr.Total() != 4 {
			t.Fatalf("err = %v, tracked %d; want 3 more rejections when the policy retries them", err, tr.Total())
		}
	})
}

func TestDoFallback(t *testing.T) {
	var used []Event
	r := &Recovery{Retry: &retry.Policy{MaxAttempts: 1}, Hooks: Hooks{OnFallback: func(e Event) { used = append(used, e) }}}
	fn, _ := flaky(1, errBoom)
	v, err := Do(context.Background(), r, fn, fallback.Value(-1))
	if v != -1 || err != nil || len(used) != 1 || !errors.Is(used[0].Err, errBoom) {
		t.Fatalf("Do = %v, %v, fallback events %+v", v, err, used)
	}
	v, err = Do(context.Background(), r, fn, fallback.Value(-1))
	if v != 2 || err != nil || len(used) != 1 {
		t.Fatalf("Do = %v, %v; fallback used on success", v, err)
	}
	var got error
	v, err = Do(context.Background(), nil, func(context.Context) (int, error) { return 0, errBoom },
		func(_ context.Context, err error) (int, error) { got = err; return 7, nil })
	if v != 7 || err != nil || !errors.Is(got, errBoom) {
		t.Fatalf("nil Recovery with fallback: %v, %v, %v", v, err, got)
	}
}

func TestDoPanic(t *testing.T) {
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	b := breaker.New(breaker.Config{FailureThreshold: 1})
	r := &Recovery{Breaker: b, Bulkhead: bh}
	func() {
		defer func() {
			if p := recover(); p != "oops" {
				t.Errorf("recovered %v, want the panic to pass through", p)
			}
		}()
		Do(context.Background(), r, func(context.Context) (int, error) { panic("oops") })
	}()
	if b.State() != breaker.Open {
		t.Errorf("breaker %v, want the panic counted as a failure", b.State())
	}
	if s := bh.Stats(); s.InFlight != 0 {
		t.Errorf("bulkhead in flight %d, want the slot released", s.InFlight)
	}
}

func TestDoAllocs(t *testing.T) {
	r := &Recovery{
		Retry:    &retry.Policy{},
		Breaker:  breaker.New(breaker.Config{}),
		Bulkhead: bulkhead.New(bulkhead.Config{}),
	}
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	for name, r := range map[string]*Recovery{"nil": nil, "zero": {}, "retry+breaker+bulkhead": r} {
		if n := testing.AllocsPerRun(100, func() { Do(ctx, r, fn) }); n != 0 {
			t.Errorf("%s: %v allocs per successful Do, want 0", name, n)
		}
	}
}

func FuzzDo(f *testing.F) {
	f.Add(int64(time.Second), int64(0), int64(0), 3, 2, uint8(0))
	f.Add(int64(-1), int64(-1), int64(-1), -5, 10, uint8(7))
	f.Add(int64(1), int64(1), int64(1<<62), 1000, 1000, uint8(3))
	f.Add(int64(1<<62), int64(1<<62), int64(time.Hour), 0, 1, uint8(5))
	f.Fuzz(func(t *testing.T, attempt, total, maxRetryAfter int64, attempts, failures int, layers uint8) {
		attempts = min(max(attempts, -10), 20) // keep runs short
		synctest.Test(t, func(t *testing.T) {
			r := &Recovery{
				Timeout:       time.Duration(attempt),
				Total:         time.Duration(total),
				MaxRetryAfter: time.Duration(maxRetryAfter),
			}
			if layers&1 != 0 {
				r.Retry = &retry.Policy{MaxAttempts: attempts}
			}
			if layers&2 != 0 {
				r.Breaker = breaker.New(breaker.Config{FailureThreshold: 2, OpenTimeout: time.Second})
			}
			if layers&4 != 0 {
				r.Bulkhead = bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
			}
			calls := 0
			v, err := Do(context.Background(), r, func(ctx context.Context) (int, error) {
				calls++
				if calls <= failures {
					return 0, errBoom
				}
				return calls, nil
			})
			most := 1
			if r.Retry != nil {
				most = max(attempts, 3)
				if attempts > 0 {
					most = attempts
				}
			}
			if calls > most {
				t.Fatalf("%d calls, at most %d allowed", calls, most)
			}
			if err == nil && (v != calls || calls <= failures) {
				t.Fatalf("Do = %d, nil after %d calls, %d failures", v, calls, failures)
			}
			if err != nil && calls > failures && !errors.Is(err, timeout.ErrTimeout) {
				t.Fatalf("Do failed with %v after a successful call", err)
			}
		})
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Recovery
		want string // prefix of the error, "" for valid
	}{
		{"zero", Recovery{}, ""},
		{"negative durations are off", Recovery{Timeout: -1, Total: -1, MaxRetryAfter: -1}, ""},
		{"bad retry", Recovery{Retry: &retry.Policy{MaxAttempts: -1}}, "middleware: Retry: retry: MaxAttempts"},
		{"bad host breaker", Recovery{HostBreaker: &breaker.Config{FailureThreshold: 1 << 30}}, "middleware: HostBreaker: breaker: FailureThreshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
