package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Conn is how a component reaches Redis. Every Config of this package has
// one; components built on the same Conn share the client and the hook.
type Conn struct {
	// Client is the Redis client. Required. A *goredis.Client must either
	// have ContextTimeoutEnabled set or a ReadTimeout and WriteTimeout of at
	// most Timeout: otherwise a slow Redis would hold a call for the client's
	// own timeouts (3 s by default) instead of failing local within Timeout,
	// and the constructors refuse it.
	Client goredis.UniversalClient

	// Prefix starts every key and channel name, followed by ":". Default
	// "resilience".
	Prefix string

	// Timeout bounds every Redis operation: past it the operation counts as
	// failed and the component falls back to its local behaviour. Default
	// 100ms. At most 1 minute.
	Timeout time.Duration

	// OnError, if set, is called for every failed Redis operation, with the
	// operation's name ("breaker.publish", "ratelimit.allow", ...) and the
	// error, when the component falls back to local behaviour. It must not
	// block.
	OnError func(op string, err error)
}

const (
	defaultTimeout = 100 * time.Millisecond
	maxTimeout     = time.Minute
)

// check validates c for a Config named cfgName and returns it with
// defaults applied.
func (c Conn) check(cfgName string) (Conn, error) {
	if c.Client == nil {
		return c, fmt.Errorf("redis: %s.Conn.Client is required", cfgName)
	}
	if c.Timeout < 0 || c.Timeout > maxTimeout {
		return c, fmt.Errorf("redis: %s.Conn.Timeout must be in [0, %v], got %v", cfgName, maxTimeout, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Prefix == "" {
		c.Prefix = "resilience"
	}
	if cl, ok := c.Client.(*goredis.Client); ok {
		o := cl.Options()
		bounded := func(d time.Duration) bool { return d > 0 && d <= c.Timeout }
		if !o.ContextTimeoutEnabled && !(bounded(o.ReadTimeout) && bounded(o.WriteTimeout)) {
			return c, fmt.Errorf("redis: %s.Conn.Client needs ContextTimeoutEnabled, or ReadTimeout and WriteTimeout ≤ Conn.Timeout (%v), so that a slow Redis fails local in time", cfgName, c.Timeout)
		}
	}
	return c, nil
}

// ctx returns a context bounded by the operation timeout.
func (c *Conn) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.Timeout)
}

// fail reports a failed operation; a nil error, or goredis.Nil (an absent
// key is an answer), reports nothing and returns false.
func (c *Conn) fail(op string, err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) {
		return false
	}
	if c.OnError != nil {
		c.OnError(op, err)
	}
	return true
}
