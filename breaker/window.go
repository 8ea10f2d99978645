package breaker

import "sync"

// window is the sliding window of the rate rules: a ring of the last n
// outcomes, or a ring of time buckets. It belongs to one generation at a
// time and clears itself when it sees a newer one, so outcomes never leak
// across a transition.
type window struct {
	mu    sync.Mutex
	gen   uint64
	ring  []uint8 // count-based: one outcome per slot, 0 = empty
	pos   int
	width int64    // time-based: bucket width in ns; 0 for count-based
	last  int64    // time-based: the newest bucket epoch seen
	bkts  []bucket // time-based
	sum   bucket   // count-based running totals

	min            int
	failRate, slow float64
}

type bucket struct {
	epoch             int64 // now/width of the bucket's start
	calls, fails, slo int
}

const (
	present = 1 << iota
	failed
	slowed
)

func newWindow(cfg Config) *window {
	w := &window{min: cfg.MinimumCalls, failRate: cfg.FailureRateThreshold, slow: cfg.SlowCallRateThreshold}
	if cfg.WindowDuration > 0 {
		w.width = max(1, int64(cfg.WindowDuration)/buckets)
		w.bkts = make([]bucket, buckets)
	} else {
		w.ring = make([]uint8, cfg.WindowSize)
	}
	return w
}

// record adds an outcome of generation pw at now (ns since base; used by
// time windows) and reports whether a rate rule now trips.
func (w *window) record(b *Breaker, pw uint64, now int64, fail, slow bool) bool {
	var code uint8 = present
	if fail {
		code |= failed
	}
	if slow {
		code |= slowed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	g := gen(pw)
	if gen(b.word.Load()) != g {
		return false // stale
	}
	if w.gen != g {
		w.gen = g
		clear(w.ring)
		clear(w.bkts)
		w.pos, w.sum, w.last = 0, bucket{}, 0
	}
	var t bucket
	if w.width > 0 {
		// A caller that read the clock before a newer one took the lock
		// counts in the newest bucket rather than resetting it.
		e := max(now/w.width, w.last)
		w.last = e
		bk := &w.bkts[e%buckets]
		if bk.epoch != e || bk.calls == 0 {
			*bk = bucket{epoch: e}
		}
		bk.add(code, 1)
		for _, x := range w.bkts {
			if x.epoch > e-buckets && x.epoch <= e {
				t.calls, t.fails, t.slo = t.calls+x.calls, t.fails+x.fails, t.slo+x.slo
			}
		}
	} else {
		w.sum.add(w.ring[w.pos], -1)
		w.ring[w.pos] = code
		w.sum.add(code, 1)
		w.pos = (w.pos + 1) % len(w.ring)
		t = w.sum
	}
	if t.calls < w.min || t.calls == 0 {
		return false
	}
	n := float64(t.calls)
	return fail && w.failRate > 0 && float64(t.fails)/n >= w.failRate ||
		slow && w.slow > 0 && float64(t.slo)/n >= w.slow
}

func (k *bucket) add(code uint8, d int) {
	if code&present != 0 {
		k.calls += d
	}
	if code&failed != 0 {
		k.fails += d
	}
	if code&slowed != 0 {
		k.slo += d
	}
}

// snapshot returns what the rate rules see now: the window's totals in the
// generation of word w (zero once the breaker moved on, since the window
// clears itself on the next outcome), and for a time window only the
// buckets the window still spans at now.
func (w *window) snapshot(cur uint64, now int64) bucket {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen != gen(cur) {
		return bucket{}
	}
	if w.width == 0 {
		return w.sum
	}
	var t bucket
	e := max(now/w.width, w.last)
	for _, x := range w.bkts {
		if x.epoch > e-buckets && x.epoch <= e {
			t.calls, t.fails, t.slo = t.calls+x.calls, t.fails+x.fails, t.slo+x.slo
		}
	}
	return t
}

// stats returns the window's figures in the generation of word cur at now.
func (w *window) stats(cur uint64, now int64) WindowStats {
	t := w.snapshot(cur, now)
	s := WindowStats{Calls: t.calls, Failures: t.fails, SlowCalls: t.slo}
	if t.calls > 0 {
		s.FailureRate = float64(t.fails) / float64(t.calls)
		s.SlowCallRate = float64(t.slo) / float64(t.calls)
	}
	return s
}
