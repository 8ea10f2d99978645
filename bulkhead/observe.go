package bulkhead

import (
	"context"
	"time"
)

// Observer receives a Bulkhead's events. Any number of observers may be
// attached through Config.Observers; each sees every event, in slice order.
// Observe runs synchronously on the caller's goroutine, outside any lock;
// it must be quick and must not panic.
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
	// EventAcquire: a caller got a slot, at once (Wait 0) or after
	// waiting Wait in the queue.
	EventAcquire EventKind = iota + 1
	// EventReject: a caller was refused with Err (ErrFull at once, or
	// ErrQueueTimeout after waiting Wait), or left the queue because its
	// context ended (Err is then the context's error).
	EventReject
)

// String returns "acquire" or "reject".
func (k EventKind) String() string {
	switch k {
	case EventAcquire:
		return "acquire"
	case EventReject:
		return "reject"
	}
	return "unknown"
}

// Event is one observable bulkhead event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the caller's context (nil for TryAcquire), so that a trace or
	// request id can be read from it.
	Ctx context.Context
	// Wait is how long the caller waited in the queue (0 when it did not
	// queue).
	Wait time.Duration
	// Err is the rejection of an EventReject.
	Err error
}

// acquireObserved is Acquire with observers: the same steps, each
// reported, and the clock read only when the caller has to queue.
func (b *Bulkhead) acquireObserved(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		b.canceled.Add(1)
		notify(b.obs, Event{Kind: EventReject, Ctx: ctx, Err: err})
		return err
	}
	if b.state.Add(1) <= b.max { // as Acquire: a slot was free, nobody queued
		b.count()
		notify(b.obs, Event{Kind: EventAcquire, Ctx: ctx})
		return nil
	}
	b.Release() // take the claim back
	start := time.Now()
	err := b.acquireSlow(ctx)
	e := Event{Kind: EventAcquire, Ctx: ctx, Wait: time.Since(start), Err: err}
	if err != nil {
		e.Kind = EventReject
	}
	notify(b.obs, e)
	return err
}

// tryAcquireObserved is TryAcquire with observers.
func (b *Bulkhead) tryAcquireObserved() bool {
	if b.state.Add(1) <= b.max {
		b.count()
		notify(b.obs, Event{Kind: EventAcquire})
		return true
	}
	b.Release()
	b.rejected.Add(1)
	notify(b.obs, Event{Kind: EventReject, Err: &b.full})
	return false
}
