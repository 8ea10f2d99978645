package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// Config configures a Limiter. The zero Config is valid: every zero field
// means the default written in its comment.
type Config struct {
	// Rate is the sustained rate, in events per second; tokens refill at
	// this rate. Default DefaultRate (10). math.Inf(1) means no limit. Otherwise in
	// (0, 1e9].
	Rate float64

	// Burst is the bucket's size: how many events may happen at once after
	// a quiet period. Default Rate rounded up, at least 1. In [0, 1<<30].
	// Ignored when Rate is infinite.
	Burst int

	// MaxWait bounds how long Wait (and Do) may wait for a token: a caller
	// who would have to wait longer is refused at once with an error
	// matching ErrLimited whose RetryAfter says how long it would have
	// been. Default 0: no bound but the caller's context deadline. In
	// [0, 1<<60 ns].
	MaxWait time.Duration

	// OnReject, if set, is called for every refused event with the error
	// the caller gets (it matches ErrLimited), outside any lock.
	OnReject func(err error)

	// Observers, if any, receive every refusal and every wait for a token,
	// after OnReject (see Observer). Default none.
	Observers []Observer
}

// DefaultRate is the default Config.Rate, in events per second.
const DefaultRate = 10

const (
	maxRate     = 1e9
	maxBurst    = 1 << 30
	maxDuration = time.Duration(1 << 60)
)

// Validate reports the first invalid field of c, in an error whose message
// names it ("ratelimit: Rate ..."). Zero fields are valid defaults.
func (c Config) Validate() error { return c.validate("") }

// validate is Validate with the fields named after prefix, so that a
// GroupConfig names them "Config.Rate".
func (c Config) validate(prefix string) error {
	if !(c.Rate >= 0 && c.Rate <= maxRate) && !math.IsInf(c.Rate, 1) {
		return fmt.Errorf("ratelimit: %sRate must be in [0, %g] or +Inf, got %v", prefix, float64(maxRate), c.Rate)
	}
	if c.Burst < 0 || c.Burst > maxBurst {
		return fmt.Errorf("ratelimit: %sBurst must be in [0, %d], got %d", prefix, maxBurst, c.Burst)
	}
	if c.MaxWait < 0 || c.MaxWait > maxDuration {
		return fmt.Errorf("ratelimit: %sMaxWait must be in [0, %v], got %v", prefix, maxDuration, c.MaxWait)
	}
	return nil
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = int(max(1, math.Ceil(min(c.Rate, maxBurst))))
	}
	return c
}
