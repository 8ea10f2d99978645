package middleware

import (
	"context"
	"errors"
	"net/http"
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

// openBreaker returns a default breaker (5 failures, 60s open) that has
// just opened.
func openBreaker(t *testing.T) *breaker.Breaker {
	b := breaker.New(breaker.Config{})
	for range 5 {
		b.Do(context.Background(), func(context.Context) error { return errBoom })
	}
	if b.State() != breaker.Open {
		t.Fatalf("breaker %v, want open", b.State())
	}
	return b
}

// backendFunc is a base RoundTripper.
type backendFunc func(*http.Request) (*http.Response, error)

func (f backendFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestOpenBreakerFailsFastUnderRetry: with a retry policy and the
// defaults, an open breaker's rejection comes back at once, with its
// RetryAfter, from Do and from Transport; it used to wait the minute out.
func TestOpenBreakerFailsFastUnderRetry(t *testing.T) {
	calls := 0
	viaDo := func(ctx context.Context, r *Recovery) error {
		_, err := Do(ctx, r, func(context.Context) (int, error) { calls++; return 1, nil })
		return err
	}
	viaTransport := func(ctx context.Context, r *Recovery) error {
		base := backendFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://backend.test/x", nil)
		resp, err := r.Transport(base).RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	tests := []struct {
		name  string
		call  func(context.Context, *Recovery) error
		total time.Duration
	}{
		{"Do", viaDo, 0},
		{"Do with Total", viaDo, 5 * time.Second},
		{"Transport", viaTransport, 0},
		{"Transport with Total", viaTransport, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls = 0
				var rejects int
				tr := errtrack.New(errtrack.Config{})
				r := &Recovery{Retry: &retry.Policy{}, Breaker: openBreaker(t), Total: tt.total, Tracker: tr,
					Hooks: Hooks{OnReject: func(Event) { rejects++ }}}
				start := time.Now()
				err := tt.call(context.Background(), r)
				if took := time.Since(start); took != 0 || calls != 0 {
					t.Fatalf("took %v and %d backend calls; want a rejection at once", took, calls)
				}
				var ex *retry.ExhaustedError
				var ra interface{ RetryAfter() time.Duration }
				if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &ex) || ex.Attempts != 1 ||
					!errors.As(err, &ra) || ra.RetryAfter() != time.Minute {
					t.Fatalf("err = %v, want an *ExhaustedError after 1 attempt wrapping ErrOpen with RetryAfter 1m", err)
				}
				if msg := err.Error(); !strings.Contains(msg, "circuit open") || strings.Contains(msg, "deadline") {
					t.Errorf("err = %q, want it to say the circuit is open, not speak of a deadline", msg)
				}
				if rejects != 1 || tr.Total() != 1 {
					t.Errorf("%d rejections, %d tracked; want 1 and 1", rejects, tr.Total())
				}
			})
		})
	}
}

// TestDoWaitsForOpenBreakerWhenAsked: with Retry.MaxOpenWait, an attempt
// rejected by an open breaker waits exactly until it half-opens, and the
// next attempt is let through as the probe (the breaker half-opens on the
// first call once OpenTimeout has elapsed, whatever its timing).
func TestDoWaitsForOpenBreakerWhenAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: 10 * time.Second})
		var rejects int
		p := fastRetry(3)
		p.MaxOpenWait = time.Minute
		r := &Recovery{Retry: p, Breaker: b, Hooks: Hooks{OnReject: func(Event) { rejects++ }}}
		fn, calls := flaky(1, errBoom)
		start := time.Now()
		v, err := Do(context.Background(), r, fn)
		if v != 2 || err != nil {
			t.Fatalf("Do = %v, %v; want the third attempt, after the open period, to succeed", v, err)
		}
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("took %v, want exactly the 10s open period", took)
		}
		if calls.Load() != 2 || rejects != 1 || b.State() != breaker.Closed {
			t.Errorf("calls %d, rejects %d, state %v; want 2, 1, closed", calls.Load(), rejects, b.State())
		}
	})
}

// TestOpenBreakerWaitBounds: retry alone decides whether an open breaker is
// waited for, with retry's edges: a wait must end before the deadline and
// within MaxOpenWait and MaxRetryAfter; a caller that gives up while
// waiting gets an error matching both its context's error and the
// rejection.
func TestOpenBreakerWaitBounds(t *testing.T) {
	tests := []struct {
		name          string
		maxOpenWait   time.Duration
		maxRetryAfter time.Duration
		deadline      time.Duration // the caller's; 0: none
		total         time.Duration
		cancelAfter   time.Duration // 0: never
		wantTook      time.Duration
		wantWaited    bool // a second attempt was admitted
		wantIs        error
		wantMsg       string
	}{
		{"wait fits", 2 * time.Minute, 0, 0, 0, 0, time.Minute, true, nil, ""},
		{"hint above MaxRetryAfter", 2 * time.Minute, 30 * time.Second, 0, 0, 0, 0, false, breaker.ErrOpen, "circuit open for another 1m0s"},
		{"hint above MaxOpenWait", 30 * time.Second, 0, 0, 0, 0, 0, false, breaker.ErrOpen, "circuit open for another 1m0s"},
		{"wait ending 1ns before the deadline", 2 * time.Minute, 0, time.Minute + 1, 0, 0, time.Minute, true, nil, ""},
		{"wait ending at the deadline", 2 * time.Minute, 0, time.Minute, 0, 0, 0, false, context.DeadlineExceeded, "(context deadline too near)"},
		{"wait past Total", 2 * time.Minute, 0, 0, 5 * time.Second, 0, 0, false, context.DeadlineExceeded, `("total" deadline too near)`},
		{"caller's deadline before Total", 2 * time.Minute, 0, 5 * time.Second, 10 * time.Second, 0, 0, false, context.DeadlineExceeded, "(context deadline too near)"},
		{"canceled while waiting", 2 * time.Minute, 0, 0, 0, 3 * time.Second, 3 * time.Second, false, context.Canceled, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.deadline > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				if tt.cancelAfter > 0 {
					time.AfterFunc(tt.cancelAfter, cancel)
				}
				p := &retry.Policy{MaxOpenWait: tt.maxOpenWait, MaxRetryAfter: tt.maxRetryAfter}
				r := &Recovery{Retry: p, Breaker: openBreaker(t), Total: tt.total}
				start := time.Now()
				fn, calls := flaky(0, nil)
				_, err := Do(ctx, r, fn)
				if took := time.Since(start); took != tt.wantTook {
					t.Errorf("took %v, want %v", took, tt.wantTook)
				}
				if got := calls.Load() == 1; got != tt.wantWaited {
					t.Fatalf("backend called %v, want %v (err %v)", got, tt.wantWaited, err)
				}
				if tt.wantIs == nil {
					if err != nil {
						t.Fatalf("err = %v, want success", err)
					}
					return
				}
				if !errors.Is(err, tt.wantIs) || !errors.Is(err, breaker.ErrOpen) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %q, want it to match %v and ErrOpen and to contain %q", err, tt.wantIs, tt.wantMsg)
				}
			})
		})
	}
}

// TestDoTotalNamedWhenTooNear: when retry gives up because the next wait
// would pass Recovery.Total, the error names the "total" budget, not a
// context deadline the caller never set, and still matches what it did.
func TestDoTotalNamedWhenTooNear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		busy := &StatusError{Code: 503, Wait: 10 * time.Second}
		r := &Recovery{Retry: fastRetry(3), Total: 5 * time.Second}
		_, err := Do(context.Background(), r, func(context.Context) (int, error) { return 0, busy })
		var ex *retry.ExhaustedError
		want := `retry: giving up after 1 attempt ("total" deadline too near): middleware: status 503 Service Unavailable`
		if !errors.As(err, &ex) || ex.Scope != "total" || err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, retry.ErrExhausted) || !errors.Is(err, ErrStatus) {
			t.Errorf("err = %v no longer matches DeadlineExceeded, ErrExhausted and ErrStatus", err)
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
