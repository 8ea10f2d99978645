package breaker

import "time"

// ErrOpen is matched (with errors.Is) by every error returned while the
// breaker is open. The returned error also has RetryAfter() time.Duration,
// the time left until the breaker lets a probe through (0 when forced open
// or already due), and ErrorClass() string, "circuit_open".
var ErrOpen error = &sentinel{"breaker: open"}

// ErrTooManyCalls is returned in half-open when every probe slot is taken.
// Its ErrorClass() is "circuit_open" too: the backend is still on probation.
var ErrTooManyCalls error = &sentinel{"breaker: too many calls in half-open"}

type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }

// ErrorClass returns "circuit_open".
func (e *sentinel) ErrorClass() string { return "circuit_open" }

// openError is the error returned while open. Each Breaker preallocates one,
// so a rejection allocates nothing; RetryAfter is computed when called.
type openError struct{ b *Breaker }

func (e *openError) Error() string      { return ErrOpen.Error() }
func (e *openError) Unwrap() error      { return ErrOpen }
func (e *openError) ErrorClass() string { return "circuit_open" }

// RetryAfter returns the time left until the open period ends, or 0 if it has
// ended, the breaker is no longer open, or it is forced open.
func (e *openError) RetryAfter() time.Duration {
	b := e.b
	if b.word.Load()&stateMask != uint64(Open) {
		return 0
	}
	until := b.openUntil.Load()
	if until == forever {
		return 0
	}
	return max(0, time.Duration(until-b.now()))
}
