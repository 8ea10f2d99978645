package throttle

// Observer receives a Throttle's events. Any number of observers may be
// attached through Config.Observers, next to OnReject; each sees every
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
	// EventReject: a request was refused locally with Err.
	EventReject EventKind = iota + 1
)

// String returns "reject".
func (k EventKind) String() string {
	if k == EventReject {
		return "reject"
	}
	return "unknown"
}

// Event is one observable throttle event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Err is the rejection (it matches ErrThrottled).
	Err error
	// Probability is the rejection probability the request drew against.
	Probability float64
}
