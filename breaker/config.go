package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Config configures a Breaker. The zero Config is valid: every zero field
// means the default written in its comment.
type Config struct {
	// FailureThreshold is the number of consecutive failures in the closed
	// state that open the breaker. Default 5. A negative value disables the
	// consecutive rule (use it with a rate rule). At most 1<<20.
	FailureThreshold int

	// SuccessThreshold is the number of consecutive half-open successes that
	// close the breaker. Default 2. At most 1<<20.
	SuccessThreshold int

	// OpenTimeout is how long the breaker stays open before the next call may
	// probe the backend in half-open. Default 60s. At most 1<<60 ns (36 years).
	OpenTimeout time.Duration

	// OpenTimeoutJitter, in [0, 1], lengthens each open period by a uniform
	// random fraction of OpenTimeout: the period lies in
	// [OpenTimeout, OpenTimeout·(1+OpenTimeoutJitter)], so breakers that opened
	// together do not all probe at the same instant. Default 0 (no jitter).
	OpenTimeoutJitter float64

	// HalfOpenMaxCalls is how many probes may run at once in half-open; the
	// rest are rejected with ErrTooManyCalls. Default 1. At most 1<<20.
	HalfOpenMaxCalls int

	// ProbeTimeout bounds how long half-open waits for lost probes: when every
	// probe slot is taken and no probe was admitted for ProbeTimeout, the
	// outstanding probes are abandoned (their outcomes become stale) and the
	// caller gets a fresh slot. Default OpenTimeout.
	ProbeTimeout time.Duration

	// ProbeGate, if set, is asked outside any lock before each half-open
	// probe goes ahead, once a probe slot is free: false rejects the call
	// with ErrTooManyCalls (counted as Rejected) and frees the slot again.
	// It lets replicas sharing a backend elect one prober between them.
	// Default nil: every free slot probes. It is never called in the closed
	// or open state.
	ProbeGate func() bool

	// IsIgnored reports whether a non-nil error is neither a success nor a
	// failure: it changes no state and counts as Ignored. It is consulted
	// before IsFailure. Default: errors.Is(err, context.Canceled), so a
	// caller that gives up does not trip the breaker on a healthy backend.
	IsIgnored func(err error) bool

	// IsFailure reports whether a non-nil, non-ignored error is a failure;
	// false means success (the backend answered). A nil error is always a
	// success. Default: every such error is a failure.
	IsFailure func(err error) bool

	// OnStateChange, if set, is called after every state change, outside
	// any lock. Calls for different transitions may run concurrently.
	OnStateChange func(from, to State)

	// OnReject, if set, is called for every rejected call with the error the
	// caller gets (it matches ErrOpen or ErrTooManyCalls), outside any lock.
	OnReject func(err error)

	// Observers, if any, receive every state change and rejection, after
	// OnStateChange and OnReject (see Observer). Default none: the breaker
	// then builds no events. The slice is copied by New.
	Observers []Observer

	// WindowSize selects a count-based sliding window over the last
	// WindowSize calls for the rate rules. Default 100 when a rate threshold
	// is set and WindowDuration is zero. At most 1<<20.
	WindowSize int

	// WindowDuration selects a time-based sliding window for the rate rules:
	// outcomes of roughly the last WindowDuration, kept in 10 buckets of
	// WindowDuration/10 (the window spans the current bucket and the 9
	// before it). Mutually exclusive with WindowSize. At most 1<<60 ns.
	WindowDuration time.Duration

	// MinimumCalls is how many calls the window must hold before a rate rule
	// may trip. Default 10, or WindowSize if that is smaller. At most 1<<20,
	// and with a count-based window at most its WindowSize (default 100).
	MinimumCalls int

	// FailureRateThreshold, in [0, 1], opens the breaker when the failure
	// rate in the window reaches it. Default 0 (rule off).
	FailureRateThreshold float64

	// SlowCallDuration marks calls that took at least this long as slow
	// (counted in Stats.SlowCalls). Default 0 (no slow-call detection, and
	// no clock read on the success path). At most 1<<60 ns.
	SlowCallDuration time.Duration

	// SlowCallRateThreshold, in [0, 1], opens the breaker when the rate of
	// slow calls in the window reaches it. Needs SlowCallDuration. Default 0
	// (rule off).
	SlowCallRateThreshold float64

	// StuckAfter, when set, counts a call still in flight StuckAfter after
	// it was admitted as a failure at the next call to Allow, before that
	// call is admitted: a backend that accepts calls and never answers
	// opens the breaker once StuckAfter has passed, instead of once every
	// hung call has timed out. Such a call counts once in the state, as a
	// failure of the generation it was admitted in: it adds one to the
	// consecutive failures (closed), goes into the window as a failure,
	// slow if it has been in flight for SlowCallDuration, or ends its
	// half-open probe as a failed one. Its outcome, when Done finally
	// runs, counts in the Stats totals only (see Stats.Stuck). Default 0
	// (off: no clock read and no lock on the success path). At most 1<<60
	// ns. At most 512 calls in flight at once are watched, in a table of
	// 8 KiB per breaker (per key, in a Group).
	StuckAfter time.Duration
}

const (
	maxCount    = 1 << 20
	maxDuration = time.Duration(1 << 60)
	buckets     = 10
)

// Validate reports the first invalid field of c, in an error whose message
// names it ("breaker: OpenTimeout ..."). Zero fields are valid defaults.
func (c Config) Validate() error {
	counts := []struct {
		name string
		v    int
		min  int
	}{
		{"FailureThreshold", c.FailureThreshold, math.MinInt},
		{"SuccessThreshold", c.SuccessThreshold, 0},
		{"HalfOpenMaxCalls", c.HalfOpenMaxCalls, 0},
		{"WindowSize", c.WindowSize, 0},
		{"MinimumCalls", c.MinimumCalls, 0},
	}
	for _, f := range counts {
		if f.v < f.min || f.v > maxCount {
			return fmt.Errorf("breaker: %s must be in [%d, %d], got %d", f.name, max(f.min, 0), maxCount, f.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{
		{"OpenTimeout", c.OpenTimeout},
		{"ProbeTimeout", c.ProbeTimeout},
		{"WindowDuration", c.WindowDuration},
		{"SlowCallDuration", c.SlowCallDuration},
		{"StuckAfter", c.StuckAfter},
	}
	for _, f := range durs {
		if f.v < 0 || f.v > maxDuration {
			return fmt.Errorf("breaker: %s must be in [0, %v], got %v", f.name, maxDuration, f.v)
		}
	}
	rates := []struct {
		name string
		v    float64
	}{
		{"OpenTimeoutJitter", c.OpenTimeoutJitter},
		{"FailureRateThreshold", c.FailureRateThreshold},
		{"SlowCallRateThreshold", c.SlowCallRateThreshold},
	}
	for _, f := range rates {
		if !(f.v >= 0 && f.v <= 1) {
			return fmt.Errorf("breaker: %s must be in [0, 1], got %v", f.name, f.v)
		}
	}
	if c.WindowSize > 0 && c.WindowDuration > 0 {
		return errors.New("breaker: WindowSize and WindowDuration are mutually exclusive")
	}
	if c.SlowCallRateThreshold > 0 && c.SlowCallDuration == 0 {
		return errors.New("breaker: SlowCallRateThreshold needs SlowCallDuration")
	}
	// Against the window the breaker will have, WindowSize's default
	// included: a window that can never hold MinimumCalls calls never trips.
	if n := c.withDefaults().WindowSize; n > 0 && c.MinimumCalls > n {
		return fmt.Errorf("breaker: MinimumCalls (%d) must not exceed WindowSize (%d)", c.MinimumCalls, n)
	}
	return nil
}

// withDefaults returns c with zero fields replaced by their defaults. c must
// be valid.
func (c Config) withDefaults() Config {
	if c.FailureThreshold == 0 {
		c.FailureThreshold = 5
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = 2
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = 60 * time.Second
	}
	if c.HalfOpenMaxCalls == 0 {
		c.HalfOpenMaxCalls = 1
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = c.OpenTimeout
	}
	if c.IsIgnored == nil {
		c.IsIgnored = isCanceled
	}
	c.Observers = slices.Clone(c.Observers)
	rated := c.FailureRateThreshold > 0 || c.SlowCallRateThreshold > 0
	if rated && c.WindowSize == 0 && c.WindowDuration == 0 {
		c.WindowSize = 100
	}
	if c.MinimumCalls == 0 {
		c.MinimumCalls = 10
		if c.WindowSize > 0 {
			c.MinimumCalls = min(10, c.WindowSize)
		}
	}
	return c
}

func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }
