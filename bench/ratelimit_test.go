package bench

import (
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"golang.org/x/time/rate"

	"github.com/seed94f50169/resilience/ratelimit"
)

// The rate limit benchmarks take one event through each limiter on two
// paths: allowed (a rate far above the benchmark's, so the bucket never
// empties) and refused (a bucket emptied first, at one event an hour).
// "x/time/rate" is the bare rate.Limiter.Allow that ratelimit wraps: the
// target is ratelimit within 1.1× of it.

type rateCase struct {
	name string
	new  func(allowed bool) func() bool
}

var rateCases = []rateCase{
	{"x/time/rate", func(allowed bool) func() bool {
		l := rate.NewLimiter(1e9, 1<<30)
		if !allowed {
			l = rate.NewLimiter(rate.Every(time.Hour), 1)
			l.Allow()
		}
		return l.Allow
	}},
	{"resilience", func(allowed bool) func() bool {
		l := ratelimit.New(ratelimit.Config{Rate: 1e9, Burst: 1 << 30})
		if !allowed {
			l = ratelimit.New(ratelimit.Config{Rate: 1.0 / 3600, Burst: 1})
			l.Allow()
		}
		return func() bool { return l.Allow() == nil }
	}},
	{"resilience-group", func(allowed bool) func() bool {
		cfg := ratelimit.Config{Rate: 1e9, Burst: 1 << 30}
		if !allowed {
			cfg = ratelimit.Config{Rate: 1.0 / 3600, Burst: 1}
		}
		g := ratelimit.NewGroup(ratelimit.GroupConfig{Config: cfg})
		g.Allow("client")
		return func() bool { return g.Allow("client") == nil }
	}},
	{"failsafe-go", func(allowed bool) func() bool {
		l := ratelimiter.NewBursty[any](1<<30, time.Second)
		if !allowed {
			l = ratelimiter.NewBursty[any](1, time.Hour)
			l.TryAcquirePermit()
		}
		return l.TryAcquirePermit
	}},
}

func BenchmarkRateLimitAllowed(b *testing.B) {
	for _, c := range rateCases {
		b.Run(c.name, func(b *testing.B) {
			allow := c.new(true)
			b.ReportAllocs()
			for b.Loop() {
				if !allow() {
					b.Fatal("refused")
				}
			}
		})
	}
}

func BenchmarkRateLimitAllowedParallel(b *testing.B) {
	for _, c := range rateCases {
		b.Run(c.name, func(b *testing.B) {
			allow := c.new(true)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !allow() {
						b.Error("refused")
						return
					}
				}
			})
		})
	}
}

func BenchmarkRateLimitRefused(b *testing.B) {
	for _, c := range rateCases {
		b.Run(c.name, func(b *testing.B) {
			allow := c.new(false)
			b.ReportAllocs()
			for b.Loop() {
				if allow() {
					b.Fatal("allowed")
				}
			}
		})
	}
}
