package hedge

import (
	"context"
	"time"
)

// Observer receives a Policy's events. Any number of observers may be
// attached through Policy.Observers, next to OnHedge; each sees every
// event, in slice order. Observe runs synchronously, outside any lock, on
// the goroutine that caused the event; it must be quick and must not panic.
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
	// EventHedge: hedge number Attempt starts, Delay after the call began.
	EventHedge EventKind = iota + 1
	// EventRefused: the Budget refused hedge number Attempt.
	EventRefused
)

// String returns "hedge" or "refused".
func (k EventKind) String() string {
	switch k {
	case EventHedge:
		return "hedge"
	case EventRefused:
		return "refused"
	}
	return "unknown"
}

// Event is one observable hedging event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the context of the call of Do.
	Ctx context.Context
	// Attempt is 2 for the first hedge, 3 for the next...
	Attempt int
	// Delay is the hedging delay the call used.
	Delay time.Duration
}
