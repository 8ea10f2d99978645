package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
)

// errCounter counts the Redis failures reported through Conn.OnError.
type errCounter struct{ n atomic.Int64 }

func (e *errCounter) hook(string, error) { e.n.Add(1) }

// Redis killed mid-run: calls keep their local behaviour (no call fails
// because of Redis), a replica that trips while Redis is down still opens
// locally, and once Redis is back its open state reaches the others.
func TestBreakerRedisKilled(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	var ec errCounter
	f := newFleet(t, c, 3, "killed", func(cfg *BreakerConfig) {
		cfg.Conn.OnError = ec.hook
		cfg.Breaker.OpenTimeout = 3 * time.Second
	})
	waitSubscribed(t, c, f.sb[0].channel, 3)

	srv.kill()
	for i, r := range f.rec {
		for range 20 {
			if err := up.call(t.Context(), r); err != nil {
				t.Fatalf("replica %d with Redis down: %v", i, err)
			}
		}
	}
	up.failing.Store(true)
	start := time.Now()
	for range 5 {
		up.call(t.Context(), f.rec[0])
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("5 calls took %v with Redis down: Redis held them", d)
	}
	if got := f.sb[0].Breaker().State(); got != breaker.Open {
		t.Fatalf("tripping replica with Redis down: %v, want open", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for ec.n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if ec.n.Load() == 0 {
		t.Fatal("no Redis failure reported through OnError")
	}
	if got := f.sb[1].Breaker().State(); got != breaker.Closed {
		t.Fatalf("replica 1 followed without Redis: %v", got)
	}

	srv.restart()
	f.waitAll(t, breaker.Open, 1500*time.Millisecond)
	if f.sb[0].Stats().Published == 0 {
		t.Fatal("the open state was never published")
	}
}

// Redis paused (SIGSTOP): every Redis operation times out; no call waits
// longer than Conn.Timeout for it, none fails because of it, and the fleet
// converges after SIGCONT.
func TestBreakerRedisPaused(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	var ec errCounter
	f := newFleet(t, c, 3, "paused", func(cfg *BreakerConfig) {
		cfg.Conn.OnError = ec.hook
		cfg.Breaker.OpenTimeout = 300 * time.Millisecond
	})
	waitSubscribed(t, c, f.sb[0].channel, 3)

	srv.pause()
	up.failing.Store(true)
	for _, r := range f.rec { // every replica trips on its own
		for range 5 {
			up.call(t.Context(), r)
		}
	}
	f.waitAll(t, breaker.Open, 100*time.Millisecond)
	up.failing.Store(false)
	time.Sleep(350 * time.Millisecond)
	// Half-open: the probe lease cannot be had; each replica probes for
	// itself after at most Conn.Timeout, and its call succeeds.
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for i, r := range f.rec {
		wg.Go(func() {
			start := time.Now()
			for range 3 {
				if err := up.call(context.Background(), r); err != nil && !errors.Is(err, breaker.ErrTooManyCalls) {
					t.Errorf("replica %d with Redis paused: %v", i, err)
				}
			}
			d := time.Since(start)
			for {
				old := slowest.Load()
				if int64(d) <= old || slowest.CompareAndSwap(old, int64(d)) {
					break
				}
			}
		})
	}
	wg.Wait()
	if d := time.Duration(slowest.Load()); d > 400*time.Millisecond {
		t.Fatalf("3 calls took %v with Redis paused, want ≤ 400ms", d)
	}
	f.waitAll(t, breaker.Closed, time.Second)
	if ec.n.Load() == 0 {
		t.Fatal("no Redis failure reported")
	}
	srv.resume()

	// After SIGCONT the fleet shares again.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && c.Ping(t.Context()).Err() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	waitSubscribed(t, c, f.sb[0].channel, 3)
	// Commands the replicas sent while Redis was paused (they timed out on
	// their side) run now, late and perhaps out of order: none of them may
	// hide the next opening from the fleet.
	up.failing.Store(true)
	for range 5 {
		up.call(t.Context(), f.rec[2])
	}
	f.waitAll(t, breaker.Open, time.Second)
}
