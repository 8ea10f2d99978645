package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
)

var (
	// ErrStatus matches every *StatusError.
	ErrStatus = errors.New("middleware: failure status")
	// ErrPanic matches every *PanicError.
	ErrPanic = errors.New("middleware: handler panicked")
)

// StatusError is a response whose status Recovery.FailureStatus counts as a
// failure (by default 429 and 5xx). Transport hands it to the breaker, the
// retry policy and the tracker; the caller of RoundTrip gets the response
// itself instead, unless its context ended meanwhile (the error returned
// then wraps this one). Handler tracks one for every request that ends with
// such a status.
//
// StatusError implements StatusCode and RetryAfter, so errtrack classifies
// it by status (429 as rate_limit, 502 to 504 as service_unavailable...) and
// retry honours the server's Retry-After.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Wait is the delay the response's Retry-After header asked for, already
	// bounded by Recovery.MaxRetryAfter; zero if absent or invalid.
	Wait time.Duration

	resp *http.Response // the response, held by Transport until it is returned or discarded
}

// Error returns "middleware: status 503 Service Unavailable".
func (e *StatusError) Error() string {
	return fmt.Sprintf("middleware: status %d %s", e.Code, http.StatusText(e.Code))
}

// Is reports whether target is ErrStatus.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// StatusCode returns the HTTP status code.
func (e *StatusError) StatusCode() int { return e.Code }

// RetryAfter returns the delay the server asked for (zero if none).
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// PanicError is a panic recovered by Handler.
type PanicError struct {
	// Value is the value the handler panicked with.
	Value any
	// Stack is the panicking goroutine's stack trace.
	Stack []byte
}

// Error returns "middleware: handler panicked: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrPanic, e.Value) }

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// ErrorClass returns "panic", [errtrack.Panic].
func (e *PanicError) ErrorClass() string { return string(errtrack.Panic) }

// Unwrap returns the panic value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ParseRetryAfter parses an HTTP Retry-After value: delay-seconds ("120")
// or an HTTP-date, read against now. It returns the delay, clamped to
// [0, limit], and whether v was valid. A date in the past is a zero delay; a
// delay longer than limit, however many digits it has, is limit. Anything
// else (empty, negative, fractional, signs, trailing garbage, over 64 bytes)
// is invalid and returns (0, false). A non-positive limit means
// DefaultMaxRetryAfter.
func ParseRetryAfter(v string, now time.Time, limit time.Duration) (time.Duration, bool) {
	if limit <= 0 {
		limit = DefaultMaxRetryAfter
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0, false
	}
	if '0' <= v[0] && v[0] <= '9' { // every HTTP-date starts with a day name
		most := int64(limit / time.Second) // more seconds than this are clamped
		var secs int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if secs <= most {
				secs = secs*10 + int64(c-'0')
			}
		}
		if secs > most {
			return limit, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now) // saturates instead of overflowing
	return min(max(d, 0), limit), true
}
