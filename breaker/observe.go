package breaker

import "time"

// Observer receives a Breaker's events. Any number of observers may be
// attached through Config.Observers, next to the Config's own OnStateChange
// and OnReject hooks: each sees every event, in slice order, after the hooks.
// Observe runs synchronously, outside any lock, on the goroutine that caused
// the event; it must be quick, must not panic, and must not keep the Event's
// error beyond the call if that error could be large.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventStateChange: the breaker moved from From to To.
	EventStateChange EventKind = iota + 1
	// EventReject: a call was refused with Err (it matches ErrOpen or
	// ErrTooManyCalls).
	EventReject
)

// String returns "state_change" or "reject".
func (k EventKind) String() string {
	switch k {
	case EventStateChange:
		return "state_change"
	case EventReject:
		return "reject"
	}
	return "unknown"
}

// Event is one observable breaker event. It is passed by value and costs no
// allocation.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// From and To are the states of an EventStateChange; for an
	// EventReject, both are the state that refused the call.
	From, To State
	// Err is the rejection of an EventReject (nil otherwise).
	Err error
	// RetryAfter is, for a rejection while open, the time left until the
	// breaker may half-open.
	RetryAfter time.Duration
	// Key is the key of a Group's breaker ("" for one made by New).
	Key string
}

// notify hands e to every observer. Callers check len(obs) first so that a
// breaker without observers builds no Event.
func notify(obs []Observer, e Event) {
	for _, o := range obs {
		o.Observe(e)
	}
}

// observeReject reports a rejection with err to the observers.
func (b *Breaker) observeReject(err error) {
	s := State(b.word.Load() & stateMask)
	e := Event{Kind: EventReject, From: s, To: s, Err: err}
	if r, ok := err.(interface{ RetryAfter() time.Duration }); ok {
		e.RetryAfter = r.RetryAfter()
	}
	notify(b.cfg.Observers, e)
}

// keyed returns observers that set Event.Key to key before passing each
// event on, for a Group's breaker.
func keyed(key string, obs []Observer) []Observer {
	if len(obs) == 0 {
		return nil
	}
	out := make([]Observer, len(obs))
	for i, o := range obs {
		out[i] = ObserverFunc(func(e Event) {
			e.Key = key
			o.Observe(e)
		})
	}
	return out
}
