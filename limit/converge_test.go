package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// backend models a service that runs capacity calls at once in base each;
// beyond that, calls share it and each takes base·n/capacity. With
// shedding, a call that finds it over capacity fails quickly instead.
type backend struct {
	capacity atomic.Int64
	base     time.Duration
	shed     bool
	running  atomic.Int64
}

var errOverloaded = errors.New("backend: overloaded")

func (b *backend) call() error {
	n := b.running.Add(1)
	defer b.running.Add(-1)
	c := b.capacity.Load()
	if b.shed && n > c {
		time.Sleep(b.base / 10)
		return errOverloaded
	}
	time.Sleep(b.base * time.Duration(max(n, c)) / time.Duration(c))
	return nil
}

// drive runs workers callers against be through l for d (virtual time);
// a rejected caller tries again after 5·base. At d/2 the backend's
// capacity becomes after (if not 0). It returns the mean limit over the
// last quarter of each half.
func drive(l *Limiter, be *backend, workers int, d time.Duration, after int64) (first, second float64) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t, err := l.Acquire(ctx)
				if err != nil {
					time.Sleep(5 * be.base)
					continue
				}
				t.Done(be.call())
			}
		})
	}
	var sums [2]float64
	var ns [2]int
	const ticks = 400
	for i := range ticks {
		time.Sleep(d / ticks)
		if i == ticks/2 && after != 0 {
			be.capacity.Store(after)
		}
		if half := i / (ticks / 2); i%(ticks/2) >= ticks*3/8 {
			sums[half] += float64(l.Stats().Limit)
			ns[half]++
		}
	}
	wg.Wait()
	return sums[0] / float64(ns[0]), sums[1] / float64(ns[1])
}

// TestFollowsCapacity: from its initial limit of 20, each algorithm moves
// to the backend's capacity, up or down, settles near it instead of at
// its bounds, and follows it when it changes (a deploy, a lost replica).
// Gradient2 settles where the RTT exceeds the no-load one by about its
// Tolerance (1.5) plus √L of headroom, Vegas where the queue estimate lies
// between Alpha and Beta; AIMD, told by drops, at the capacity itself.
func TestFollowsCapacity(t *testing.T) {
	tests := []struct {
		alg           Algorithm
		before, after int64
		shed          bool
		lo, hi        float64 // bounds on the mean limit, × the capacity
	}{
		{Gradient2, 60, 20, false, 1, 2.2},
		{Gradient2, 8, 30, false, 1, 2.2},
		{Vegas, 60, 20, false, 1, 1.8},
		{Vegas, 8, 30, false, 1, 1.8},
		{AIMD, 60, 20, true, 0.6, 1.1},
		{AIMD, 8, 30, true, 0.6, 1.1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d-%d", tt.alg, tt.before, tt.after), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := New(Config{Algorithm: tt.alg, ProbeInterval: 10 * time.Second})
				be := &backend{base: 10 * time.Millisecond, shed: tt.shed}
				be.capacity.Store(tt.before)
				first, second := drive(l, be, 160, 40*time.Second, tt.after)
				t.Logf("mean limit %.1f, then %.1f; %+v", first, second, l.Stats())
				for _, h := range []struct {
					got      float64
					capacity int64
				}{{first, tt.before}, {second, tt.after}} {
					c := float64(h.capacity)
					if h.got < tt.lo*c || h.got > tt.hi*c {
						t.Errorf("mean limit %.1f, want in [%.1f, %.1f] for capacity %d", h.got, tt.lo*c, tt.hi*c, h.capacity)
					}
				}
			})
		})
	}
}
