package hedge

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	// Every value lies in its bucket, buckets are contiguous, and a bucket
	// is at most 1/16 of its values wide.
	prevTop := int64(-1)
	for i := range numBuckets {
		top := bucketTop(i)
		if int64(top) <= prevTop {
			t.Fatalf("bucket %d: top %d not above the previous %d", i, top, prevTop)
		}
		lo := uint64(prevTop + 1)
		if bucketOf(lo) != i || bucketOf(top) != i {
			t.Fatalf("bucket %d holds [%d, %d], but bucketOf gives %d and %d", i, lo, top, bucketOf(lo), bucketOf(top))
		}
		if lo >= subBuckets && (top-lo+1)*subBuckets > lo {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/16 of %d", i, lo, top, lo)
		}
		prevTop = int64(top)
	}
	if bucketTop(numBuckets-1) != maxValue || bucketOf(math.MaxUint64) != numBuckets-1 {
		t.Fatalf("last bucket: top %d, want %d", bucketTop(numBuckets-1), uint64(maxValue))
	}
}

// exactQuantile is the reference: the smallest sample x such that at
// least ⌈q·n⌉ samples are ≤ x.
func exactQuantile(samples []uint64, q float64) uint64 {
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// checkEstimate feeds samples to an estimator and compares its estimate
// with the exact quantile of the samples it should cover.
func checkEstimate(t *testing.T, samples []uint64, window int, q float64) {
	t.Helper()
	var e estimator
	var held []uint64 // the samples of the previous and current windows
	var cur int
	for _, v := range samples {
		e.record(time.Duration(min(v, math.MaxInt64)), window, q)
		held = append(held, min(v, maxValue))
		cur++
		if cur == window {
			held = held[len(held)-window:]
			cur = 0
		}
	}
	if n := e.samples(); n != len(held) || n > 2*window {
		t.Fatalf("estimator holds %d samples, want %d (at most 2×%d)", n, len(held), window)
	}
	if len(held) == 0 {
		return
	}
	e.mu.Lock()
	got := e.quantileLocked(q)
	e.mu.Unlock()
	want := exactQuantile(held, q)
	if got < want || got-want > want/subBuckets {
		t.Fatalf("q%v of %d samples: estimate %d, exact %d (want within [exact, exact+exact/16])", q, len(held), got, want)
	}
	if len(held) >= warmup(window, q) {
		pub := uint64(e.delay.Load())
		if pub == 0 {
			t.Fatalf("estimate not published after %d samples (warm-up %d)", len(held), warmup(window, q))
		}
	} else if e.delay.Load() != 0 {
		t.Fatalf("estimate published after %d samples, before the warm-up of %d", len(held), warmup(window, q))
	}
}

func TestEstimator(t *testing.T) {
	lin := func(n int, step uint64) []uint64 {
		s := make([]uint64, n)
		for i := range s {
			s[i] = uint64(i%100+1) * step
		}
		return s
	}
	tests := []struct {
		name    string
		samples []uint64
		window  int
		q       float64
	}{
		{"one sample", []uint64{5}, 10, 0.95},
		{"tiny values exact", lin(50, 1), 100, 0.5},
		{"p95 of 1..100ms", lin(1000, uint64(time.Millisecond)), 1000, 0.95},
		{"rotates", lin(3500, uint64(time.Microsecond)), 1000, 0.99},
		{"huge values clamp", []uint64{math.MaxUint64, 1 << 50, 3}, 2, 0.5},
		{"window 1", lin(7, 1000), 1, 0.95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEstimate(t, tt.samples, tt.window, tt.q)
		})
	}
}

func FuzzEstimator(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint16(4), uint8(95))
	f.Add(make([]byte, 800), uint16(50), uint8(50))
	f.Fuzz(func(t *testing.T, data []byte, window uint16, q uint8) {
		w := int(window%2000) + 1
		qq := float64(q%99+1) / 100
		var samples []uint64
		for len(data) >= 4 {
			// Spread 32 random bits over the whole range: a mantissa and
			// a shift.
			v := uint64(binary.LittleEndian.Uint32(data))
			samples = append(samples, (v&0xffffff)<<(v>>24%40))
			data = data[4:]
		}
		checkEstimate(t, samples, w, qq)
	})
}
