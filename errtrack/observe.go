package errtrack

import "time"

// Observer receives a Tracker's events. Any number of observers may be
// attached through Config.Observers; each sees every event, in slice order.
// Observe runs synchronously on the goroutine that called Track, outside
// any lock; it must be quick and must not panic.
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
	// EventTrack: Err was tracked as Class.
	EventTrack EventKind = iota + 1
)

// String returns "track".
func (k EventKind) String() string {
	if k == EventTrack {
		return "track"
	}
	return "unknown"
}

// Event is one observable tracker event, passed by value.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Class is the class the error was given.
	Class Class
	// Err is the tracked error.
	Err error
	// Time is when it was tracked.
	Time time.Time
}

// observe reports a tracked error to the observers, outside the lock.
func (t *Tracker) observe(err error, class *Class, at time.Duration) {
	notify(t.cfg.Observers, Event{Kind: EventTrack, Class: *class, Err: err, Time: t.epoch.Add(at)})
}
