package timeout

import (
	"context"
	"testing"
	"time"
)

// parents are the contexts the benchmarks run under: none that can end,
// and a live cancellable one, as a request's context is.
func parents(b *testing.B) []struct {
	name string
	ctx  context.Context
} {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", ctx}}
}

// fns are the functions timed: one that returns at once, and one that
// looks at ctx.Done first (as anything that can block does).
var fns = []struct {
	name string
	fn   func(context.Context) (int, error)
}{
	{"fast", func(context.Context) (int, error) { return 1, nil }},
	{"done", func(ctx context.Context) (int, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
			return 1, nil
		}
	}},
}

func BenchmarkDo(b *testing.B) {
	for _, p := range parents(b) {
		for _, f := range fns {
			b.Run(p.name+"/"+f.name+"/Do", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Do(p.ctx, time.Second, f.fn); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(p.name+"/"+f.name+"/WithTimeout", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ctx, cancel := context.WithTimeout(p.ctx, time.Second)
					_, err := f.fn(ctx)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
