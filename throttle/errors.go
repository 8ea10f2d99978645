package throttle

// ErrThrottled is matched (with errors.Is) by every rejection from Allow and
// Do. The error returned also has ErrorClass() string, "throttled".
var ErrThrottled error = &sentinel{"throttle: throttled"}

type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }

// ErrorClass returns "throttled".
func (e *sentinel) ErrorClass() string { return "throttled" }

// RejectedError is the error of a rejected request. Each Throttle keeps one,
// so a rejection allocates nothing. It matches ErrThrottled with errors.Is.
type RejectedError struct{ t *Throttle }

// Error returns "throttle: throttled".
func (e *RejectedError) Error() string { return ErrThrottled.Error() }

// Unwrap returns ErrThrottled.
func (e *RejectedError) Unwrap() error { return ErrThrottled }

// ErrorClass returns "throttled".
func (e *RejectedError) ErrorClass() string { return "throttled" }

// Probability returns the throttle's rejection probability now (not the
// one of the draw that rejected the request, which may since have changed).
func (e *RejectedError) Probability() float64 { return e.t.probability() }
