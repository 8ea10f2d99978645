package limit

import (
	"errors"
	"time"
)

var (
	// ErrLimitExceeded is matched (errors.Is) by the error of a caller
	// rejected at once because the limit was reached and the queue was
	// full or off.
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

// RejectedError is the error of a rejected call. It wraps ErrLimitExceeded
// or ErrQueueTimeout, has ErrorClass "limit_exceeded", and carries a
// RetryAfter hint. Each Limiter returns the same two values again and
// again, so a rejection does not allocate; the hint is read when asked.
type RejectedError struct {
	l            *Limiter
	queueTimeout bool // else: limit exceeded
}

// Error returns the message of the wrapped sentinel.
func (e *RejectedError) Error() string { return e.Unwrap().Error() }

// Unwrap returns ErrLimitExceeded or ErrQueueTimeout.
func (e *RejectedError) Unwrap() error {
	if e.queueTimeout {
		return ErrQueueTimeout
	}
	return ErrLimitExceeded
}

// ErrorClass returns "limit_exceeded".
func (e *RejectedError) ErrorClass() string { return "limit_exceeded" }

// RetryAfter is a coarse hint of when trying again makes sense: the mean
// RTT of the limiter's last window when asked (a slot frees within about
// one RTT), at least 1ms and at most 1 minute. It is 1ms before the first
// window closes, and 0 for the rejections of a zero Limiter.
func (e *RejectedError) RetryAfter() time.Duration {
	if e.l == nil {
		return 0
	}
	return time.Duration(e.l.retryAfter.Load())
}
