package hedge_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/retry"
)

func fast(context.Context) (int, error) { return 1, nil }

func TestFastPathAllocs(t *testing.T) {
	tests := []struct {
		name string
		p    *hedge.Policy
	}{
		{"fixed delay", &hedge.Policy{Delay: time.Second}},
		{"adaptive", &hedge.Policy{}},
		{"with budget", &hedge.Policy{Delay: time.Second, Budget: retry.NewBudget(retry.BudgetConfig{})}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hedge.Do(ctx, tt.p, fast) // makes the pooled timer
			got := testing.AllocsPerRun(1000, func() {
				if _, err := hedge.Do(ctx, tt.p, fast); err != nil {
					t.Fatal(err)
				}
			})
			// The call's state, which is also the first attempt's context.
			if got > 1 {
				t.Errorf("%v allocations per call, want at most 1", got)
			}
			if s := tt.p.Stats(); s.Hedges != 0 {
				t.Errorf("fast calls were hedged: %+v", s)
			}
		})
	}
}

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		p    *hedge.Policy
	}{
		{"fixed", &hedge.Policy{Delay: time.Second}},
		{"adaptive", &hedge.Policy{}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hedge.Do(ctx, bb.p, fast)
			}
		})
		b.Run(bb.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					hedge.Do(ctx, bb.p, fast)
				}
			})
		})
	}
	b.Run("hedged", func(b *testing.B) {
		// The slow path: every call hedges once and the hedge wins.
		p := &hedge.Policy{Delay: time.Microsecond}
		b.ReportAllocs()
		for b.Loop() {
			first := true
			hedge.Do(ctx, p, func(ctx context.Context) (int, error) {
				if first {
					first = false
					<-ctx.Done()
					return 0, ctx.Err()
				}
				return 2, nil
			})
		}
	})
}
