package breaker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var errBoom = errors.New("boom")

func fail(context.Context) (int, error) { return 0, errBoom }
func ok(context.Context) (int, error)   { return 1, nil }

// The two breaker tests of the pforge fault-tolerance chapter.
func TestOpensOnFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 3, OpenTimeout: 60 * time.Second, SuccessThreshold: 2})
		for range 3 {
			Do(t.Context(), b, fail)
		}
		if got := b.State(); got != Open {
			t.Fatalf("state = %v, want open", got)
		}
		called := false
		_, err := Do(t.Context(), b, func(context.Context) (int, error) { called = true; return 42, nil })
		if !errors.Is(err, ErrOpen) || called {
			t.Fatalf("err = %v, called = %v; want ErrOpen without a call", err, called)
		}
	})
}

func TestRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 2, OpenTimeout: 100 * time.Millisecond, SuccessThreshold: 2})
		for range 2 {
			Do(t.Context(), b, fail)
		}
		if got := b.State(); got != Open {
			t.Fatalf("state = %v, want open", got)
		}
		time.Sleep(150 * time.Millisecond)
		if _, err := Do(t.Context(), b, ok); err != nil {
			t.Fatal(err)
		}
		if got := b.State(); got != HalfOpen {
			t.Fatalf("after one probe success: state = %v, want half-open", got)
		}
		if _, err := Do(t.Context(), b, ok); err != nil {
			t.Fatal(err)
		}
		if got := b.State(); got != Closed {
			t.Fatalf("after two probe successes: state = %v, want closed", got)
		}
	})
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half-open", 7: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // "" = valid
	}{
		{"zero", Config{}, ""},
		{"rate", Config{FailureRateThreshold: 0.5, WindowDuration: time.Minute}, ""},
		{"negative threshold disables", Config{FailureThreshold: -1}, ""},
		{"huge threshold", Config{FailureThreshold: 1 << 40}, "FailureThreshold"},
		{"negative success", Config{SuccessThreshold: -1}, "SuccessThreshold"},
		{"negative probes", Config{HalfOpenMaxCalls: -3}, "HalfOpenMaxCalls"},
		{"huge window", Config{WindowSize: 1 << 30}, "WindowSize"},
		{"negative timeout", Config{OpenTimeout: -time.Second}, "OpenTimeout"},
		{"huge timeout", Config{OpenTimeout: 1<<63 - 1}, "OpenTimeout"},
		{"negative stuck-after", Config{StuckAfter: -time.Second}, "StuckAfter"},
		{"huge stuck-after", Config{StuckAfter: 1<<63 - 1}, "StuckAfter"},
		{"negative probe timeout", Config{ProbeTimeout: -1}, "ProbeTimeout"},
		{"jitter above 1", Config{OpenTimeoutJitter: 2}, "OpenTimeoutJitter"},
		{"rate NaN", Config{FailureRateThreshold: nan()}, "FailureRateThreshold"},
		{"slow rate without duration", Config{SlowCallRateThreshold: 0.5}, "SlowCallRateThreshold"},
		{"both windows", Config{WindowSize: 10, WindowDuration: time.Second}, "WindowSize"},
		{"minimum above window", Config{WindowSize: 10, MinimumCalls: 11}, "MinimumCalls"},
		{"minimum above the default window", Config{FailureRateThreshold: 0.5, MinimumCalls: 101}, "MinimumCalls"},
		{"minimum at the default window", Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5, MinimumCalls: 100}, ""},
		{"minimum without a rate rule", Config{MinimumCalls: 500}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				New(tt.cfg)
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "breaker: ") || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.field)
			}
			defer func() {
				if r := recover(); r != err.Error() {
					t.Fatalf("New panicked with %v, want %q", r, err)
				}
			}()
			New(tt.cfg)
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestOpenError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second})
		Do(t.Context(), b, fail)
		time.Sleep(4 * time.Second)
		_, err := b.Allow()
		if !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyCalls) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() != 6*time.Second {
			t.Fatalf("RetryAfter = %v, want 6s", ra)
		}
		var ec interface{ ErrorClass() string }
		if !errors.As(err, &ec) || ec.ErrorClass() != "circuit_open" {
			t.Fatalf("ErrorClass missing or wrong on %v", err)
		}
		if err.Error() != "breaker: open" {
			t.Fatalf("Error() = %q", err)
		}
		time.Sleep(6 * time.Second)
		if got := ra.RetryAfter(); got != 0 {
			t.Fatalf("RetryAfter after the open period = %v, want 0", got)
		}
		if !errors.As(ErrTooManyCalls, &ec) || ec.ErrorClass() != "circuit_open" {
			t.Fatal("ErrTooManyCalls has no circuit_open class")
		}
	})
}

func TestOutcomes(t *testing.T) {
	errIgnore := errors.New("ignore me")
	errFine := errors.New("404")
	tests := []struct {
		name string
		cfg  Config
		err  error
		want Stats // only the totals and ConsecutiveFailures are compared
	}{
		{"nil is success", Config{}, nil, Stats{Successes: 1}},
		{"error is failure", Config{}, errBoom, Stats{Failures: 1, ConsecutiveFailures: 1}},
		{"canceled is ignored", Config{}, context.Canceled, Stats{Ignored: 1}},
		{"wrapped canceled is ignored", Config{}, errors.Join(errBoom, context.Canceled), Stats{Ignored: 1}},
		{"deadline is failure", Config{}, context.DeadlineExceeded, Stats{Failures: 1, ConsecutiveFailures: 1}},
		{"IsFailure false is success", Config{IsFailure: func(err error) bool { return err != errFine }}, errFine, Stats{Successes: 1}},
		{"IsIgnored", Config{IsIgnored: func(err error) bool { return err == errIgnore }}, errIgnore, Stats{Ignored: 1}},
		{"custom IsIgnored makes canceled a failure", Config{IsIgnored: func(error) bool { return false }}, context.Canceled, Stats{Failures: 1, ConsecutiveFailures: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.cfg)
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			p.Done(tt.err)
			got := b.Stats()
			if got.Successes != tt.want.Successes || got.Failures != tt.want.Failures ||
				got.Ignored != tt.want.Ignored || got.ConsecutiveFailures != tt.want.ConsecutiveFailures {
				t.Fatalf("Stats = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSuccessResetsConsecutiveFailures(t *testing.T) {
	b := New(Config{FailureThreshold: 3})
	for range 10 {
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail)
		Do(t.Context(), b, ok)
	}
	if s := b.Stats(); s.State != Closed || s.Failures != 20 || s.ConsecutiveFailures != 0 || s.ConsecutiveSuccesses != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestPanicCountsAsFailureAndReleasesProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second})
		mustPanic := func() {
			t.Helper()
			defer func() {
				if r := recover(); r != "kaboom" {
					t.Fatalf("recovered %v, want the original panic", r)
				}
			}()
			Do(t.Context(), b, func(context.Context) (int, error) { panic("kaboom") })
		}
		mustPanic()
		if s := b.Stats(); s.State != Open || s.Failures != 1 {
			t.Fatalf("after a panic in closed: %+v, want open with 1 failure", s)
		}
		time.Sleep(time.Second)
		mustPanic() // the probe panics: back to open, slot released
		if s := b.Stats(); s.State != Open || s.Failures != 2 {
			t.Fatalf("after a panicking probe: %+v, want open with 2 failures", s)
		}
		time.Sleep(time.Second)
		if err := b.Do(t.Context(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("probe after the panicking one: %v", err)
		}
		// The non-generic Do also counts a panic.
		func() {
			defer func() { recover() }()
			b.Do(t.Context(), func(context.Context) error { panic("again") })
		}()
		if s := b.Stats(); s.State != Open || s.Failures != 3 {
			t.Fatalf("after a panicking probe through b.Do: %+v", s)
		}
	})
}

func TestIgnoredProbeReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second})
		Do(t.Context(), b, fail)
		time.Sleep(time.Second)
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyCalls) {
			t.Fatalf("second probe: err = %v, want ErrTooManyCalls", err)
		}
		p.Done(context.Canceled)
		if _, err := b.Allow(); err != nil {
			t.Fatalf("after an ignored probe: %v", err)
		}
		if s := b.Stats(); s.State != HalfOpen || s.Rejected != 1 || s.Ignored != 1 {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

// TestIgnore checks that an ignored permit is neither a success nor a
// failure even for a breaker whose IsIgnored ignores nothing, in each state
// a permit can be given in.
func TestIgnore(t *testing.T) {
	never := func(error) bool { return false }
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second, IsIgnored: never})
		for range 3 {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			p.Ignore()
		}
		if s := b.Stats(); s.State != Closed || s.Ignored != 3 || s.Failures != 0 || s.Successes != 0 {
			t.Fatalf("closed: Stats = %+v, want 3 ignored and still closed", s)
		}
		Do(t.Context(), b, fail) // opens
		time.Sleep(time.Second)
		p, err := b.Allow() // the only probe
		if err != nil {
			t.Fatal(err)
		}
		p.Ignore()
		if s := b.Stats(); s.State != HalfOpen || s.Ignored != 4 {
			t.Fatalf("half-open: Stats = %+v, want still half-open", s)
		}
		if _, err := b.Allow(); err != nil {
			t.Fatalf("the ignored probe kept its slot: %v", err)
		}
	})
	var zero Permit
	zero.Ignore() // must not panic
}

// TestPanickingHookReleasesProbe checks that a hook panicking as the
// breaker turns half-open does not keep the probe slot the call had taken.
func TestPanickingHookReleasesProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second,
			OnStateChange: func(from, to State) {
				if to == HalfOpen {
					panic("hook")
				}
			}})
		Do(t.Context(), b, fail) // opens
		time.Sleep(time.Second)
		func() {
			defer func() {
				if r := recover(); r != "hook" {
					t.Fatalf("recovered %v, want the hook's panic", r)
				}
			}()
			b.Allow()
		}()
		if _, err := Do(t.Context(), b, ok); err != nil || b.State() != Closed {
			t.Fatalf("after the hook panicked: err %v, state %v; want the probe admitted and the breaker closed", err, b.State())
		}
	})
}

// TestDoEndedContext checks that Do makes no call once the caller's
// context has ended, and that the breaker hears nothing of it: a half-open
// probe slot is not spent on it, and an expired deadline is no failure.
func TestDoEndedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second})
		expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Millisecond))
		defer cancel()
		canceled, cancel2 := context.WithCancel(t.Context())
		cancel2()
		called := 0
		fn := func(ctx context.Context) (int, error) { called++; return 0, ctx.Err() }
		for _, ctx := range []context.Context{expired, canceled} {
			if _, err := Do(ctx, b, fn); !errors.Is(err, ctx.Err()) {
				t.Fatalf("Do: err = %v, want %v", err, ctx.Err())
			}
			if err := b.Do(ctx, func(ctx context.Context) error { _, err := fn(ctx); return err }); !errors.Is(err, ctx.Err()) {
				t.Fatalf("(*Breaker).Do: err = %v, want %v", err, ctx.Err())
			}
		}
		if s := b.Stats(); called != 0 || s.State != Closed || s.Failures+s.Ignored+s.Successes != 0 {
			t.Fatalf("called %d, Stats %+v; want no call and nothing counted", called, s)
		}
		Do(t.Context(), b, fail) // opens
		time.Sleep(time.Second)
		Do(expired, b, fn)
		if _, err := Do(t.Context(), b, ok); err != nil || b.State() != Closed {
			t.Fatalf("probe after an ended call: err %v, state %v; want it admitted and closed", err, b.State())
		}
	})
}

func TestStaleOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 2, OpenTimeout: time.Second, SuccessThreshold: 1})
		slow, _ := b.Allow() // admitted while closed, reports late
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail) // opens
		time.Sleep(time.Second)
		Do(t.Context(), b, ok) // probe closes it
		if b.State() != Closed {
			t.Fatalf("state = %v, want closed", b.State())
		}
		slow.Done(errBoom) // from the first closed period: stale
		s := b.Stats()
		if s.ConsecutiveFailures != 0 || s.Failures != 3 {
			t.Fatalf("stale failure: %+v, want it in totals only", s)
		}
		// A stale probe outcome does not close or reopen either.
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail)
		time.Sleep(time.Second)
		probe, _ := b.Allow()
		b.Reset()
		probe.Done(errBoom)
		if got := b.State(); got != Closed {
			t.Fatalf("stale probe failure moved the breaker to %v", got)
		}
	})
}

func TestProbeReclaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second, ProbeTimeout: 5 * time.Second, SuccessThreshold: 1})
		Do(t.Context(), b, fail)
		time.Sleep(time.Second)
		lost, err := b.Allow() // this probe never reports in time
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyCalls) {
			t.Fatalf("before ProbeTimeout: err = %v, want ErrTooManyCalls", err)
		}
		time.Sleep(time.Second)
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("after ProbeTimeout: %v, want the slot reclaimed", err)
		}
		lost.Done(errBoom) // too late: stale
		if got := b.State(); got != HalfOpen {
			t.Fatalf("late outcome of a reclaimed probe changed the state to %v", got)
		}
		p.Done(nil)
		if got := b.State(); got != Closed {
			t.Fatalf("state = %v, want closed", got)
		}
	})
}

func TestHalfOpenMaxCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenMaxCalls: 3, SuccessThreshold: 3})
		Do(t.Context(), b, fail)
		time.Sleep(time.Second)
		var ps []Permit
		for range 3 {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyCalls) {
			t.Fatalf("fourth probe: %v", err)
		}
		for i, p := range ps {
			if got := b.State(); got != HalfOpen {
				t.Fatalf("after %d successes: %v", i, got)
			}
			p.Done(nil)
		}
		if got := b.State(); got != Closed {
			t.Fatalf("after 3 successes: %v", got)
		}
	})
}

func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := map[time.Duration]bool{}
		for range 50 {
			b := New(Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second, OpenTimeoutJitter: 0.5})
			Do(t.Context(), b, fail)
			_, err := b.Allow()
			var ra interface{ RetryAfter() time.Duration }
			errors.As(err, &ra)
			d := ra.RetryAfter()
			if d < 10*time.Second || d > 15*time.Second {
				t.Fatalf("open period %v outside [10s, 15s]", d)
			}
			seen[d] = true
			time.Sleep(d - time.Nanosecond)
			if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
				t.Fatalf("allowed before the jittered period ended: %v", err)
			}
			time.Sleep(time.Nanosecond)
			if _, err := b.Allow(); err != nil {
				t.Fatalf("rejected after the jittered period: %v", err)
			}
		}
		if len(seen) < 10 {
			t.Fatalf("only %d distinct open periods in 50", len(seen))
		}
	})
}

func TestForceOpenAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []string
		b := New(Config{OnStateChange: func(from, to State) { changes = append(changes, from.String()+">"+to.String()) }})
		b.ForceOpen()
		time.Sleep(time.Hour)
		_, err := b.Allow()
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() != 0 || !b.Stats().Forced {
			t.Fatalf("forced open: err %v, stats %+v", err, b.Stats())
		}
		b.Reset()
		if _, err := b.Allow(); err != nil || b.Stats().Forced {
			t.Fatalf("after Reset: %v %+v", err, b.Stats())
		}
		b.Reset() // closed to closed: no hook
		if got := strings.Join(changes, " "); got != "closed>open open>closed" {
			t.Fatalf("hooks: %s", got)
		}
	})
}

func TestResetClearsCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{})
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail)
		time.Sleep(time.Minute)
		b.Reset()
		s := b.Stats()
		if s.ConsecutiveFailures != 0 || s.Failures != 2 || !s.LastTransition.Equal(time.Now()) {
			t.Fatalf("after Reset: %+v", s)
		}
	})
}

func TestHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var b *Breaker
		b = New(Config{
			FailureThreshold: 1, OpenTimeout: time.Second, SuccessThreshold: 1,
			OnStateChange: func(from, to State) {
				_ = b.Stats() // hooks run outside the lock: this must not deadlock
				mu.Lock()
				log = append(log, from.String()+">"+to.String())
				mu.Unlock()
			},
			OnReject: func(err error) {
				mu.Lock()
				log = append(log, "reject:"+err.Error())
				mu.Unlock()
			},
		})
		Do(t.Context(), b, fail)
		Do(t.Context(), b, ok)
		time.Sleep(time.Second)
		p, _ := b.Allow()
		b.Allow()
		p.Done(nil)
		want := "closed>open reject:breaker: open open>half-open reject:breaker: too many calls in half-open half-open>closed"
		if got := strings.Join(log, " "); got != want {
			t.Fatalf("hooks:\n got %s\nwant %s", got, want)
		}
	})
}

func TestLastTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := New(Config{FailureThreshold: 1})
		if got := b.Stats().LastTransition; !got.Equal(start) {
			t.Fatalf("LastTransition = %v, want New's time %v", got, start)
		}
		time.Sleep(time.Minute)
		Do(t.Context(), b, fail)
		if got := b.Stats().LastTransition; !got.Equal(start.Add(time.Minute)) {
			t.Fatalf("LastTransition = %v, want the trip", got)
		}
	})
}

func TestFailureRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: -1, WindowSize: 10, MinimumCalls: 4, FailureRateThreshold: 0.5})
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail) // 3 calls: below MinimumCalls
		if b.State() != Closed {
			t.Fatal("tripped below MinimumCalls")
		}
		for range 10 {
			Do(t.Context(), b, ok) // window now all successes
		}
		for i := range 4 {
			Do(t.Context(), b, fail)
			if got := b.State(); (i == 4) != (got == Open) {
				t.Fatalf("after %d failures in a window of 10: %v", i+1, got)
			}
		}
		Do(t.Context(), b, fail) // 5/10
		if got := b.State(); got != Open {
			t.Fatalf("at 50%% failures: %v", got)
		}
	})
}

func TestTimeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: -1, WindowDuration: 10 * time.Second, MinimumCalls: 3, FailureRateThreshold: 0.6})
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail)
		time.Sleep(10 * time.Second) // both failures age out
		Do(t.Context(), b, fail)
		Do(t.Context(), b, ok)
		if got := b.State(); got != Closed {
			t.Fatalf("old failures still counted: %v", got)
		}
		time.Sleep(5 * time.Second)
		Do(t.Context(), b, fail) // 2 of 3 in the last 10s
		if got := b.State(); got != Open {
			t.Fatalf("2 failures of 3 within the window: %v", got)
		}
	})
}

func TestSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5, WindowSize: 4, MinimumCalls: 4})
		call := func(d time.Duration) {
			b.Do(t.Context(), func(context.Context) error { time.Sleep(d); return nil })
		}
		call(time.Second)
		call(0)
		call(0)
		if s := b.Stats(); s.SlowCalls != 1 || s.Successes != 3 || s.State != Closed {
			t.Fatalf("Stats = %+v", s)
		}
		call(2 * time.Second) // 2 slow of 4
		if s := b.Stats(); s.SlowCalls != 2 || s.State != Open {
			t.Fatalf("at a 50%% slow rate: %+v", s)
		}
	})
}

// When both rules are configured, the consecutive rule is applied first and
// either one opens the breaker.
func TestCombinedRules(t *testing.T) {
	tests := []struct {
		name     string
		outcomes string // s = success, f = failure
		open     bool
	}{
		{"consecutive trips before the rate", "sssssssfff", true}, // 3/10 rate, 3 in a row
		{"rate trips without a streak", "fsfsfsfsfs", true},       // never 2 in a row, 5/10 at the end
		{"neither", "ssssssffss", false},                          // 2 in a row, 2/10
		{"rate waits for MinimumCalls", "fsf", false},             // 2/3 but only 3 calls
		{"streak resets by success", "ffsffsffs", true},           // 6/9 rate trips at the 5th
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Config{FailureThreshold: 3, WindowSize: 10, MinimumCalls: 5, FailureRateThreshold: 0.5})
			for _, c := range tt.outcomes {
				if c == 'f' {
					Do(t.Context(), b, fail)
				} else {
					Do(t.Context(), b, ok)
				}
			}
			if got := b.State() == Open; got != tt.open {
				t.Fatalf("open = %v, want %v (%+v)", got, tt.open, b.Stats())
			}
		})
	}
}

func TestGroupBoundAndHook(t *testing.T) {
	var changes []string
	g := NewGroup(GroupConfig{
		Config:        Config{FailureThreshold: 1},
		MaxKeys:       2,
		OnStateChange: func(key string, from, to State) { changes = append(changes, key+":"+from.String()+"->"+to.String()) },
	})
	a, b := g.Get("a"), g.Get("b")
	if a == nil || b == nil {
		t.Fatal("Get returned nil below MaxKeys")
	}
	if c := g.Get("c"); c != nil {
		t.Fatal("Get created a breaker beyond MaxKeys")
	}
	if g.Get("a") != a || g.Len() != 2 {
		t.Fatalf("existing keys must still be served at the bound; Len = %d", g.Len())
	}
	Do(t.Context(), b, fail)
	if len(changes) != 1 || changes[0] != "b:closed->open" {
		t.Fatalf("state changes = %q, want [b:closed->open]", changes)
	}
	g.Delete("a")
	g.Delete("a") // a second Delete frees nothing more
	if g.Len() != 1 || g.Get("c") == nil || g.Get("d") != nil {
		t.Fatalf("Delete must free exactly one place; Len = %d", g.Len())
	}
	if n := NewGroup(GroupConfig{MaxKeys: -1}); n.Get("x") == nil {
		t.Fatal("a negative MaxKeys must mean no bound")
	}
}

func TestGroup(t *testing.T) {
	g := NewGroup(GroupConfig{Config: Config{FailureThreshold: 1}})
	var wg sync.WaitGroup
	got := make([]*Breaker, 8)
	for i := range got {
		wg.Go(func() { got[i] = g.Get("a") })
	}
	wg.Wait()
	for _, b := range got {
		if b != got[0] {
			t.Fatal("concurrent Get returned different breakers for one key")
		}
	}
	Do(t.Context(), g.Get("a"), fail)
	if g.Get("a").State() != Open || g.Get("b").State() != Closed {
		t.Fatal("keys share state")
	}
	n := 0
	for k, b := range g.All() {
		n++
		if b != g.Get(k) {
			t.Fatalf("All yields a stranger for %q", k)
		}
	}
	if n != 2 {
		t.Fatalf("All yielded %d breakers, want 2", n)
	}
	g.Delete("a")
	if g.Get("a").State() != Closed {
		t.Fatal("Delete kept the breaker")
	}
	if a := testing.AllocsPerRun(100, func() { g.Get("b") }); a != 0 {
		t.Fatalf("Get of an existing key allocates %v", a)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewGroup accepted an invalid config")
		}
	}()
	NewGroup(GroupConfig{Config: Config{OpenTimeout: -1}})
}

func TestZeroPermit(t *testing.T) {
	var p Permit
	p.Done(errBoom) // must not panic
}

func TestAllocs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		prep func(*Breaker)
		err  error
	}{
		{"success", Config{}, nil, nil},
		{"failure", Config{FailureThreshold: -1}, nil, errBoom},
		{"ignored", Config{}, nil, context.Canceled},
		{"rejected", Config{}, (*Breaker).ForceOpen, nil},
		{"count window", Config{FailureRateThreshold: 0.9}, nil, errBoom},
		{"time window", Config{FailureRateThreshold: 0.9, WindowDuration: time.Second}, nil, errBoom},
		{"slow calls", Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.9}, nil, nil},
		{"trip and reset", Config{FailureThreshold: 1}, nil, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.cfg)
			if tt.prep != nil {
				tt.prep(b)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if p, err := b.Allow(); err == nil {
					p.Done(tt.err)
				}
				if p, err := b.Allow(); err == nil {
					p.Ignore()
				}
				if tt.name == "trip and reset" {
					b.Reset()
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocs per call, want 0", allocs)
			}
		})
	}
	t.Run("half-open rejection", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second})
			Do(t.Context(), b, fail)
			time.Sleep(time.Second)
			b.Allow()
			if a := testing.AllocsPerRun(100, func() { b.Allow() }); a != 0 {
				t.Fatalf("%v allocs per rejection, want 0", a)
			}
		})
	})
	t.Run("Do", func(t *testing.T) {
		b := New(Config{})
		ctx := context.Background()
		if a := testing.AllocsPerRun(1000, func() { Do(ctx, b, ok) }); a != 0 {
			t.Fatalf("%v allocs per Do, want 0", a)
		}
	})
}

// TestConcurrentInvariants runs random calls from many goroutines at once and
// checks what must hold whatever the interleaving: every call is counted
// exactly once, and no generation of half-open admits more than
// HalfOpenMaxCalls probes.
func TestConcurrentInvariants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := concurrentCalls(t, 5*time.Millisecond, true)
		if n == 0 {
			t.Fatal("never reached half-open: the test exercises nothing")
		}
	})
}

// TestConcurrentRealTime is the same workload without synctest and without
// sleeps: open periods end on the real clock while callers race to be the
// one that half-opens the breaker (run it with -race). Only the invariants
// are checked.
func TestConcurrentRealTime(t *testing.T) {
	concurrentCalls(t, 50*time.Microsecond, false)
}

// concurrentCalls runs random calls from many goroutines, checks the
// invariants, and returns how many half-open probes were admitted.
func concurrentCalls(t *testing.T, openTimeout time.Duration, sleep bool) int {
	const maxProbes = 2
	b := New(Config{FailureThreshold: 3, OpenTimeout: openTimeout, HalfOpenMaxCalls: maxProbes,
		ProbeTimeout: time.Hour, FailureRateThreshold: 0.5, WindowSize: 20})
	var calls, rejected atomic.Uint64
	var mu sync.Mutex
	inflight := map[uint64]int{} // half-open generation -> probes between Allow and Done
	halfOpen := 0
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				calls.Add(1)
				p, err := b.Allow()
				if err != nil {
					rejected.Add(1)
					if sleep && i%5 == 0 {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				probe := p.w&stateMask == uint64(HalfOpen)
				if probe {
					mu.Lock()
					halfOpen++
					inflight[gen(p.w)]++
					if n := inflight[gen(p.w)]; n > maxProbes {
						t.Errorf("%d probes at once in one half-open generation", n)
					}
					mu.Unlock()
				}
				if sleep && (g+i)%7 == 0 {
					time.Sleep(time.Millisecond)
				}
				if probe {
					mu.Lock()
					inflight[gen(p.w)]--
					mu.Unlock()
				}
				switch (g * i) % 5 {
				case 0, 1:
					p.Done(errBoom)
				case 2:
					p.Done(context.Canceled)
				default:
					p.Done(nil)
				}
			}
		})
	}
	wg.Wait()
	s := b.Stats()
	if got := s.Successes + s.Failures + s.Ignored + s.Rejected; got != calls.Load() {
		t.Fatalf("counted %d calls, made %d (%+v)", got, calls.Load(), s)
	}
	if s.Rejected != rejected.Load() {
		t.Fatalf("Rejected = %d, saw %d", s.Rejected, rejected.Load())
	}
	return halfOpen
}

func TestTimeWindowLateClock(t *testing.T) {
	b := New(Config{WindowDuration: 10 * time.Second, FailureRateThreshold: 1, MinimumCalls: 3})
	w, pw := b.win, b.word.Load()
	sec := int64(time.Second)
	w.record(b, pw, 5*sec, true, false)
	w.record(b, pw, 5*sec, true, false)
	// A caller that read the clock earlier takes the lock later: its outcome
	// must not wipe the newer bucket it maps to.
	if !w.record(b, pw, 4*sec, true, false) {
		t.Fatal("a late-clock outcome reset the window: 3 failures of 3 did not trip")
	}
}

func TestRetryAfterWhenNotOpen(t *testing.T) {
	b := New(Config{FailureThreshold: 1})
	Do(t.Context(), b, fail)
	_, err := b.Allow()
	var ra interface{ RetryAfter() time.Duration }
	errors.As(err, &ra)
	b.Reset()
	if got := ra.RetryAfter(); got != 0 {
		t.Fatalf("RetryAfter of a closed breaker = %v, want 0", got)
	}
}

// FuzzConfig feeds arbitrary configs: Validate and New must agree, and a
// valid config must survive a few calls of every kind without panicking.
func FuzzConfig(f *testing.F) {
	f.Add(5, 2, int64(time.Minute), 0.0, 1, int64(0), 0, int64(0), 0, 0.0, int64(0), 0.0)
	f.Add(-1, 1, int64(1), 1.0, 3, int64(1), 10, int64(0), 5, 0.5, int64(time.Millisecond), 0.5)
	f.Add(1<<40, -5, int64(-1), 2.0, -1, int64(-1), 1<<30, int64(1<<62), -1, -0.5, int64(-3), 7.0)
	f.Fuzz(func(t *testing.T, ft, st int, ot int64, jit float64, hm int, pt int64, ws int, wd int64, mc int, fr float64, sd int64, sr float64) {
		cfg := Config{
			FailureThreshold: ft, SuccessThreshold: st, OpenTimeout: time.Duration(ot),
			OpenTimeoutJitter: jit, HalfOpenMaxCalls: hm, ProbeTimeout: time.Duration(pt),
			WindowSize: ws, WindowDuration: time.Duration(wd), MinimumCalls: mc,
			FailureRateThreshold: fr, SlowCallDuration: time.Duration(sd), SlowCallRateThreshold: sr,
		}
		err := cfg.Validate()
		defer func() {
			if r := recover(); (r != nil) != (err != nil) {
				t.Fatalf("Validate() = %v but New recovered %v", err, r)
			}
		}()
		b := New(cfg)
		for i := range 50 {
			p, err := b.Allow()
			if err == nil {
				p.Done([]error{nil, errBoom, context.Canceled}[i%3])
			}
		}
		b.ForceOpen()
		b.Reset()
		if s := b.Stats(); s.Successes+s.Failures+s.Ignored+s.Rejected != 50 {
			t.Fatalf("counted %+v, want 50 calls", s)
		}
	})
}

// TestHalfOpenOnceOpenPeriodEnds: once OpenTimeout has elapsed, State and
// Stats report half-open without waiting for a call or a timer, and the
// next call is admitted as a probe and makes the transition.
func TestHalfOpenOnceOpenPeriodEnds(t *testing.T) {
	tests := []struct {
		name      string
		wait      time.Duration // after the trip
		wantState State
		admitted  bool
	}{
		{"1ns before the end", 10*time.Second - 1, Open, false},
		{"at the end", 10 * time.Second, HalfOpen, true},
		{"long after the end", time.Hour, HalfOpen, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var changes []string
				b := New(Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second,
					OnStateChange: func(from, to State) { changes = append(changes, from.String()+">"+to.String()) }})
				Do(t.Context(), b, fail)
				opened := time.Now()
				time.Sleep(tt.wait)
				if got := b.State(); got != tt.wantState {
					t.Errorf("State() = %v, want %v", got, tt.wantState)
				}
				s := b.Stats()
				wantLast := opened
				if tt.wantState == HalfOpen {
					wantLast = opened.Add(10 * time.Second)
				}
				if s.State != tt.wantState || !s.LastTransition.Equal(wantLast) {
					t.Errorf("Stats() state %v since %v, want %v since %v", s.State, s.LastTransition, tt.wantState, wantLast)
				}
				if got := strings.Join(changes, " "); got != "closed>open" {
					t.Errorf("hooks before any call: %s, want only closed>open", got)
				}
				p, err := b.Allow()
				if (err == nil) != tt.admitted {
					t.Fatalf("Allow() err = %v, want admitted %v", err, tt.admitted)
				}
				if err != nil {
					return
				}
				if p.w&stateMask != uint64(HalfOpen) || b.State() != HalfOpen {
					t.Errorf("the call was not a half-open probe (state %v)", b.State())
				}
				if got := strings.Join(changes, " "); got != "closed>open open>half-open" {
					t.Errorf("hooks after the call: %s", got)
				}
			})
		})
	}
}

// TestForcedOpenNeverHalfOpens: a forced-open breaker stays open however
// long it waits, and its rejections have RetryAfter 0.
func TestForcedOpenNeverHalfOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{OpenTimeout: time.Second})
		b.ForceOpen()
		time.Sleep(1000 * time.Hour)
		if got := b.State(); got != Open {
			t.Fatalf("State() = %v, want open", got)
		}
		_, err := b.Allow()
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() != 0 {
			t.Fatalf("Allow() = %v, want ErrOpen with RetryAfter 0", err)
		}
	})
}

// TestZeroBreaker: every method of a Breaker not made by New panics with a
// message naming the mistake, not deep inside with an index out of range.
func TestZeroBreaker(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(b *Breaker)
	}{
		{"Allow", func(b *Breaker) { b.Allow() }},
		{"Allow then Done", func(b *Breaker) {
			if p, err := b.Allow(); err == nil {
				p.Done(nil)
			}
		}},
		{"State", func(b *Breaker) { b.State() }},
		{"Stats", func(b *Breaker) { b.Stats() }},
		{"Reset", func(b *Breaker) { b.Reset() }},
		{"ForceOpen", func(b *Breaker) { b.ForceOpen() }},
		{"method Do", func(b *Breaker) { b.Do(ctx, func(context.Context) error { return nil }) }},
		{"Do", func(b *Breaker) { Do(ctx, b, ok) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != "breaker: Breaker must be created with New" {
					t.Fatalf("recovered %v, want the New message", got)
				}
			}()
			tt.call(&Breaker{})
		})
	}
}
