package bench

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/go-kratos/aegis/ratelimit"
	"github.com/go-kratos/aegis/ratelimit/bbr"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/limit"
)

// The limit benchmarks run one admitted call (take a slot, report a
// success) through each adaptive limiter, with our static bulkhead as the
// floor: an adaptive limiter does the bulkhead's work plus measuring.
// Every limiter is left at its defaults; none of them rejects here.

type limiterCase struct {
	name string
	call func(context.Context) error
}

func limiterPeers(b *testing.B) []limiterCase {
	l := limit.New(limit.Config{})
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 20})
	fs := adaptivelimiter.NewWithDefaults[any]()
	bb := bbr.NewLimiter()
	return []limiterCase{
		{"resilience", func(ctx context.Context) error {
			t, err := l.Acquire(ctx)
			t.Done(nil)
			return err
		}},
		{"resilience-bulkhead", func(ctx context.Context) error {
			err := bh.Acquire(ctx)
			if err == nil {
				bh.Release()
			}
			return err
		}},
		{"failsafe-go", func(ctx context.Context) error {
			p, err := fs.AcquirePermit(ctx)
			if err == nil {
				p.Record()
			}
			return err
		}},
		{"aegis-bbr", func(context.Context) error {
			done, err := bb.Allow()
			if err == nil {
				done(ratelimit.DoneInfo{})
			}
			return err
		}},
	}
}

// BenchmarkLimitAcquireDone: one admitted call, serially.
func BenchmarkLimitAcquireDone(b *testing.B) {
	ctx := context.Background()
	for _, p := range limiterPeers(b) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLimitAcquireDoneParallel: every P calls through the same
// limiter; below the initial limit of 20, nobody is rejected.
func BenchmarkLimitAcquireDoneParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range limiterPeers(b) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := p.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLimitDo: a whole call through each library's wrapper.
func BenchmarkLimitDo(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.Run("resilience", func(b *testing.B) {
		l := limit.New(limit.Config{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := limit.Do(ctx, l, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe-go", func(b *testing.B) {
		ex := failsafe.With(adaptivelimiter.NewWithDefaults[int]())
		get := func() (int, error) { return 1, nil }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ex.Get(get); err != nil {
				b.Fatal(err)
			}
		}
	})
}
