package ratelimit

import (
	"errors"
	"time"

	"golang.org/x/time/rate"
)

// ErrLimited is matched (with errors.Is) by every refusal of a Limiter or
// Group. The error returned unwraps to it and also has ErrorClass()
// string, "rate_limited", and RetryAfter() time.Duration, reached with
// errors.As to interface{ RetryAfter() time.Duration }: for a refusal by
// Wait, the delay of the reservation that was refused (and cancelled); for
// a refusal by Allow, computed when asked, the time the bucket needs to
// refill the token it lacks (the delay a reservation made now would have).
var ErrLimited = errors.New("ratelimit: rate limited")

// limitedError is the error of a refused event (see ErrLimited).
type limitedError struct {
	lim   *rate.Limiter // set for Allow's refusals: RetryAfter is computed when asked
	after time.Duration // Wait's refusals: the delay of the reservation refused
}

// Error returns "ratelimit: rate limited".
func (e *limitedError) Error() string { return ErrLimited.Error() }

// Unwrap returns ErrLimited.
func (e *limitedError) Unwrap() error { return ErrLimited }

// ErrorClass returns "rate_limited".
func (e *limitedError) ErrorClass() string { return "rate_limited" }

// RetryAfter returns how long the caller should wait before trying again
// (see ErrLimited). Each Limiter keeps one error for Allow's refusals,
// whose hint is computed when asked, so they allocate nothing.
func (e *limitedError) RetryAfter() time.Duration {
	if e.lim == nil {
		return e.after
	}
	return missing(e.lim, time.Now())
}

// missing returns the time lim needs to hold one whole token at now.
func missing(lim *rate.Limiter, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	d := (1 - tokens) / float64(lim.Limit()) * float64(time.Second)
	if !(d < float64(maxDuration)) {
		return maxDuration
	}
	return time.Duration(d)
}
