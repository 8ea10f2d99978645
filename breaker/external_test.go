package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestOpenFor(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(b *Breaker)
		d           time.Duration
		want        bool
		wantState   State
		wantRemain  time.Duration // OpenRemaining right after
		transitions int
	}{
		{"closed opens", func(*Breaker) {}, 5 * time.Second, true, Open, 5 * time.Second, 1},
		{"zero does nothing", func(*Breaker) {}, 0, false, Closed, 0, 0},
		{"negative does nothing", func(*Breaker) {}, -time.Second, false, Closed, 0, 0},
		{"huge is capped", func(*Breaker) {}, 1 << 62, true, Open, maxDuration, 1},
		{"open until later keeps its period", func(b *Breaker) { trip(b) }, 5 * time.Second, false, Open, 60 * time.Second, 0},
		{"open until sooner is extended", func(b *Breaker) { trip(b) }, 90 * time.Second, true, Open, 90 * time.Second, 0},
		{"forced stays forced", func(b *Breaker) { b.ForceOpen() }, 5 * time.Second, false, Open, 0, 0},
		{"half-open reopens", func(b *Breaker) { trip(b); time.Sleep(time.Minute); b.Allow() }, 5 * time.Second, true, Open, 5 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				var arm atomic.Bool
				b := New(Config{OnStateChange: func(from, to State) {
					if arm.Load() {
						n.Add(1)
					}
				}})
				tt.setup(b)
				arm.Store(true)
				if got := b.OpenFor(tt.d); got != tt.want {
					t.Fatalf("OpenFor(%v) = %v, want %v", tt.d, got, tt.want)
				}
				if got := b.State(); got != tt.wantState {
					t.Fatalf("state = %v, want %v", got, tt.wantState)
				}
				if got := b.OpenRemaining(); got != tt.wantRemain {
					t.Fatalf("OpenRemaining = %v, want %v", got, tt.wantRemain)
				}
				if got := int(n.Load()); got != tt.transitions {
					t.Fatalf("%d transitions, want %d", got, tt.transitions)
				}
			})
		})
	}
}

func trip(b *Breaker) {
	for range b.cfg.FailureThreshold {
		Do(context.Background(), b, fail)
	}
}

func TestOpenForThenHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{})
		b.OpenFor(3 * time.Second)
		_, err := b.Allow()
		var ra interface{ RetryAfter() time.Duration }
		if !errors.Is(err, ErrOpen) || !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second {
			t.Fatalf("err = %v, want ErrOpen with RetryAfter 3s", err)
		}
		time.Sleep(3 * time.Second)
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("after the period: %v, want a probe", err)
		}
		if got := b.State(); got != HalfOpen {
			t.Fatalf("state = %v, want half-open", got)
		}
		p.Done(nil)
	})
}

// An outcome of a call admitted before OpenFor is stale: it must not close
// the breaker that another replica's news opened.
func TestOpenForMakesOutcomesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{SuccessThreshold: 1})
		trip(b)
		time.Sleep(time.Minute)
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.OpenFor(time.Second)
		p.Done(nil)
		if got := b.State(); got != Open {
			t.Fatalf("state = %v, want open: a stale probe closed it", got)
		}
	})
}

func TestProbeGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var allow, asked atomic.Int32
		b := New(Config{HalfOpenMaxCalls: 1, SuccessThreshold: 1, ProbeGate: func() bool {
			asked.Add(1)
			return allow.Load() != 0
		}})
		for range 20 { // closed: never asked
			Do(t.Context(), b, ok)
		}
		trip(b)
		Do(t.Context(), b, ok) // open: never asked
		if got := asked.Load(); got != 0 {
			t.Fatalf("gate asked %d times outside half-open", got)
		}
		time.Sleep(time.Minute)
		for i := range 3 {
			if _, err := b.Allow(); !errors.Is(err, ErrTooManyCalls) {
				t.Fatalf("refused gate, call %d: err = %v, want ErrTooManyCalls", i, err)
			}
		}
		if got := asked.Load(); got != 3 {
			t.Fatalf("gate asked %d times, want 3 (each refusal frees the slot)", got)
		}
		if got := b.Stats().Rejected; got != 4 {
			t.Fatalf("Rejected = %d, want 4 (1 open + 3 gated)", got)
		}
		allow.Store(1)
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("gate open: %v", err)
		}
		// The slot is taken: the next caller is refused without asking.
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyCalls) {
			t.Fatalf("second probe: %v, want ErrTooManyCalls", err)
		}
		if got := asked.Load(); got != 4 {
			t.Fatalf("gate asked %d times, want 4", got)
		}
		p.Done(nil)
		if got := b.State(); got != Closed {
			t.Fatalf("state = %v, want closed", got)
		}
	})
}

func TestProbeGatePanicFreesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var panicky atomic.Bool
		panicky.Store(true)
		b := New(Config{ProbeGate: func() bool {
			if panicky.Load() {
				panic("gate")
			}
			return true
		}})
		trip(b)
		time.Sleep(time.Minute)
		func() {
			defer func() { recover() }()
			b.Allow()
		}()
		panicky.Store(false)
		if _, err := b.Allow(); err != nil {
			t.Fatalf("after a panicking gate: %v, want the slot free", err)
		}
	})
}

func TestExternalHotPathAllocs(t *testing.T) {
	b := New(Config{ProbeGate: func() bool { return true }})
	if n := testing.AllocsPerRun(1000, func() {
		p, _ := b.Allow()
		p.Done(nil)
	}); n != 0 {
		t.Fatalf("closed path with a ProbeGate: %v allocs, want 0", n)
	}
	b.OpenFor(time.Hour)
	if n := testing.AllocsPerRun(1000, func() { b.Allow(); b.OpenRemaining() }); n != 0 {
		t.Fatalf("open path: %v allocs, want 0", n)
	}
}
