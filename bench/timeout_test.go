package bench

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/seed94f50169/resilience/timeout"
)

// timeoutPeers returns, per library, one fast call under a 1s limit.
func timeoutPeers() []struct {
	name string
	call func(context.Context) (int, error)
} {
	fn := func(context.Context) (int, error) { return 1, nil }
	fs := failsafe.With(fstimeout.New[int](time.Second))
	fsFn := func(failsafe.Execution[int]) (int, error) { return 1, nil }
	return []struct {
		name string
		call func(context.Context) (int, error)
	}{
		{"resilience", func(ctx context.Context) (int, error) { return timeout.Do(ctx, time.Second, fn) }},
		{"resilience-named", func(ctx context.Context) (int, error) { return timeout.DoNamed(ctx, "step", time.Second, fn) }},
		{"context-WithTimeout", func(ctx context.Context) (int, error) {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return fn(ctx)
		}},
		{"failsafe-go", func(ctx context.Context) (int, error) { return fs.WithContext(ctx).GetWithExecution(fsFn) }},
	}
}

// BenchmarkTimeout: the overhead of a time limit on a call that returns at once.
func BenchmarkTimeout(b *testing.B) {
	ctx := context.Background()
	for _, p := range timeoutPeers() {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTimeoutParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range timeoutPeers() {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
