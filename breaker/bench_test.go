package breaker

import (
	"context"
	"testing"
	"time"
)

func BenchmarkAllowDone(b *testing.B) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"count-window", Config{FailureRateThreshold: 0.5}},
		{"time-window", Config{FailureRateThreshold: 0.5, WindowDuration: 10 * time.Second}},
		{"slow-calls", Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5}},
		{"stuck-after", Config{StuckAfter: time.Second}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			br := New(c.cfg)
			b.ReportAllocs()
			for b.Loop() {
				p, err := br.Allow()
				if err != nil {
					b.Fatal(err)
				}
				p.Done(nil)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			br := New(c.cfg)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p, err := br.Allow()
					if err != nil {
						b.Fatal(err)
					}
					p.Done(nil)
				}
			})
		})
	}
}

func BenchmarkRejected(b *testing.B) {
	b.Run("forced", func(b *testing.B) {
		br := New(Config{})
		br.ForceOpen()
		benchRejected(b, br)
	})
	b.Run("tripped", func(b *testing.B) {
		br := New(Config{FailureThreshold: 1, OpenTimeout: time.Hour})
		if p, err := br.Allow(); err == nil {
			p.Done(errBoom)
		}
		benchRejected(b, br)
	})
}

func benchRejected(b *testing.B, br *Breaker) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Allow(); err == nil {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkDo(b *testing.B) {
	br := New(Config{})
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Do(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}
