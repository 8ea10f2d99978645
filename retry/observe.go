package retry

import (
	"context"
	"time"
)

// Observer receives a Policy's events. Any number of observers may be
// attached through Policy.Observers, next to OnRetry; each sees every
// event, in slice order, after OnRetry. Observe runs synchronously on the
// caller's goroutine; it must be quick and must not panic.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// notify hands e to every observer, in order.
func notify(obs []Observer, e Event) {
	for _, o := range obs {
		o.Observe(e)
	}
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventRetry: attempt Attempt failed with Err and Do waits Delay, for
	// Reason, before the next one.
	EventRetry EventKind = iota + 1
	// EventExhausted: Do gives up after Attempt attempts; Err is the
	// *ExhaustedError it returns.
	EventExhausted
)

// String returns "retry" or "exhausted".
func (k EventKind) String() string {
	switch k {
	case EventRetry:
		return "retry"
	case EventExhausted:
		return "exhausted"
	}
	return "unknown"
}

// DelayReason says what chose the wait before a retry.
type DelayReason uint8

const (
	// ReasonBackoff: the backoff schedule's delay.
	ReasonBackoff DelayReason = iota + 1
	// ReasonRetryAfter: the error's RetryAfter() hint, longer than the
	// backoff delay (an HTTP Retry-After, an open breaker).
	ReasonRetryAfter
)

// String returns "backoff" or "retry_after".
func (r DelayReason) String() string {
	switch r {
	case ReasonBackoff:
		return "backoff"
	case ReasonRetryAfter:
		return "retry_after"
	}
	return "unknown"
}

// Event is one observable retry event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the caller's context.
	Ctx context.Context
	// Attempt is the attempt that failed (1 for the first) or, for
	// EventExhausted, how many ran.
	Attempt int
	// Err is the attempt's error, or the *ExhaustedError.
	Err error
	// Delay and Reason are the wait before the next attempt and what
	// chose it (EventRetry only).
	Delay  time.Duration
	Reason DelayReason
}

// exhausted reports an *ExhaustedError that ends Do; other endings (a
// Permanent error, one Retryable refused) are not exhaustion.
func (r *run) exhausted(ctx context.Context, stop error) {
	if ex, ok := stop.(*ExhaustedError); ok {
		notify(r.p.Observers, Event{Kind: EventExhausted, Ctx: ctx, Attempt: ex.Attempts, Err: ex})
	}
}
