package ratelimit

import (
	"time"

	"golang.org/x/time/rate"
)

// ErrLimited is matched (with errors.Is) by every refusal of a Limiter or
// Group. The error returned also has ErrorClass() string, "rate_limited",
// and RetryAfter() time.Duration.
var ErrLimited error = &sentinel{"ratelimit: rate limited"}

type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }

// ErrorClass returns "rate_limited".
func (e *sentinel) ErrorClass() string { return "rate_limited" }

// LimitedError is the error of a refused event. It matches ErrLimited with
// errors.Is.
type LimitedError struct {
	lim   *rate.Limiter // set for Allow's refusals: RetryAfter is computed when asked
	after time.Duration // Wait's refusals: the delay of the reservation refused
}

// Error returns "ratelimit: rate limited".
func (e *LimitedError) Error() string { return ErrLimited.Error() }

// Unwrap returns ErrLimited.
func (e *LimitedError) Unwrap() error { return ErrLimited }

// ErrorClass returns "rate_limited".
func (e *LimitedError) ErrorClass() string { return "rate_limited" }

// RetryAfter returns how long the caller should wait before trying again.
// For a refusal by Wait it is the delay of the reservation that was refused
// (and cancelled). For a refusal by Allow it is computed when called: the
// time the bucket needs to refill the token it lacks, which is the delay a
// reservation made now would have; each Limiter keeps one such error, so
// Allow's refusals allocate nothing.
func (e *LimitedError) RetryAfter() time.Duration {
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
