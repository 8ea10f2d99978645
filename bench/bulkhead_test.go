package bench

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"golang.org/x/sync/semaphore"

	"github.com/seed94f50169/resilience/bulkhead"
)

// permits is the acquire/release shape every library below offers.
type permits struct {
	name    string
	acquire func(context.Context) error
	release func()
}

func bulkheadPeers(limit int) []permits {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: limit})
	sem := semaphore.NewWeighted(int64(limit))
	fs := fsbulkhead.New[any](uint(limit))
	return []permits{
		{"resilience", b.Acquire, b.Release},
		{"x-sync-semaphore", func(ctx context.Context) error { return sem.Acquire(ctx, 1) }, func() { sem.Release(1) }},
		{"failsafe-go", fs.AcquirePermit, fs.ReleasePermit},
	}
}

// BenchmarkBulkheadAcquireRelease: one uncontended acquire and release.
func BenchmarkBulkheadAcquireRelease(b *testing.B) {
	ctx := context.Background()
	for _, p := range bulkheadPeers(10) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.acquire(ctx); err != nil {
					b.Fatal(err)
				}
				p.release()
			}
		})
	}
}

// BenchmarkBulkheadAcquireReleaseParallel: every P acquires and releases
// the same bulkhead; with 10 slots nobody has to wait.
func BenchmarkBulkheadAcquireReleaseParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range bulkheadPeers(10) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := p.acquire(ctx); err != nil {
						b.Error(err)
						return
					}
					p.release()
				}
			})
		})
	}
}

// BenchmarkBulkheadContended: one slot shared by every P, so callers queue.
func BenchmarkBulkheadContended(b *testing.B) {
	ctx := context.Background()
	for _, p := range bulkheadPeers(1) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := p.acquire(ctx); err != nil {
						b.Error(err)
						return
					}
					p.release()
				}
			})
		})
	}
}

// BenchmarkBulkheadDo: a whole call through each library's wrapper.
func BenchmarkBulkheadDo(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.Run("resilience", func(b *testing.B) {
		bh := bulkhead.New(bulkhead.Config{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bulkhead.Do(ctx, bh, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe-go", func(b *testing.B) {
		ex := failsafe.With(fsbulkhead.New[int](10))
		get := func() (int, error) { return 1, nil }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ex.Get(get); err != nil {
				b.Fatal(err)
			}
		}
	})
}
