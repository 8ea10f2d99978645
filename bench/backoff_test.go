package bench

import (
	"testing"
	"time"

	cenkalti "github.com/cenkalti/backoff/v5"

	"github.com/seed94f50169/resilience/backoff"
)

// Both sides use cenkalti's defaults: 500ms, ×1.5, max 60s, ±50% jitter,
// and walk the first eight delays of the schedule.
var benchPolicy = backoff.Policy{
	Initial:      500 * time.Millisecond,
	Multiplier:   1.5,
	Max:          60 * time.Second,
	Jitter:       backoff.SpreadJitter,
	JitterFactor: 0.5,
}

var sinkDuration time.Duration

func BenchmarkBackoffDelay(b *testing.B) {
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		p := benchPolicy
		var d time.Duration
		for i := 0; b.Loop(); i++ {
			d += p.Delay(i&7 + 1)
		}
		sinkDuration = d
	})
	b.Run("resilience-sequence", func(b *testing.B) {
		b.ReportAllocs()
		s := benchPolicy.Sequence()
		var d time.Duration
		for i := 0; b.Loop(); i++ {
			if i&7 == 0 {
				s.Reset()
			}
			d += s.Next()
		}
		sinkDuration = d
	})
	b.Run("cenkalti", func(b *testing.B) {
		b.ReportAllocs()
		e := cenkalti.NewExponentialBackOff()
		var d time.Duration
		for i := 0; b.Loop(); i++ {
			if i&7 == 0 {
				e.Reset()
			}
			d += e.NextBackOff()
		}
		sinkDuration = d
	})
}

// The pforge schedule, resilience's defaults: 100ms, ×2, max 5s, ±25%.
func BenchmarkBackoffDelayPforge(b *testing.B) {
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		p := backoff.Policy{Jitter: backoff.SpreadJitter}
		var d time.Duration
		for i := 0; b.Loop(); i++ {
			d += p.Delay(i&7 + 1)
		}
		sinkDuration = d
	})
	b.Run("cenkalti", func(b *testing.B) {
		b.ReportAllocs()
		e := cenkalti.NewExponentialBackOff()
		e.InitialInterval, e.Multiplier, e.MaxInterval, e.RandomizationFactor = 100*time.Millisecond, 2, 5*time.Second, 0.25
		var d time.Duration
		for i := 0; b.Loop(); i++ {
			if i&7 == 0 {
				e.Reset()
			}
			d += e.NextBackOff()
		}
		sinkDuration = d
	})
}

func BenchmarkBackoffDelayParallel(b *testing.B) {
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		p := benchPolicy // one policy shared by every goroutine
		b.RunParallel(func(pb *testing.PB) {
			var d time.Duration
			for i := 0; pb.Next(); i++ {
				d += p.Delay(i&7 + 1)
			}
			_ = d
		})
	})
	b.Run("cenkalti", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			e := cenkalti.NewExponentialBackOff() // not safe to share
			var d time.Duration
			for i := 0; pb.Next(); i++ {
				if i&7 == 0 {
					e.Reset()
				}
				d += e.NextBackOff()
			}
			_ = d
		})
	})
}
