package limit

import (
	"context"
	"time"
)

// Observer receives a Limiter's events. Any number of observers may be
// attached through Config.Observers, next to OnLimitChange; each sees every
// event, in slice order. Observe runs synchronously on the caller's
// goroutine, outside any lock; it must be quick and must not panic.
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
	// EventAcquire: a caller got a token, at once (Wait 0) or after
	// waiting Wait in the queue.
	EventAcquire EventKind = iota + 1
	// EventReject: a caller was refused with Err, at once or after
	// waiting Wait in the queue.
	EventReject
	// EventLimitChange: the limit moved from From to To.
	EventLimitChange
)

// String returns "acquire", "reject" or "limit_change".
func (k EventKind) String() string {
	switch k {
	case EventAcquire:
		return "acquire"
	case EventReject:
		return "reject"
	case EventLimitChange:
		return "limit_change"
	}
	return "unknown"
}

// Event is one observable limiter event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the caller's context for EventAcquire and EventReject (nil
	// for EventLimitChange).
	Ctx context.Context
	// Wait is how long the caller waited in the queue (0 when it did not
	// queue).
	Wait time.Duration
	// Err is the rejection of an EventReject.
	Err error
	// From and To are the old and new limit of an EventLimitChange.
	From, To int
}

// acquireObserved is Acquire with observers: a free slot is taken as
// Acquire takes it, and the clock is read only when the caller may have to
// queue.
func (l *Limiter) acquireObserved(ctx context.Context) (Token, error) {
	if ctx.Err() == nil {
		if s := l.state.Load(); s&admitMask < l.limit.Load() {
			if n := s + 1 + seqOne; l.state.CompareAndSwap(s, n) {
				t := l.token(uint16(n >> 48))
				notify(l.obs, Event{Kind: EventAcquire, Ctx: ctx})
				return t, nil
			}
		}
	}
	start := time.Now()
	t, err := l.acquire(ctx)
	e := Event{Kind: EventAcquire, Ctx: ctx, Wait: time.Since(start), Err: err}
	if err != nil {
		e.Kind = EventReject
	}
	notify(l.obs, e)
	return t, err
}
