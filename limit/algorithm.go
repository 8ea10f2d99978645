package limit

import "math"

// RTT samples are clamped into [minRTT, maxRTT] nanoseconds before they
// reach an estimate, so a zero or absurd measurement cannot produce a zero
// divisor, an infinity or a NaN.
const (
	minRTT = 1
	maxRTT = 3600e9 // an hour
)

// estimator is the limit algorithm, its sample windows, its RTT averages
// and its probes. It is a plain value without locks: the Limiter calls add
// under its mutex, and the fuzz tests drive it directly.
type estimator struct {
	algorithm   Algorithm
	minLimit    float64
	maxLimit    float64
	tolerance   float64 // Gradient2
	smoothing   float64 // Gradient2
	longWeight  float64 // EMA weight of a window in the long-term average
	longWarmup  uint64  // windows averaged plainly before the long EMA starts
	alpha, beta float64 // Vegas
	backoff     float64 // AIMD
	minSpan     int64   // ns: the least duration of a window
	minSamples  int     // the least samples in a window
	probeEvery  int64   // ns between probes; 0: never
	probeLimit  float64 // the limit during a probe

	limit     float64 // the estimate, always in [minLimit, maxLimit]
	shortRTT  float64 // ns: the average of the last window; 0 before
	longRTT   float64 // ns, Gradient2: the long-term average of windows; 0 before
	noLoadRTT float64 // ns, Vegas: least window average since the last probe; 0 before

	// The open window: since when, and what it has seen.
	start       int64 // ns, by the Limiter's clock
	sum         float64
	count       int
	maxInflight int
	dropped     bool

	// A probe is a window run at probeLimit, which measures the RTT
	// without our own queueing and re-baselines the reference RTT.
	probing   bool
	nextProbe int64 // ns: when the next probe starts

	samples, drops, windows, probes uint64
}

func newEstimator(c Config) estimator {
	e := estimator{
		algorithm:  c.Algorithm,
		minLimit:   float64(c.MinLimit),
		maxLimit:   float64(c.MaxLimit),
		tolerance:  c.Tolerance,
		smoothing:  c.Smoothing,
		longWeight: 2 / (float64(c.LongWindow) + 1),
		longWarmup: uint64(min(10, c.LongWindow)),
		alpha:      c.Alpha,
		beta:       c.Beta,
		backoff:    c.Backoff,
		minSpan:    int64(c.Window),
		minSamples: c.WindowSamples,
		probeLimit: float64(c.ProbeLimit),
		limit:      float64(c.InitialLimit),
	}
	if c.ProbeInterval > 0 && c.Algorithm != AIMD {
		e.probeEvery = int64(c.ProbeInterval)
		e.nextProbe = e.probeEvery
	}
	return e
}

// current returns the limit to enforce: the estimate, or the probe's
// limit while a probe runs.
func (e *estimator) current() float64 {
	if e.probing {
		return min(e.limit, e.probeLimit)
	}
	return e.limit
}

// add feeds the sample of a call that ran from start to now (ns by the
// Limiter's clock), with the calls in flight when it ended (itself
// included) and whether it was a drop. A call that started before the
// open window did ran under an earlier limit, or outside a probe, and
// counts for nothing. When the sample closes the window (it holds
// minSamples samples and spans minSpan) the limit moves, and add reports
// true.
func (e *estimator) add(start, now int64, inflight int, drop bool) bool {
	if start < e.start {
		return false
	}
	rtt := float64(min(max(now-start, minRTT), maxRTT))
	e.samples++
	if drop {
		e.drops++
	}
	e.sum += rtt
	e.count++
	e.maxInflight = max(e.maxInflight, inflight)
	e.dropped = e.dropped || drop
	if e.count < e.minSamples || float64(now)-float64(e.start) < float64(e.minSpan) {
		return false
	}
	average := e.sum / float64(e.count)
	if e.probing {
		e.endProbe(average)
	} else {
		e.step(average, e.maxInflight, e.dropped)
	}
	e.start, e.sum, e.count, e.maxInflight, e.dropped = now, 0, 0, 0, false
	if e.probeEvery > 0 && !e.probing && now >= e.nextProbe {
		e.probing = true
		e.nextProbe = now + e.probeEvery
	}
	return true
}

// endProbe takes the probe window's average RTT as the new reference:
// Gradient2's long-term average, Vegas's no-load RTT.
func (e *estimator) endProbe(rtt float64) {
	e.probing = false
	e.probes++
	e.shortRTT = rtt
	if e.algorithm == Vegas {
		e.noLoadRTT = rtt
	} else {
		e.longRTT = rtt
	}
}

// step moves the limit by one window: its average RTT in ns (in
// [minRTT, maxRTT]), the most calls in flight it saw and whether any of
// its samples was a drop.
func (e *estimator) step(rtt float64, inflight int, drop bool) {
	e.windows++
	e.shortRTT = rtt
	var next float64
	switch e.algorithm {
	case Vegas:
		next = e.vegas(float64(inflight), drop)
	case AIMD:
		next = e.aimd(float64(inflight), drop)
	default:
		e.averageLong(rtt)
		next = e.gradient2(float64(inflight))
	}
	if next == next { // not NaN
		e.limit = min(max(next, e.minLimit), e.maxLimit)
	}
}

// averageLong folds a window into the long-term average, unless it shows
// queueing beyond the tolerance: absorbing those would let the reference
// follow the queue up, and the limit with it. Probes re-baseline it.
func (e *estimator) averageLong(rtt float64) {
	switch {
	case e.longRTT == 0:
		e.longRTT = rtt
	case e.windows <= e.longWarmup:
		e.longRTT += (rtt - e.longRTT) / float64(e.windows)
	case rtt <= e.tolerance*e.longRTT:
		e.longRTT += e.longWeight * (rtt - e.longRTT)
	}
	// After a lasting drop in latency, let the long-term average follow
	// faster than its window, or the limit would stay high for too long.
	if e.longRTT > 2*rtt {
		e.longRTT *= 0.95
	}
}

// gradient2: L' = L·(1−s) + s·(L·clamp(tolerance·long/short, 0.5, 1) + √L).
func (e *estimator) gradient2(inflight float64) float64 {
	if inflight < e.limit/2 {
		return e.limit // limited by the application, not the backend
	}
	gradient := min(max(e.tolerance*e.longRTT/e.shortRTT, 0.5), 1)
	next := e.limit*gradient + math.Sqrt(e.limit)
	return e.limit*(1-e.smoothing) + next*e.smoothing
}

// vegas: queue = L·(1 − noLoadRTT/shortRTT), steered between α·log10 L and
// β·log10 L.
func (e *estimator) vegas(inflight float64, drop bool) float64 {
	if e.noLoadRTT == 0 || e.shortRTT < e.noLoadRTT {
		e.noLoadRTT = e.shortRTT
	}
	step := max(1, math.Log10(e.limit))
	switch {
	case drop:
		return e.limit - step
	case inflight*2 < e.limit:
		return e.limit
	}
	queue := math.Ceil(e.limit * (1 - e.noLoadRTT/e.shortRTT))
	switch {
	case queue <= step:
		return e.limit + e.beta*step
	case queue < e.alpha*step:
		return e.limit + step
	case queue > e.beta*step:
		return e.limit - step
	}
	return e.limit
}

// aimd: L' = L·backoff on a drop, L+1 on a success while at least half
// the limit is in use.
func (e *estimator) aimd(inflight float64, drop bool) float64 {
	switch {
	case drop:
		return e.limit * e.backoff
	case inflight*2 >= e.limit:
		return e.limit + 1
	}
	return e.limit
}
