package fallback

import "context"

// Observer receives fallback events. Do has no object to attach observers
// to, so they travel in the context: WithObserver returns a context whose
// calls of Do report to the observer. Any number may be attached; each
// sees every event. Observe runs synchronously on the caller's goroutine;
// it must be quick and must not panic. Looking observers up costs nothing
// when the primary function succeeds.
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
	// EventServed: fallback number Step (1 for the first) served the call
	// after the step before it failed with Err.
	EventServed EventKind = iota + 1
	// EventFailed: every step failed; Err is the error Do returns.
	EventFailed
)

// String returns "served" or "failed".
func (k EventKind) String() string {
	switch k {
	case EventServed:
		return "served"
	case EventFailed:
		return "failed"
	}
	return "unknown"
}

// Event is one observable fallback event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Ctx is the caller's context.
	Ctx context.Context
	// Step is the fallback that served (1 for the first), or how many were
	// tried (EventFailed).
	Step int
	// Err is the error of the step before Step, or Do's error.
	Err error
}

type observersKey struct{}

// WithObserver returns a copy of ctx that reports fallbacks to o as well as
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
