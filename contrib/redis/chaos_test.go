package redis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// Three replicas under steady load, each with a shared breaker, a shared
// retry budget and a distributed rate limit, while Redis is killed,
// restarted, paused and resumed: no call fails because of Redis, no rate
// decision waits much more than Conn.Timeout, and afterwards the fleet
// shares again.
func TestChaosMidRun(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	var ec errCounter
	conn := Conn{Client: c, Timeout: 50 * time.Millisecond, OnError: ec.hook}
	f := newFleet(t, c, 3, "chaos", func(cfg *BreakerConfig) { cfg.Conn = conn })
	var lims []*RateLimiter
	for i := range f.rec {
		bud := newBudget(t, c, BudgetConfig{Conn: conn, Name: "chaos", FlushInterval: 20 * time.Millisecond})
		f.rec[i].Retry = &retry.Policy{Budget: bud.Budget()}
		lims = append(lims, newLimiter(t, c, RateLimitConfig{Conn: conn, Name: "chaos", Rate: 1e6, Burst: 1000}))
	}
	waitSubscribed(t, c, f.sb[0].channel, 3)

	stop := make(chan struct{})
	var calls, failures atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	for i, r := range f.rec {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := lims[i].Allow("tenant")
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
				if err == nil {
					err = up.call(context.Background(), r)
				}
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("replica %d: %v", i, err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	step := func(d time.Duration, what string, fn func()) {
		time.Sleep(d)
		t.Logf("%s after %d calls", what, calls.Load())
		fn()
	}
	step(200*time.Millisecond, "kill", srv.kill)
	step(300*time.Millisecond, "restart", srv.restart)
	step(300*time.Millisecond, "pause", srv.pause)
	step(300*time.Millisecond, "resume", srv.resume)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failed, %d Redis failures reported; slowest rate decision %v",
		calls.Load(), failures.Load(), ec.n.Load(), time.Duration(slowest.Load()))
	if ec.n.Load() == 0 {
		t.Fatal("no Redis failure: the faults did not happen")
	}
	if d := time.Duration(slowest.Load()); d > 200*time.Millisecond {
		t.Errorf("a rate decision took %v, want about Conn.Timeout (50ms)", d)
	}

	// Converged: a trip on one replica reaches the others.
	waitSubscribed(t, c, f.sb[0].channel, 3)
	up.failing.Store(true)
	for range 10 {
		up.call(context.Background(), &middleware.Recovery{Breaker: f.sb[1].Breaker()})
	}
	f.waitAll(t, breaker.Open, time.Second)
}
