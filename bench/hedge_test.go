package bench

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"

	"github.com/seed94f50169/resilience/hedge"
)

// One hedge at most, after a fixed 10ms or after the p95 of recent
// latencies. The operation succeeds at once, so no hedge is ever sent and
// the figures are each library's overhead on the common path.

type hedgeCase struct {
	name  string
	setup func(ctx context.Context) func() (int, error)
}

var hedgeCases = []hedgeCase{
	{"resilience/fixed", func(ctx context.Context) func() (int, error) {
		p := &hedge.Policy{Delay: 10 * time.Millisecond}
		return func() (int, error) { return hedge.Do(ctx, p, succeedCtx) }
	}},
	{"failsafe/fixed", func(ctx context.Context) func() (int, error) {
		exec := failsafe.With(hedgepolicy.NewWithDelay[int](10 * time.Millisecond)).WithContext(ctx)
		return func() (int, error) { return exec.Get(succeed) }
	}},
	{"resilience/p95", func(ctx context.Context) func() (int, error) {
		p := &hedge.Policy{Quantile: 0.95}
		return func() (int, error) { return hedge.Do(ctx, p, succeedCtx) }
	}},
	{"failsafe/p95", func(ctx context.Context) func() (int, error) {
		exec := failsafe.With(hedgepolicy.NewWithDelayQuantile[int](0.95, 1000, 200)).WithContext(ctx)
		return func() (int, error) { return exec.Get(succeed) }
	}},
}

func BenchmarkHedgeFirstSucceeds(b *testing.B) {
	for _, c := range hedgeCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			call := c.setup(context.Background())
			n := 0
			for b.Loop() {
				v, err := call()
				if err != nil {
					b.Fatal(err)
				}
				n += v
			}
			sinkInt = n
		})
	}
}

func BenchmarkHedgeFirstSucceedsParallel(b *testing.B) {
	for _, c := range hedgeCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			call := c.setup(context.Background())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
