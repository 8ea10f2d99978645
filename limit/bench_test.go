package limit

import (
	"context"
	"math"
	"testing"
)

func BenchmarkAcquireDone(b *testing.B) {
	l := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t.Done(nil)
	}
}

func BenchmarkAcquireDoneParallel(b *testing.B) {
	l := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t, err := l.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			t.Done(nil)
		}
	})
}

func BenchmarkDo(b *testing.B) {
	l := New(Config{})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Do(ctx, l, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRejected: the limit is reached and there is no queue.
func BenchmarkRejected(b *testing.B) {
	l := New(Config{InitialLimit: 1})
	ctx := context.Background()
	t, _ := l.Acquire(ctx)
	defer t.Ignore()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Acquire(ctx); err == nil {
			b.Fatal("admitted over the limit")
		}
	}
}

// BenchmarkAcquireDoneSampled: every call measured, as below one call per
// 4µs: the cost of two clock reads and the estimator's critical section.
func BenchmarkAcquireDoneSampled(b *testing.B) {
	l := New(Config{})
	l.lastStart = math.MaxInt64 // keep adaptSampling from raising the stride
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t.Done(nil)
	}
	if s := l.Stats(); s.Samples < uint64(b.N) {
		b.Fatalf("%d samples of %d calls", s.Samples, b.N)
	}
	l.mu.Lock()
	l.lastStart = 0
	l.mu.Unlock()
}

// BenchmarkAcquireDoneUnsampled: the path of the calls that are not
// measured, the stride held at its largest (for instruction counts under
// valgrind, where the slowed clock would otherwise make every call a
// sample).
func BenchmarkAcquireDoneUnsampled(b *testing.B) {
	l := New(Config{})
	l.lastStart = math.MaxInt64
	l.mu.Lock()
	l.setStride(maxStride)
	l.mu.Unlock()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t.Done(nil)
	}
	l.mu.Lock()
	l.lastStart = 0 // let the idle timer reset the stride and stop
	l.mu.Unlock()
}
