package redis

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// counter is a go-redis hook that counts the commands sent (a pipeline
// counts once: one round trip).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (c *counter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// sharedRecovery returns a Recovery whose breaker and retry budget are
// shared through c, with background round trips made rare, and the hook
// that counts round trips.
func sharedRecovery(tb testing.TB, srv *server) (*middleware.Recovery, *counter) {
	c := srv.client(tb)
	var cnt counter
	c.AddHook(&cnt)
	sb, err := NewBreaker(BreakerConfig{Conn: Conn{Client: c}, Name: "hot", PollInterval: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sb.Close() })
	bud, err := NewBudget(BudgetConfig{Conn: Conn{Client: c}, Name: "hot", Window: 10 * time.Minute, FlushInterval: 10 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bud.Close() })
	return &middleware.Recovery{Breaker: sb.Breaker(), Retry: &retry.Policy{Budget: bud.Budget()}}, &cnt
}

func localRecovery() *middleware.Recovery {
	return &middleware.Recovery{Breaker: breaker.New(breaker.Config{}), Retry: &retry.Policy{Budget: retry.NewBudget(retry.BudgetConfig{})}}
}

func succeed(context.Context) (int, error) { return 1, nil }

// The success path with sharing on makes no Redis round trip and
// allocates nothing more than the local one.
func TestSharedHotPathNoRoundTrip(t *testing.T) {
	srv := startServer(t)
	r, cnt := sharedRecovery(t, srv)
	ctx := context.Background()
	middleware.Do(ctx, r, succeed) // let the subscription settle
	time.Sleep(50 * time.Millisecond)
	before := cnt.n.Load()
	allocs := testing.AllocsPerRun(10000, func() { middleware.Do(ctx, r, succeed) })
	if got := cnt.n.Load() - before; got != 0 {
		t.Fatalf("%d Redis round trips for 10000 successful calls, want 0", got)
	}
	lr := localRecovery()
	local := testing.AllocsPerRun(10000, func() { middleware.Do(ctx, lr, succeed) })
	if allocs > local {
		t.Fatalf("%v allocs per shared call, %v local", allocs, local)
	}
}

// BenchmarkHotPath compares a successful call through a Recovery with a
// breaker and a retry budget, local and shared through Redis.
func BenchmarkHotPath(b *testing.B) {
	srv := startServer(b)
	shared, _ := sharedRecovery(b, srv)
	for _, bc := range []struct {
		name string
		r    *middleware.Recovery
	}{{"local", localRecovery()}, {"shared", shared}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				middleware.Do(ctx, bc.r, succeed)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					middleware.Do(ctx, bc.r, succeed)
				}
			})
		})
	}
}

// BenchmarkRateLimitAllow measures one distributed decision: one round
// trip to a loopback Redis, with its p50 and p99 latencies.
func BenchmarkRateLimitAllow(b *testing.B) {
	srv := startServer(b)
	c := srv.client(b)
	var cnt counter
	c.AddHook(&cnt)
	l := newLimiter(b, c, RateLimitConfig{Conn: Conn{Timeout: time.Second}, Name: "bench", Rate: 1e6, Burst: 1000})
	l.Allow("warm")
	lat := make([]time.Duration, 0, 1<<16)
	before := cnt.n.Load()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		start := time.Now()
		l.Allow("k")
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
		n++
	}
	b.ReportMetric(float64(cnt.n.Load()-before)/float64(n), "roundtrips/op")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
