package main

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/middleware"
)

func runServers(t *testing.T, seed uint64) map[string]serverRun {
	runs := map[string]serverRun{}
	if seed == 1 {
		for _, r := range seed1Results(t).server {
			runs[r.variant] = r
		}
		return runs
	}
	for _, v := range serverVariants {
		synctest.Test(t, func(t *testing.T) { runs[v] = runServer(v, seed) })
	}
	return runs
}

// The claim of the scenario: at 150% of capacity a FIFO queue answers
// almost nothing in time, and spends the server on answers nobody waits
// for; the Shedder keeps goodput near capacity, wastes nothing, and serves
// the higher priorities first.
func TestServerOverload(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		runs := runServers(t, seed)
		for _, v := range serverVariants {
			r := runs[v]
			all := r.total()
			good := all.goodput() / float64(serverCapacity)
			wasted := float64(all.late) / float64(all.good+all.late)
			t.Logf("seed %d, %s: goodput %.3f of capacity, %.3f of the answers late", seed, v, good, wasted)
			for i, c := range r.classes {
				t.Logf("  %s: %d sent, %.3f in time, %.3f shed", serverPriorities[i].name, c.sent, c.inTime(), shedRate(c))
			}
			if n := all.good + all.late + all.shed; n != all.sent {
				t.Errorf("seed %d, %s: %d requests sent, %d ended", seed, v, all.sent, n)
			}
			if v == "FIFO queue" {
				if good >= 0.2 || wasted < 0.8 || all.shed != 0 {
					t.Errorf("seed %d, FIFO queue: goodput %.3f of capacity, %.3f late, %d shed; want under 0.2, most answers late, none shed", seed, good, wasted, all.shed)
				}
				continue
			}
			if good <= 0.8 || wasted > 0.01 {
				t.Errorf("seed %d, Shedder: goodput %.3f of capacity, %.3f late; want over 0.8, almost none late", seed, good, wasted)
			}
			for i := 1; i < len(r.classes); i++ {
				hi, lo := r.classes[i-1], r.classes[i]
				if hi.inTime() < lo.inTime() || shedRate(hi) > shedRate(lo) {
					t.Errorf("seed %d, Shedder: %s %.3f in time, %.3f shed; %s %.3f in time, %.3f shed; want the higher priority served first",
						seed, serverPriorities[i-1].name, hi.inTime(), shedRate(hi), serverPriorities[i].name, lo.inTime(), shedRate(lo))
				}
			}
		}
	}
}

func shedRate(c serverClass) float64 { return float64(c.shed) / float64(max(c.sent, 1)) }

func TestServerIsDeterministic(t *testing.T) {
	// The Shedder's variant is the one whose goroutines race: timers fire
	// while the simulation sleeps, and waiters leave and get slots.
	const v = "Shedder"
	var a, b serverRun
	synctest.Test(t, func(t *testing.T) { a = runServer(v, 5) })
	synctest.Test(t, func(t *testing.T) { b = runServer(v, 5) })
	for i := range a.classes {
		x, y := a.classes[i], b.classes[i]
		if x.sent != y.sent || x.good != y.good || x.shed != y.shed || !slices.Equal(x.latency, y.latency) {
			t.Errorf("%s: two runs with the same seed differ: %+v vs %+v", serverPriorities[i].name, x, y)
		}
	}
	for i := range a.secs {
		if !slices.Equal(a.secs[i].good, b.secs[i].good) {
			t.Fatalf("second %d: two runs with the same seed differ: %v vs %v", i, a.secs[i].good, b.secs[i].good)
		}
	}
}

func TestServerGrid(t *testing.T) {
	if err := gridError(serverShed); err != nil {
		t.Errorf("the scenario's Shedder: %v", err)
	}
	tests := []struct {
		name             string
		target, interval time.Duration
		ok               bool
	}{
		{"defaults", 5 * time.Millisecond, 100 * time.Millisecond, true},
		{"Target on the grid", 7 * time.Millisecond, 100 * time.Millisecond, false},
		{"Interval at the completions", 5 * time.Millisecond, 101 * time.Microsecond, false}, // 3µs past a tick
		{"Interval with Target", 5 * time.Millisecond, 12 * time.Millisecond, false},         // both 2µs past
		{"Target at the completions", 3 * time.Microsecond, 100 * time.Millisecond, false},
	}
	for _, tt := range tests {
		err := gridError(middleware.ShedConfig{Target: tt.target, Interval: tt.interval})
		if (err == nil) != tt.ok {
			t.Errorf("%s: gridError(Target %v, Interval %v) = %v, want ok %v", tt.name, tt.target, tt.interval, err, tt.ok)
		}
	}
}

func TestOnGrid(t *testing.T) {
	const us = time.Microsecond
	tests := []struct {
		t, offset, want time.Duration
	}{
		{0, 0, 0},
		{1, 0, 7 * us},
		{7 * us, 0, 7 * us},
		{0, 3 * us, 3 * us},
		{3 * us, 3 * us, 3 * us},
		{3*us + 1, 3 * us, 10 * us},
		{10 * time.Millisecond, 3 * us, 10*time.Millisecond + 6*us}, // 10000µs is 4µs past a tick
	}
	for _, tt := range tests {
		if got := onGrid(tt.t, tt.offset); got != tt.want {
			t.Errorf("onGrid(%v, %v) = %v, want %v", tt.t, tt.offset, got, tt.want)
		}
	}
}

func FuzzOnGrid(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(10*time.Millisecond), int64(serverDoneOffset))
	f.Fuzz(func(t *testing.T, at, offset int64) {
		// Instants of a run and offsets within a tick.
		tt := time.Duration(at) % (24 * time.Hour)
		if tt < 0 {
			tt = -tt
		}
		off := time.Duration(offset) % serverTick
		if off < 0 {
			off = -off
		}
		got := onGrid(tt, off)
		if got < tt || got >= tt+serverTick || (got-off)%serverTick != 0 {
			t.Errorf("onGrid(%v, %v) = %v: not the first instant %v past a multiple of %v", tt, off, got, off, serverTick)
		}
	})
}
