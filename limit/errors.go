package limit

import (
	"errors"
	"time"
)

var (
	// ErrLimitExceeded is matched (errors.Is) by the error of a caller
	// rejected at once because the limit was reached and the queue was
	// full or off.
	//
	// Both rejections, ErrLimitExceeded and ErrQueueTimeout, are returned
	// as an error that unwraps to the sentinel, has ErrorClass()
	// "limit_exceeded" and a RetryAfter() hint: the mean RTT of the
	// limiter's last window when asked (a slot frees within about one
	// RTT), at least 1ms and at most 1 minute; 1ms before the first window
	// closes, and 0 for the rejections of a zero Limiter. Reach the hint
	// with errors.As to interface{ RetryAfter() time.Duration }.
	ErrLimitExceeded = errors.New("limit: limit exceeded")

	// ErrQueueTimeout is matched (errors.Is) by the error of a caller that
	// waited MaxWait in the queue without getting a slot.
	ErrQueueTimeout = errors.New("limit: queue timeout")
)

// The RetryAfter hint of rejections lies in [minRetryAfter, maxRetryAfter].
const (
	minRetryAfter = time.Millisecond
	maxRetryAfter = time.Minute
)

// rejectedError is the error of a rejected call (see ErrLimitExceeded).
// Each Limiter returns the same two values again and again, so a rejection
// does not allocate; the hint is read when asked.
type rejectedError struct {
	l            *Limiter
	queueTimeout bool // else: limit exceeded
}

// Error returns the message of the wrapped sentinel.
func (e *rejectedError) Error() string { return e.Unwrap().Error() }

// Unwrap returns ErrLimitExceeded or ErrQueueTimeout.
func (e *rejectedError) Unwrap() error {
	if e.queueTimeout {
		return ErrQueueTimeout
	}
	return ErrLimitExceeded
}

// ErrorClass returns "limit_exceeded".
func (e *rejectedError) ErrorClass() string { return "limit_exceeded" }

// RetryAfter returns the limiter's hint now (see ErrLimitExceeded).
func (e *rejectedError) RetryAfter() time.Duration {
	if e.l == nil {
		return 0
	}
	return time.Duration(e.l.retryAfter.Load())
}
