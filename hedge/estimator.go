package hedge

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// The estimator is a log-linear histogram of latencies in nanoseconds:
// values below 16 ns have a bucket each, and every power of two above is
// split into 16 equal buckets, so a bucket is at most 1/16 of its lower
// bound wide. Values from 2^37 ns (about 137 s) up share the last bucket.
const (
	subBits    = 4
	subBuckets = 1 << subBits
	maxExp     = 36 // the last octave: [2^36, 2^37) ns
	numBuckets = (maxExp-subBits+1)*subBuckets + subBuckets
	maxValue   = 1<<(maxExp+1) - 1
)

// bucketOf returns the bucket of a latency of v nanoseconds.
func bucketOf(v uint64) int {
	v = min(v, maxValue)
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - 1
	m := (v >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(m)
}

// bucketTop returns the largest value of bucket i.
func bucketTop(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets + subBits - 1
	m := uint64(i % subBuckets)
	return (subBuckets+m+1)<<(e-subBits) - 1
}

// estimator estimates a quantile of the latencies of recent attempts with
// bounded memory: two histograms, the current one and the previous one,
// each holding one window of samples. When the current one has received a
// window's worth it becomes the previous one, so the estimate covers the
// last window to two windows of samples, every sample weighing the same.
//
// Accuracy: the estimate is the top of the histogram bucket that holds the
// exact quantile q of those samples (the smallest sample x such that at
// least ⌈q·n⌉ samples are ≤ x), so it is never below the exact value and
// at most 1/16 (6.25%) above it; exact below 16 ns; samples of 137 s and
// more count as 137 s.
//
// The estimate is recomputed every window/16 samples, under the mutex, and
// published in delay for lock-free reads; it is zero until warm, that is
// until the samples number ⌈10/(1−q)⌉ (200 for p95) or a full window,
// whichever is fewer.
type estimator struct {
	delay atomic.Int64 // the published estimate, ns; 0 while cold

	mu      sync.Mutex
	cur     [numBuckets]uint32
	prev    [numBuckets]uint32
	nCur    int
	nPrev   int
	pending int // samples since the last recomputation
}

// record adds one latency. window and q come from the Policy, already
// normalized: window ≥ 1, 0 < q < 1.
func (e *estimator) record(d time.Duration, window int, q float64) {
	v := uint64(max(d, 0))
	e.mu.Lock()
	e.cur[bucketOf(v)]++
	e.nCur++
	e.pending++
	if e.nCur >= window {
		e.prev = e.cur
		e.cur = [numBuckets]uint32{}
		e.nPrev, e.nCur = e.nCur, 0
	}
	if e.pending >= max(1, window/16) || (e.delay.Load() == 0 && e.nCur+e.nPrev >= warmup(window, q)) {
		e.pending = 0
		if e.nCur+e.nPrev >= warmup(window, q) {
			e.delay.Store(int64(max(e.quantileLocked(q), 1)))
		}
	}
	e.mu.Unlock()
}

// warmup is the number of samples before the first estimate.
func warmup(window int, q float64) int {
	return min(window, int(math.Ceil(10/(1-q))))
}

// quantileLocked returns the estimate of quantile q of the samples held.
func (e *estimator) quantileLocked(q float64) uint64 {
	n := e.nCur + e.nPrev
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), uint64(n))
	var seen uint64
	for i := range numBuckets {
		seen += uint64(e.cur[i]) + uint64(e.prev[i])
		if seen >= rank {
			return bucketTop(i)
		}
	}
	return bucketTop(numBuckets - 1)
}

// samples returns how many samples the estimate covers.
func (e *estimator) samples() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nCur + e.nPrev
}
