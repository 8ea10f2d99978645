package redis

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func newLimiter(t testing.TB, c goredis.UniversalClient, cfg RateLimitConfig) *RateLimiter {
	t.Helper()
	cfg.Conn.Client = c
	if cfg.Conn.Timeout == 0 {
		cfg.Conn.Timeout = 50 * time.Millisecond
	}
	l, err := NewRateLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRateLimitConfigErrors(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	conn := Conn{Client: c}
	tests := []struct {
		name  string
		cfg   RateLimitConfig
		field string
	}{
		{"no client", RateLimitConfig{Name: "x", Rate: 1}, "Conn.Client"},
		{"no name", RateLimitConfig{Conn: conn, Rate: 1}, "Name"},
		{"no rate", RateLimitConfig{Conn: conn, Name: "x"}, "Rate"},
		{"NaN rate", RateLimitConfig{Conn: conn, Name: "x", Rate: math.NaN()}, "Rate"},
		{"huge rate", RateLimitConfig{Conn: conn, Name: "x", Rate: 1e9}, "Rate"},
		{"negative burst", RateLimitConfig{Conn: conn, Name: "x", Rate: 1, Burst: -1}, "Burst"},
		{"negative replicas", RateLimitConfig{Conn: conn, Name: "x", Rate: 1, Replicas: -1}, "Replicas"},
		{"infinite fallback", RateLimitConfig{Conn: conn, Name: "x", Rate: 1, FallbackRate: math.Inf(1)}, "FallbackRate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRateLimiter(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

// The GCRA's decisions on one key: Burst at once, then one per interval,
// with a RetryAfter that says when.
func TestRateLimitBurstAndRetryAfter(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	l := newLimiter(t, c, RateLimitConfig{Name: "burst", Rate: 10, Burst: 3})
	for i := range 3 {
		if err := l.Allow("k"); err != nil {
			t.Fatalf("event %d of the burst: %v", i, err)
		}
	}
	err := l.Allow("k")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th event: %v, want a *RateLimitedError", err)
	}
	if rl.ErrorClass() != "rate_limited" || rl.RetryAfter() <= 0 || rl.RetryAfter() > 100*time.Millisecond {
		t.Fatalf("class %q RetryAfter %v, want rate_limited and (0, 100ms]", rl.ErrorClass(), rl.RetryAfter())
	}
	if err := l.Allow("other"); err != nil {
		t.Fatalf("another key: %v", err)
	}
	time.Sleep(rl.RetryAfter())
	if err := l.Allow("k"); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
	if err := l.AllowN(t.Context(), "k", 4); !errors.Is(err, ErrBurstExceeded) {
		t.Fatalf("AllowN above Burst: %v", err)
	}
	if ttl := c.PTTL(t.Context(), l.key("k")).Val(); ttl <= 0 || ttl > 400*time.Millisecond {
		t.Fatalf("key PTTL %v, want in (0, 400ms]: the key expires once rested", ttl)
	}
	long := strings.Repeat("x", 10000)
	if err := l.Allow(long); err != nil || len(l.key(long)) > 300 {
		t.Fatalf("long key: %v, Redis key of %d bytes", err, len(l.key(long)))
	}
	if s := l.Stats(); s.Allowed != 6 || s.Limited != 1 || s.Fallbacks != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Four replicas hammering one key for 2s hold the fleet-wide rate within a
// few percent.
func TestRateLimitFleetHoldsGlobalRate(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	// A burst of a quarter second: a caller stalled by the loaded machine
	// for less than that loses no admissions (GCRA banks at most Burst).
	const rate, burst, replicas = 200, 50, 4
	const run = 2 * time.Second
	var lims []*RateLimiter
	for range replicas {
		// A generous timeout: this test is about the rate, not about
		// falling back on a loaded machine.
		lims = append(lims, newLimiter(t, c, RateLimitConfig{Conn: Conn{Timeout: time.Second}, Name: "fleet", Rate: rate, Burst: burst, Replicas: replicas}))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range lims {
		for range 2 {
			wg.Go(func() {
				for time.Since(start) < run {
					l.Allow("tenant")
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	var allowed, limited uint64
	for _, l := range lims {
		s := l.Stats()
		allowed += s.Allowed
		limited += s.Limited
		if s.Fallbacks != 0 {
			t.Fatalf("%d fallbacks with Redis up", s.Fallbacks)
		}
	}
	want := rate*elapsed.Seconds() + burst
	t.Logf("allowed %d of %d decisions in %v; the limit allows %.0f", allowed, allowed+limited, elapsed, want)
	if limited == 0 {
		t.Fatal("nothing was limited: the test did not load the limiter")
	}
	// Never more than the limit (2% for the clocks' edges); a little less
	// when the loaded machine stalls the callers.
	if got := float64(allowed); got > want*1.02 || got < want*0.95 {
		t.Fatalf("allowed %v, want %v (+2%%, -5%%)", got, want)
	}
}

// Redis down or paused: decisions fall back to the local limiter of Rate /
// Replicas within Conn.Timeout, and return to Redis when it is back.
func TestRateLimitFailsLocal(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	var ec errCounter
	l := newLimiter(t, c, RateLimitConfig{Conn: Conn{OnError: ec.hook}, Name: "local", Rate: 4, Burst: 2, Replicas: 4})
	for _, fault := range []struct {
		name       string
		fail, heal func()
	}{
		{"killed", srv.kill, srv.restart},
		{"paused", srv.pause, srv.resume},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.fail()
			before := l.Stats()
			var allowed int
			var slowest time.Duration
			for range 10 {
				start := time.Now()
				if l.Allow("k-"+fault.name) == nil {
					allowed++
				}
				slowest = max(slowest, time.Since(start))
			}
			// Conn.Timeout is 50ms; the rest is slack for a loaded machine.
			if slowest > 150*time.Millisecond {
				t.Fatalf("a decision took %v with Redis %s, want about Conn.Timeout", slowest, fault.name)
			}
			// Local: burst 2 at 1/s, over at most 1.5s.
			if allowed < 2 || allowed > 3 {
				t.Fatalf("allowed %d of 10 locally, want the local burst (2) or so", allowed)
			}
			if got := l.Stats().Fallbacks - before.Fallbacks; got != 10 {
				t.Fatalf("%d fallbacks, want 10", got)
			}
			if ec.n.Load() == 0 {
				t.Fatal("no failure reported")
			}
			fault.heal()
			deadline := time.Now().Add(3 * time.Second)
			for c.Ping(context.Background()).Err() != nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			before = l.Stats()
			l.Allow("fresh-" + fault.name)
			if got := l.Stats().Fallbacks - before.Fallbacks; got != 0 {
				t.Fatal("still deciding locally after Redis returned")
			}
		})
	}
}

func TestRateLimitWait(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	l := newLimiter(t, c, RateLimitConfig{Name: "wait", Rate: 20, Burst: 1})
	start := time.Now()
	for range 3 {
		if err := l.Wait(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("3 waits at 20/s took %v, want ≥ 100ms less the burst", d)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	l.Allow("k")
	if err := l.Wait(ctx, "k"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Wait past the deadline: %v, want ErrRateLimited at once", err)
	}
}
