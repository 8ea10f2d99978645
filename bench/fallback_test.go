package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	fsfallback "github.com/failsafe-go/failsafe-go/fallback"

	"github.com/seed94f50169/resilience/fallback"
)

var errBenchPrimary = errors.New("primary down")

// BenchmarkFallbackSuccess measures the cost a fallback chain adds when the
// primary operation succeeds, against calling the operation directly.
func BenchmarkFallbackSuccess(b *testing.B) {
	ctx := context.Background()
	primary := func(context.Context) (int, error) { return 1, nil }
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = primary(ctx)
		}
	})
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		fb := fallback.Value(2)
		for b.Loop() {
			sinkInt, sinkErr = fallback.Do(ctx, primary, fb)
		}
	})
	b.Run("failsafe-go", func(b *testing.B) {
		b.ReportAllocs()
		exec := failsafe.With[int](fsfallback.NewWithResult(2))
		fn := func() (int, error) { return primary(ctx) }
		for b.Loop() {
			sinkInt, sinkErr = exec.Get(fn)
		}
	})
}

func BenchmarkFallbackSuccessParallel(b *testing.B) {
	ctx := context.Background()
	primary := func(context.Context) (int, error) { return 1, nil }
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = primary(ctx)
			}
		})
	})
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		fb := fallback.Value(2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = fallback.Do(ctx, primary, fb)
			}
		})
	})
	b.Run("failsafe-go", func(b *testing.B) {
		b.ReportAllocs()
		exec := failsafe.With[int](fsfallback.NewWithResult(2))
		fn := func() (int, error) { return primary(ctx) }
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = exec.Get(fn)
			}
		})
	})
}

// BenchmarkFallbackFailure measures a failing primary answered by the first
// fallback.
func BenchmarkFallbackFailure(b *testing.B) {
	ctx := context.Background()
	primary := func(context.Context) (int, error) { return 0, errBenchPrimary }
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		fb := fallback.Value(2)
		for b.Loop() {
			sinkInt, sinkErr = fallback.Do(ctx, primary, fb)
		}
	})
	b.Run("failsafe-go", func(b *testing.B) {
		b.ReportAllocs()
		exec := failsafe.With[int](fsfallback.NewWithResult(2))
		fn := func() (int, error) { return primary(ctx) }
		for b.Loop() {
			sinkInt, sinkErr = exec.Get(fn)
		}
	})
}

// BenchmarkFallbackCache measures a failing primary answered by the
// last-known-good cache (resilience only: the peers have no such cache).
func BenchmarkFallbackCache(b *testing.B) {
	ctx := context.Background()
	primary := func(context.Context) (int, error) { return 0, errBenchPrimary }
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		c := fallback.NewCache[int](fallback.CacheConfig{})
		c.Put("k", 1)
		fb := c.Fallback("k")
		for b.Loop() {
			sinkInt, sinkErr = fallback.Do(ctx, primary, fb)
		}
	})
}
