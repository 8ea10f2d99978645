package breaker

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestStuckAfter plays calls that never report against breakers with and
// without StuckAfter.
func TestStuckAfter(t *testing.T) {
	const after = 100 * time.Millisecond
	tests := []struct {
		name      string
		cfg       Config
		hung      int           // calls admitted that have not reported
		wait      time.Duration // then this long
		wantState State         // what the next Allow finds
		wantStuck uint64
	}{
		{"off: hung calls count for nothing", Config{FailureThreshold: 3}, 3, time.Hour, Closed, 0},
		{"under the threshold", Config{FailureThreshold: 3, StuckAfter: after}, 3, after - 1, Closed, 0},
		{"at the threshold", Config{FailureThreshold: 3, StuckAfter: after}, 3, after, Open, 3},
		{"fewer than FailureThreshold", Config{FailureThreshold: 3, StuckAfter: after}, 2, time.Hour, Closed, 2},
		{"rate rule", Config{FailureThreshold: -1, FailureRateThreshold: 0.5, WindowSize: 4, MinimumCalls: 4, StuckAfter: after}, 4, after, Open, 4},
		{"slow-call rule", Config{FailureThreshold: -1, SlowCallDuration: 50 * time.Millisecond, SlowCallRateThreshold: 1, WindowSize: 2, MinimumCalls: 2, StuckAfter: after}, 2, after, Open, 2},
		{"time window", Config{FailureThreshold: -1, FailureRateThreshold: 1, WindowDuration: time.Second, MinimumCalls: 2, StuckAfter: after}, 2, after, Open, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(tt.cfg)
				for range tt.hung {
					if _, err := b.Allow(); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(tt.wait)
				_, err := b.Allow()
				if (err != nil) != (tt.wantState == Open) || b.State() != tt.wantState {
					t.Errorf("next Allow: %v, state %v; want state %v", err, b.State(), tt.wantState)
				}
				if got := b.Stats().Stuck; got != tt.wantStuck {
					t.Errorf("Stuck %d, want %d", got, tt.wantStuck)
				}
			})
		})
	}
}

// TestStuckCountedOnce checks that the outcome of a call found stuck does
// not count in the state again, whatever it is.
func TestStuckCountedOnce(t *testing.T) {
	tests := []struct {
		name      string
		outcome   func(Permit)
		wantFails uint64 // consecutive failures after the late outcome
		wantTotal Stats
	}{
		{"late failure", func(p Permit) { p.Done(errBoom) }, 2, Stats{Failures: 2}},
		{"late success", func(p Permit) { p.Done(nil) }, 2, Stats{Successes: 2}},
		{"late ignore", func(p Permit) { p.Ignore() }, 2, Stats{Ignored: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(Config{FailureThreshold: 5, StuckAfter: time.Second})
				p1, _ := b.Allow()
				p2, _ := b.Allow()
				time.Sleep(time.Second)
				p3, _ := b.Allow() // finds p1 and p2 stuck
				if got := b.Stats().ConsecutiveFailures; got != 2 {
					t.Fatalf("consecutive failures %d once stuck, want 2", got)
				}
				tt.outcome(p1)
				tt.outcome(p2)
				s := b.Stats()
				if s.ConsecutiveFailures != tt.wantFails || s.Stuck != 2 {
					t.Errorf("after the late outcomes: consecutive failures %d, stuck %d; want %d, 2", s.ConsecutiveFailures, s.Stuck, tt.wantFails)
				}
				if s.Successes != tt.wantTotal.Successes || s.Failures != tt.wantTotal.Failures || s.Ignored != tt.wantTotal.Ignored {
					t.Errorf("totals %d/%d/%d, want %d/%d/%d", s.Successes, s.Failures, s.Ignored, tt.wantTotal.Successes, tt.wantTotal.Failures, tt.wantTotal.Ignored)
				}
				p3.Done(nil) // a call that was not stuck still counts
				if got := b.Stats().ConsecutiveFailures; got != 0 {
					t.Errorf("consecutive failures %d after a success, want 0", got)
				}
			})
		})
	}
}

// TestStuckProbe checks that a half-open probe in flight for StuckAfter
// reopens the breaker, and that its late outcome frees no second slot.
func TestStuckProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1, OpenTimeout: time.Second, StuckAfter: 100 * time.Millisecond})
		p, _ := b.Allow()
		p.Done(errBoom)
		time.Sleep(time.Second)
		probe, err := b.Allow()
		if err != nil || b.State() != HalfOpen {
			t.Fatalf("probe: %v, state %v", err, b.State())
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
			t.Fatalf("after a stuck probe: %v, want ErrOpen", err)
		}
		probe.Done(nil)
		if s := b.Stats(); s.State != Open || s.Stuck != 1 {
			t.Errorf("after the probe's late success: %+v, want open, 1 stuck", s)
		}
	})
}

// TestStuckWatchFull checks that calls beyond the watched ones are
// admitted and report as usual.
func TestStuckWatchFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: -1, FailureRateThreshold: 1, WindowSize: 1000, MinimumCalls: 1000, StuckAfter: time.Second})
		var ps []Permit
		for range watchSize + 10 {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		time.Sleep(time.Second)
		b.Allow()
		if got := b.Stats().Stuck; got != watchSize {
			t.Errorf("Stuck %d, want %d", got, watchSize)
		}
		for _, p := range ps {
			p.Done(nil)
		}
		if s := b.Stats(); s.Successes != watchSize+10 || s.State != Closed {
			t.Errorf("%+v, want %d successes, closed", s, watchSize+10)
		}
	})
}

func TestStuckAllocs(t *testing.T) {
	b := New(Config{StuckAfter: time.Minute})
	if n := testing.AllocsPerRun(1000, func() {
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(nil)
	}); n != 0 {
		t.Errorf("%v allocs per call with StuckAfter, want 0", n)
	}
}

// TestStuckUnwatchedWithFailures checks that a call admitted while the
// watch is full, after failures, reports as usual: the failure count in
// the word it was admitted with is no seq.
func TestStuckUnwatchedWithFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 1000, StuckAfter: time.Hour})
		for range 3 {
			p, _ := b.Allow()
			p.Done(errBoom)
		}
		var ps []Permit
		for range watchSize + 1 {
			p, _ := b.Allow()
			ps = append(ps, p)
		}
		last := ps[len(ps)-1]
		last.Done(errBoom) // not watched: counts
		if got := b.Stats().ConsecutiveFailures; got != 4 {
			t.Errorf("consecutive failures %d, want 4", got)
		}
		for _, p := range ps[:watchSize] {
			p.Done(nil)
		}
		if s := b.Stats(); s.ConsecutiveFailures != 0 || s.Successes != watchSize {
			t.Errorf("%+v, want 0 consecutive failures, %d successes", s, watchSize)
		}
	})
}

// TestStuckSeqWraps checks the watch across the wrap of the sequence
// numbers a Permit carries.
func TestStuckSeqWraps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureThreshold: 3, StuckAfter: time.Second})
		b.watch.head, b.watch.tail = seqMask-1, seqMask-1 // two calls before the wrap
		var ps []Permit
		for range 4 {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			time.Sleep(time.Millisecond)
		}
		for _, p := range ps {
			if (p.w&failMask)>>failShift == 0 {
				t.Fatalf("a watched permit has seq 0")
			}
		}
		ps[1].Done(nil)
		ps[2].Done(nil)
		time.Sleep(time.Second)
		b.Allow() // finds ps[0] and ps[3] stuck
		ps[0].Done(errBoom)
		ps[3].Done(errBoom)
		if s := b.Stats(); s.Stuck != 2 || s.ConsecutiveFailures != 2 {
			t.Errorf("%+v, want 2 stuck, 2 consecutive failures", s)
		}
	})
}
