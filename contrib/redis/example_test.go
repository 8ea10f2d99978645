package redis_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/contrib/redis"
)

// Fail local: with Redis unreachable, a RateLimiter decides with its local
// fallback (Rate / Replicas) and reports the failure; no decision waits
// more than Conn.Timeout.
func ExampleRateLimiter_failLocal() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	failures := 0
	lim, err := redis.NewRateLimiter(redis.RateLimitConfig{
		Conn:     redis.Conn{Client: client, Timeout: 20 * time.Millisecond, OnError: func(string, error) { failures++ }},
		Name:     "api",
		Rate:     100, // per second, for the whole fleet
		Burst:    2,
		Replicas: 100, // so 1 per second for this replica while Redis is away
	})
	if err != nil {
		panic(err)
	}
	for range 3 {
		err := lim.Allow("tenant-42")
		var rl *redis.RateLimitedError
		if errors.As(err, &rl) {
			fmt.Println(rl.ErrorClass(), rl.RetryAfter() > 0)
		} else {
			fmt.Println(err)
		}
	}
	fmt.Println("Redis failures reported:", failures, "fallbacks:", lim.Stats().Fallbacks)
	// Output:
	// <nil>
	// <nil>
	// rate_limited true
	// Redis failures reported: 3 fallbacks: 3
}

// A SharedBreaker is used like any breaker, through Breaker(). Here Redis is
// unreachable: the local breaker still trips and rejects on its own.
func ExampleSharedBreaker() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	sb, err := redis.NewBreaker(redis.BreakerConfig{
		Conn:    redis.Conn{Client: client, Timeout: 20 * time.Millisecond},
		Name:    "payments",
		Breaker: breaker.Config{FailureThreshold: 2},
	})
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	down := errors.New("payments: 503")
	for range 3 {
		err := sb.Breaker().Do(context.Background(), func(context.Context) error { return down })
		fmt.Println(err)
	}
	fmt.Println(sb.Breaker().State())
	// Output:
	// payments: 503
	// payments: 503
	// breaker: open
	// open
}
