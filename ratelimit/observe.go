package ratelimit

import (
	"context"
	"time"
)

// Observer receives a Limiter's events. Any number of observers may be
// attached through Config.Observers, next to OnReject (GroupConfig.Config's
// observers are shared by every key's limiter); each sees every event, in
// slice order. Observe runs synchronously on the caller's goroutine,
// outside any lock; it must be quick and must not panic.
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
	// EventReject: an event was refused with Err (it matches ErrLimited).
	EventReject EventKind = iota + 1
	// EventWait: Wait (or Do) waited Wait for a token and got it.
	EventWait
)

// String returns "reject" or "wait".
func (k EventKind) String() string {
	switch k {
	case EventReject:
		return "reject"
	case EventWait:
		return "wait"
	}
	return "unknown"
}

// Event is one observable rate-limit event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the caller's context (nil for Allow).
	Ctx context.Context
	// Wait is how long the caller waited for its token (EventWait).
	Wait time.Duration
	// Err is the refusal of an EventReject.
	Err error
}
