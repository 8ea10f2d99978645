package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Config configures a Throttle. The zero Config is valid: every zero field
// means the default written in its comment.
type Config struct {
	// K is the multiplier of accepts in the rejection formula: the client
	// sends up to K requests for each one the backend accepts before it
	// starts rejecting locally. Lower is more aggressive. Default DefaultK
	// (2, the SRE book's choice). In [1, 1e6].
	K float64

	// Window is the span of history the counts cover. Default
	// DefaultWindow (2 minutes).
	// Each bucket (Window/Buckets) must be at least 1ms; at most 1<<60 ns.
	Window time.Duration

	// Buckets is the number of slices the window is kept in: the counts of
	// the oldest slice are dropped as a new one starts, every
	// Window/Buckets. Default DefaultBuckets (10: 12s slices). In [1, 1000].
	Buckets int

	// MaxRejectionRate, in [0, 1], caps the rejection probability so that
	// some requests always reach the backend and can see it recover.
	// Default DefaultMaxRejectionRate (0.9). A value of 1 lets the throttle reject every request once
	// the backend accepts none (it still counts them, so the probability
	// falls only as old buckets expire).
	MaxRejectionRate float64

	// Seed, when non-zero, makes the rejection draws reproducible: draw n
	// is a fixed function of Seed and n, so a throttle fed the same calls
	// in the same order rejects the same ones. Zero means fresh randomness
	// from math/rand/v2. Meant for tests and simulations.
	Seed uint64

	// IsIgnored reports whether a non-nil error says nothing about the
	// backend: the request counts neither as a request nor as an accept.
	// It is consulted before IsAccepted. Default: errors.Is(err,
	// context.Canceled), the caller gave up.
	IsIgnored func(err error) bool

	// IsAccepted reports whether a non-nil, non-ignored error still means
	// the backend accepted the request (it answered, with a failure of its
	// own). A nil error is always an accept. Default: every error except an
	// overload signal: an error with StatusCode() 429 or 503, a timeout
	// (context.DeadlineExceeded, Timeout() true), or an ErrorClass() of
	// "timeout", "rate_limit", "rate_limited" or "service_unavailable",
	// anywhere in its chain.
	IsAccepted func(err error) bool

	// OnReject, if set, is called for every rejected request with the
	// error the caller gets (it matches ErrThrottled), outside any lock.
	OnReject func(err error)

	// Observers, if any, receive every rejection, after OnReject (see
	// Observer). Default none.
	Observers []Observer
}

// The defaults of the Config fields.
const (
	DefaultK                = 2
	DefaultWindow           = 2 * time.Minute
	DefaultBuckets          = 10
	DefaultMaxRejectionRate = 0.9
)

const (
	maxK        = 1e6
	maxBuckets  = 1000
	maxDuration = time.Duration(1 << 60)
	minWidth    = time.Millisecond
)

// Validate reports the first invalid field of c, in an error whose message
// names it ("throttle: Window ..."). Zero fields are valid defaults.
func (c Config) Validate() error {
	if c.K != 0 && !(c.K >= 1 && c.K <= maxK) {
		return fmt.Errorf("throttle: K must be in [1, %g], got %v", float64(maxK), c.K)
	}
	if c.Buckets < 0 || c.Buckets > maxBuckets {
		return fmt.Errorf("throttle: Buckets must be in [0, %d], got %d", maxBuckets, c.Buckets)
	}
	if c.Window < 0 || c.Window > maxDuration {
		return fmt.Errorf("throttle: Window must be in [0, %v], got %v", maxDuration, c.Window)
	}
	if d := c.withDefaults(); d.Window/time.Duration(d.Buckets) < minWidth {
		return fmt.Errorf("throttle: Window must give each of its %d buckets at least %v, got %v", d.Buckets, minWidth, d.Window)
	}
	if !(c.MaxRejectionRate >= 0 && c.MaxRejectionRate <= 1) {
		return fmt.Errorf("throttle: MaxRejectionRate must be in [0, 1], got %v", c.MaxRejectionRate)
	}
	return nil
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.K == 0 {
		c.K = DefaultK
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Buckets == 0 {
		c.Buckets = DefaultBuckets
	}
	if c.MaxRejectionRate == 0 {
		c.MaxRejectionRate = DefaultMaxRejectionRate
	}
	if c.IsIgnored == nil {
		c.IsIgnored = isCanceled
	}
	if c.IsAccepted == nil {
		c.IsAccepted = IsAccepted
	}
	return c
}

func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }

// IsAccepted is the default Config.IsAccepted: it reports false for an
// overload signal anywhere in err's chain (StatusCode() 429 or 503, a
// timeout, an ErrorClass() of "timeout", "rate_limit", "rate_limited" or
// "service_unavailable") and true for every other error. It allocates
// nothing and walks at most 64 errors of a tree.
func IsAccepted(err error) bool {
	budget := maxWalk
	return !overloaded(err, &budget)
}

const maxWalk = 64

// overloaded walks err's tree depth first, visiting at most *budget errors.
func overloaded(err error, budget *int) bool {
	for err != nil && *budget > 0 {
		*budget--
		if signalsOverload(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if overloaded(e, budget) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

func signalsOverload(err error) bool {
	if err == context.DeadlineExceeded {
		return true
	}
	if e, ok := err.(interface{ StatusCode() int }); ok {
		if c := e.StatusCode(); c == 429 || c == 503 {
			return true
		}
	}
	if e, ok := err.(interface{ Timeout() bool }); ok && e.Timeout() {
		return true
	}
	if e, ok := err.(interface{ ErrorClass() string }); ok {
		switch e.ErrorClass() {
		case "timeout", "rate_limit", "rate_limited", "service_unavailable":
			return true
		}
	}
	return false
}
