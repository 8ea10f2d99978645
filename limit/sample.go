package limit

import (
	"math/bits"
	"time"
)

// Sampling. Reading the clock twice costs more than the rest of a call
// through the Limiter, so at high call rates only one call in stride is
// measured, the stride being a power of two chosen so that measured calls
// start about sampleSpacing apart. Below one call per sampleSpacing every
// call is measured. Which calls are measured is decided by a Fibonacci hash
// of the admission sequence number, so a periodic pattern in the traffic
// (every fourth call fails) is not aliased by a periodic choice; drops and
// successes are thinned alike, and the algorithms see the same proportions.
// A timer returns the stride to 1 when no measured call started for
// sampleIdle, so a burst followed by a trickle is not left unmeasured.
const (
	sampleSpacing = 4 * time.Microsecond
	sampleIdle    = time.Millisecond
	maxStride     = 1024
	fibonacci16   = 40503 // 2^16/φ, odd
)

// sampled reports whether the call with admission sequence number seq is
// measured, given below = 2^16/stride.
func sampled(seq uint16, below uint32) bool { return uint32(seq*fibonacci16) < below }

// record feeds the sample of t to the estimator and publishes the new
// limit. It returns the limit before and after.
func (l *Limiter) record(t Token, drop bool) (from, to int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.adaptSampling(t)
	inflight := int(l.state.Load() & inflightMask)
	from = int(l.limit.Load())
	if !l.est.add(t.start, now, inflight, drop) {
		return from, from
	}
	to = int(l.est.current()) // in [MinLimit, MaxLimit], MinLimit ≥ 1
	if to != from {
		l.limit.Store(uint64(to))
		if to > from {
			l.grantLocked()
		}
	}
	hint := min(max(time.Duration(l.est.shortRTT), minRetryAfter), maxRetryAfter)
	l.retryAfter.Store(int64(hint))
	return from, to
}

// adaptSampling moves the stride to the call rate seen between the
// latest-started sampled call and t. It requires l.mu.
func (l *Limiter) adaptSampling(t Token) {
	if t.start <= l.lastStart {
		return // an older call finishing late, or one started at the same instant
	}
	calls := uint64(t.seq - l.lastSeq) // wraps like the sequence numbers
	if gap := t.start - l.lastStart; l.lastStart != 0 && calls != 0 && calls < 1<<15 {
		want := uint64(sampleSpacing) * calls / uint64(gap)
		stride := min(max(want, 1), 2*l.stride, maxStride) // grow by doubling at most
		stride = 1 << (bits.Len64(stride) - 1)             // a power of two
		l.setStride(stride)
	}
	l.lastStart, l.lastSeq = t.start, t.seq
}

// setStride requires l.mu.
func (l *Limiter) setStride(stride uint64) {
	if stride == l.stride {
		return
	}
	if l.stride == 1 {
		if l.idle == nil {
			l.idle = time.AfterFunc(sampleIdle, l.checkIdle)
		} else {
			l.idle.Reset(sampleIdle)
		}
	}
	l.stride = stride
	l.sampleBelow.Store(uint32(1<<16) / uint32(stride))
}

// checkIdle runs on the idle timer: if no measured call started for
// sampleIdle the call rate has fallen far below what the stride was made
// for, and every call is measured again; else it looks again later.
func (l *Limiter) checkIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stride == 1 {
		return
	}
	if time.Duration(l.now()-l.lastStart) >= sampleIdle {
		l.stride = 1
		l.sampleBelow.Store(1 << 16)
		return
	}
	l.idle.Reset(sampleIdle)
}
