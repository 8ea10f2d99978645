package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// KeyedLimiter is the method set of a keyed rate limiter that refuses with
// an error: RateLimiter has it, and so does a local keyed limiter with
// Allow(key) and Wait(ctx, key) (the ratelimit package's Group), so code
// written against KeyedLimiter takes either, and moving from a per-replica
// limit to a fleet-wide one is a change of constructor.
type KeyedLimiter interface {
	Allow(key string) error
	Wait(ctx context.Context, key string) error
}

var _ KeyedLimiter = (*RateLimiter)(nil)

// ErrRateLimited is matched (with errors.Is) by every refusal of a
// RateLimiter. The error returned is a *RateLimitedError.
var ErrRateLimited = errors.New("redis: rate limited")

// RateLimitedError is a refusal: the key has used its rate. It matches
// ErrRateLimited, has ErrorClass "rate_limited" and RetryAfter, the time
// until the same request would be allowed, so retry and errtrack treat it
// like a local limiter's refusal.
type RateLimitedError struct {
	Key   string        // the key that was refused
	After time.Duration // how long until it would be allowed
}

// Error returns "redis: rate limited".
func (e *RateLimitedError) Error() string { return ErrRateLimited.Error() }

// Unwrap returns ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// ErrorClass returns "rate_limited".
func (e *RateLimitedError) ErrorClass() string { return "rate_limited" }

// RetryAfter returns After.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.After }

// RateLimitConfig configures a RateLimiter.
type RateLimitConfig struct {
	// Conn reaches Redis. Conn.Client is required.
	Conn Conn

	// Name is the namespace of the limiter's keys: replicas with the same
	// Name share each key's limit. Required; at most 200 bytes.
	Name string

	// Rate is the fleet-wide rate of each key, in events per second.
	// Required: in (0, 1e6].
	Rate float64

	// Burst is how many events a key may have at once above its rate.
	// Default 1. At most 1e6.
	Burst int

	// Replicas is how many replicas share the limit; it only sets the
	// default FallbackRate. Default 1.
	Replicas int

	// FallbackRate is the rate of each key of the local limiter that
	// decides when Redis cannot: default Rate / Replicas, so that the fleet
	// as a whole keeps about the same rate while Redis is away. Its burst
	// is Burst. At most 1e6.
	FallbackRate float64
}

// maxFallbackKeys bounds the local limiters kept for Redis outages: past
// it, the map starts afresh.
const maxFallbackKeys = 10000

// RateLimiter is a fleet-wide keyed rate limiter: a GCRA (generic cell rate
// algorithm) run by one Lua script in Redis, so each decision is one round
// trip, with Redis's clock (replicas' clocks may differ). A key's state is
// one string, its theoretical arrival time, expiring as soon as the key
// would be fully rested. When Redis does not answer within Conn.Timeout,
// the decision is made by a local limiter of FallbackRate and the failure
// is reported to Conn.OnError. It is safe for concurrent use and has no
// goroutine.
type RateLimiter struct {
	conn       Conn
	prefix     string
	intervalUs int64 // µs between events at Rate
	burst      int

	fbRate rate.Limit
	mu     sync.Mutex
	local  map[string]*rate.Limiter

	allowed, limited, fallbacks atomic.Uint64
}

// RateLimitStats is a snapshot of a RateLimiter.
type RateLimitStats struct {
	Allowed, Limited uint64 // decisions, however made
	Fallbacks        uint64 // decisions made locally because Redis failed
}

// NewRateLimiter returns a RateLimiter for cfg, or an error naming the
// invalid field.
func NewRateLimiter(cfg RateLimitConfig) (*RateLimiter, error) {
	conn, err := cfg.Conn.check("RateLimitConfig")
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Name == "" || len(cfg.Name) > 200:
		return nil, fmt.Errorf("redis: RateLimitConfig.Name must have 1 to 200 bytes, got %d", len(cfg.Name))
	case !(cfg.Rate > 0 && cfg.Rate <= 1e6):
		return nil, fmt.Errorf("redis: RateLimitConfig.Rate must be in (0, 1e6], got %v", cfg.Rate)
	case cfg.Burst < 0 || cfg.Burst > 1e6:
		return nil, fmt.Errorf("redis: RateLimitConfig.Burst must be in [0, 1e6], got %d", cfg.Burst)
	case cfg.Replicas < 0:
		return nil, fmt.Errorf("redis: RateLimitConfig.Replicas must be ≥ 0, got %d", cfg.Replicas)
	case !(cfg.FallbackRate >= 0 && cfg.FallbackRate <= 1e6):
		return nil, fmt.Errorf("redis: RateLimitConfig.FallbackRate must be in [0, 1e6], got %v", cfg.FallbackRate)
	}
	burst := max(cfg.Burst, 1)
	fb := cfg.FallbackRate
	if fb == 0 {
		fb = cfg.Rate / float64(max(cfg.Replicas, 1))
	}
	return &RateLimiter{
		conn:       conn,
		prefix:     conn.Prefix + ":rate:{" + cfg.Name + "}:",
		intervalUs: max(1, int64(math.Round(1e6/cfg.Rate))),
		burst:      burst,
		fbRate:     rate.Limit(fb),
		local:      make(map[string]*rate.Limiter),
	}, nil
}

// gcraScript: KEYS the key; ARGV µs per event, burst, n. Returns {1, 0}
// when allowed, {0, µs until it would be} when not.
var gcraScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + n * interval
local allow_at = new_tat - tonumber(ARGV[2]) * interval
if allow_at > now then return {0, allow_at - now} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, 0}`)

// ErrBurstExceeded is returned by AllowN and WaitN for an n above Burst:
// such a request can never be allowed.
var ErrBurstExceeded = errors.New("redis: n exceeds the limiter's Burst")

// Allow reports whether one event of key may happen now: nil, or a
// *RateLimitedError.
func (l *RateLimiter) Allow(key string) error {
	return l.AllowN(context.Background(), key, 1)
}

// AllowN reports whether n events of key may happen now: nil (they are
// counted), a *RateLimitedError, ErrBurstExceeded, or ctx's error if ctx
// has ended. The decision takes one Redis round trip, bounded by
// Conn.Timeout and ctx; past them it is made locally.
func (l *RateLimiter) AllowN(ctx context.Context, key string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	if n > l.burst {
		return ErrBurstExceeded
	}
	after, err := l.decide(ctx, key, n)
	if err != nil {
		after = l.decideLocal(key, n)
	}
	if after > 0 {
		l.limited.Add(1)
		return &RateLimitedError{Key: key, After: after}
	}
	l.allowed.Add(1)
	return nil
}

func (l *RateLimiter) decide(ctx context.Context, key string, n int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.conn.Timeout)
	defer cancel()
	v, err := gcraScript.Run(ctx, l.conn.Client, []string{l.key(key)}, l.intervalUs, l.burst, n).Int64Slice()
	if err == nil && len(v) != 2 {
		err = fmt.Errorf("redis: rate limit script returned %d values", len(v))
	}
	if l.conn.fail("ratelimit.allow", err) {
		return 0, err
	}
	if v[0] == 1 {
		return 0, nil
	}
	return time.Duration(v[1]) * time.Microsecond, nil
}

// key returns the Redis key of a user's key; long keys are hashed, so a
// hostile key cannot make Redis keys of any size.
func (l *RateLimiter) key(k string) string {
	if len(k) > 256 {
		h := fnv.New64a()
		h.Write([]byte(k))
		k = "#" + strconv.FormatUint(h.Sum64(), 16)
	}
	return l.prefix + k
}

// decideLocal decides with the local limiter of key: 0 or the wait.
func (l *RateLimiter) decideLocal(key string, n int) time.Duration {
	l.fallbacks.Add(1)
	l.mu.Lock()
	lim := l.local[key]
	if lim == nil {
		if len(l.local) >= maxFallbackKeys {
			clear(l.local)
		}
		lim = rate.NewLimiter(l.fbRate, l.burst)
		l.local[key] = lim
	}
	l.mu.Unlock()
	now := time.Now()
	r := lim.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Wait blocks until one event of key may happen, or ctx ends.
func (l *RateLimiter) Wait(ctx context.Context, key string) error {
	return l.WaitN(ctx, key, 1)
}

// WaitN blocks until n events of key may happen (and counts them), or ctx
// ends: it returns ctx's error, or at once the *RateLimitedError if the
// wait would outlast ctx's deadline.
func (l *RateLimiter) WaitN(ctx context.Context, key string, n int) error {
	for {
		err := l.AllowN(ctx, key, n)
		var rl *RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < rl.After {
			return err
		}
		t := time.NewTimer(rl.After)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Stats returns a snapshot of the limiter's counters.
func (l *RateLimiter) Stats() RateLimitStats {
	return RateLimitStats{Allowed: l.allowed.Load(), Limited: l.limited.Load(), Fallbacks: l.fallbacks.Load()}
}
