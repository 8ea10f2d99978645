package middleware

import (
	"github.com/seed94f50169/resilience/breaker"
)

// Observer receives a Recovery's events: the same ones its Hooks see, and
// a few more (EventTimeout, EventRequest). Any number of observers may be
// attached through Recovery.Observers, next to Hooks; each sees every event,
// in slice order, after the matching hook. Observe runs synchronously on the
// goroutine of the call it describes (EventStateChange: wherever the breaker
// reports the change), outside any lock; it must be quick, must not panic,
// and must not keep Event.Request nor read its body.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// EventKind says what an Event reports. The zero value, EventUnknown, is
// what the hooks of Hooks receive only from code that builds Events itself.
type EventKind uint8

const (
	// EventUnknown is the zero EventKind.
	EventUnknown EventKind = iota
	// EventAttempt: an attempt ran (Do, Transport), with its Duration and
	// its Err (nil on success) and, for Transport, the response's Status.
	EventAttempt
	// EventRetry: attempt Attempt is about to start after Delay, chosen for
	// Reason, because of Err.
	EventRetry
	// EventReject: the rate limit, the throttle, the breaker, the bulkhead
	// or the adaptive limit refused an attempt, or Handler shed a request
	// (Status then is the status sent: 429 or 503).
	EventReject
	// EventStateChange: a per-host breaker (Host) moved From → To.
	EventStateChange
	// EventFallback: Do turned to its fallbacks because of Err; Step is the
	// fallback that served (1 for the first), 0 if none did.
	EventFallback
	// EventPanic: Handler recovered a panic (Err is the *PanicError).
	EventPanic
	// EventTimeout: the per-attempt Timeout or the Total budget (Scope "" or
	// "total") cut an attempt short.
	EventTimeout
	// EventRequest: Handler finished a request with Status after Duration
	// (shed and panicked requests included).
	EventRequest
	// EventExhausted: retry gave up after Attempt attempts; Err is the
	// *retry.ExhaustedError.
	EventExhausted
)

// String returns the kind's snake_case name ("attempt", "retry",
// "reject", "state_change", "fallback", "panic", "timeout", "request",
// "exhausted"; "unknown" for EventUnknown).
func (k EventKind) String() string {
	switch k {
	case EventAttempt:
		return "attempt"
	case EventRetry:
		return "retry"
	case EventReject:
		return "reject"
	case EventStateChange:
		return "state_change"
	case EventFallback:
		return "fallback"
	case EventPanic:
		return "panic"
	case EventTimeout:
		return "timeout"
	case EventRequest:
		return "request"
	case EventExhausted:
		return "exhausted"
	}
	return "unknown"
}

// observed reports whether anyone but the Hooks listens.
func (r *Recovery) observed() bool { return len(r.Observers) != 0 }

// notify hands e to every observer, in order.
func (r *Recovery) notify(e Event) {
	for _, o := range r.Observers {
		o.Observe(e)
	}
}

// stateObserver adapts the observers to a breaker.Group's OnStateChange.
func (r *Recovery) stateChange(host string, from, to breaker.State) {
	if f := r.Hooks.OnStateChange; f != nil {
		f(host, from, to)
	}
	r.notify(Event{Kind: EventStateChange, Host: host, From: from, To: to})
}
