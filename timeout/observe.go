package timeout

import (
	"context"
	"errors"
	"time"
)

// Observer receives timeout events. timeout has no object to attach
// observers to, so they travel in the context: WithObserver returns a
// context whose timeouts (Do, DoNamed and Pipeline stages run under it)
// are reported to the observer. Any number may be attached; each sees
// every event, innermost attachment last. Observe runs synchronously on
// the caller's goroutine after fn returned; it must be quick and must not
// panic. Looking observers up costs nothing unless a timeout fired.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// observe hands e to every observer, in order.
func observe(obs []Observer, e Event) {
	for _, o := range obs {
		o.Observe(e)
	}
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventTimeout: a scope's deadline cut the call short.
	EventTimeout EventKind = iota + 1
)

// String returns "timeout".
func (k EventKind) String() string {
	if k == EventTimeout {
		return "timeout"
	}
	return "unknown"
}

// Event is one observable timeout, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the context the timed-out call was given (its deadline has
	// passed, its values are the caller's).
	Ctx context.Context
	// Name and Limit are the scope whose deadline fired, as in Error.
	Name  string
	Limit time.Duration
	// Err is the *Error the call returns.
	Err error
}

type observersKey struct{}

// WithObserver returns a copy of ctx that reports timeouts to o as well as
// to the observers ctx already carries.
func WithObserver(ctx context.Context, o Observer) context.Context {
	prev, _ := ctx.Value(observersKey{}).([]Observer)
	obs := make([]Observer, len(prev), len(prev)+1)
	copy(obs, prev)
	return context.WithValue(ctx, observersKey{}, append(obs, o))
}

// observers returns the observers ctx carries.
func observers(ctx context.Context) []Observer {
	obs, _ := ctx.Value(observersKey{}).([]Observer)
	return obs
}

// timedOut reports terr, the *Error a call is about to return after fn
// returned err, to the observers ctx carries, unless an inner scope
// reported it already (err holds it).
func timedOut(ctx context.Context, terr, err error) {
	obs := observers(ctx)
	if len(obs) == 0 {
		return
	}
	var inner *Error
	if errors.As(err, &inner) {
		return
	}
	e := Event{Kind: EventTimeout, Ctx: ctx, Err: terr}
	var te *Error
	if errors.As(terr, &te) {
		e.Name, e.Limit = te.Name, te.Limit
	}
	observe(obs, e)
}
