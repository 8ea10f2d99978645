package bulkhead

import (
	"errors"
	"time"
)

var (
	// ErrFull is matched (errors.Is) by the error of a caller rejected at
	// once because every slot and queue place was taken.
	//
	// Both rejections, ErrFull and ErrQueueTimeout, are returned as an
	// error that unwraps to the sentinel, has ErrorClass() "bulkhead_full"
	// and a RetryAfter() hint: the bulkhead's QueueTimeout, within which
	// every caller queued at the rejection has got its slot or given up,
	// so the queue has turned over (0, no hint, when QueueTimeout is
	// NoQueueTimeout). Reach the hint with errors.As to
	// interface{ RetryAfter() time.Duration }.
	ErrFull = errors.New("bulkhead: full")

	// ErrQueueTimeout is matched (errors.Is) by the error of a caller that
	// waited QueueTimeout in the queue without getting a slot.
	ErrQueueTimeout = errors.New("bulkhead: queue timeout")
)

// rejectedError is the error of a rejected call (see ErrFull). Each
// Bulkhead returns the same two values again and again, so a rejection
// does not allocate; the type is immutable.
type rejectedError struct {
	queueTimeout bool // else: full
	retryAfter   time.Duration
}

// Error returns the message of the wrapped sentinel.
func (e *rejectedError) Error() string { return e.Unwrap().Error() }

// Unwrap returns ErrFull or ErrQueueTimeout.
func (e *rejectedError) Unwrap() error {
	if e.queueTimeout {
		return ErrQueueTimeout
	}
	return ErrFull
}

// ErrorClass returns "bulkhead_full".
func (e *rejectedError) ErrorClass() string { return "bulkhead_full" }

// RetryAfter returns the bulkhead's QueueTimeout, or 0 (see ErrFull).
func (e *rejectedError) RetryAfter() time.Duration { return e.retryAfter }
