package throttle

import "errors"

// ErrThrottled is matched (with errors.Is) by every rejection from Allow and
// Do. The error returned unwraps to it and also has ErrorClass() string,
// "throttled", and Probability() float64, the throttle's rejection
// probability when asked, reached with errors.As to
// interface{ Probability() float64 }.
var ErrThrottled = errors.New("throttle: throttled")

// rejectedError is the error of a rejected request (see ErrThrottled).
// Each Throttle keeps one, so a rejection allocates nothing.
type rejectedError struct{ t *Throttle }

// Error returns "throttle: throttled".
func (e *rejectedError) Error() string { return ErrThrottled.Error() }

// Unwrap returns ErrThrottled.
func (e *rejectedError) Unwrap() error { return ErrThrottled }

// ErrorClass returns "throttled".
func (e *rejectedError) ErrorClass() string { return "throttled" }

// Probability returns the throttle's rejection probability now (not the
// one of the draw that rejected the request, which may since have changed).
func (e *rejectedError) Probability() float64 { return e.t.probability() }
