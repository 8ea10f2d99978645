package bench

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/seed94f50169/resilience/timeout"
)

// timeoutPeers returns, per library, one call of fn under a 1s limit.
func timeoutPeers(fn func(context.Context) (int, error)) []struct {
	name string
	call func(context.Context) (int, error)
} {
	fs := failsafe.With(fstimeout.New[int](time.Second))
	fsFn := func(e failsafe.Execution[int]) (int, error) { return fn(e.Context()) }
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

// fastFn returns at once, without looking at its context.
func fastFn(context.Context) (int, error) { return 1, nil }

// doneFn looks at ctx.Done first, as anything that can block does (an
// http.Transport, a select on a channel): the context must then be ready
// to end when its parent does.
func doneFn(ctx context.Context) (int, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	default:
		return 1, nil
	}
}

func benchTimeout(b *testing.B, ctx context.Context, fn func(context.Context) (int, error)) {
	for _, p := range timeoutPeers(fn) {
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

func benchTimeoutParallel(b *testing.B, ctx context.Context, fn func(context.Context) (int, error)) {
	for _, p := range timeoutPeers(fn) {
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

// liveParent is a request's context: cancellable, not canceled.
func liveParent(b *testing.B) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkTimeout: the overhead of a time limit on a call that returns at once.
func BenchmarkTimeout(b *testing.B) { benchTimeout(b, context.Background(), fastFn) }

func BenchmarkTimeoutParallel(b *testing.B) {
	benchTimeoutParallel(b, context.Background(), fastFn)
}

// BenchmarkTimeoutDone: the same, for a function that looks at ctx.Done.
func BenchmarkTimeoutDone(b *testing.B) { benchTimeout(b, context.Background(), doneFn) }

// BenchmarkTimeoutLiveParent: under a live cancellable parent.
func BenchmarkTimeoutLiveParent(b *testing.B) { benchTimeout(b, liveParent(b), fastFn) }

func BenchmarkTimeoutLiveParentParallel(b *testing.B) {
	benchTimeoutParallel(b, liveParent(b), fastFn)
}

// BenchmarkTimeoutLiveParentDone: under a live cancellable parent, for a
// function that looks at ctx.Done: the context registers with the parent.
func BenchmarkTimeoutLiveParentDone(b *testing.B) { benchTimeout(b, liveParent(b), doneFn) }
