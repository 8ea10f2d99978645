package errtrack

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"syscall"
)

// Class names a kind of failure. Any string is a valid Class; the constants
// below are the ones [Classify] returns and the ones the sibling packages
// report through ErrorClass.
type Class string

// Classes of failure.
const (
	Timeout      Class = "timeout"             // a deadline or timeout expired
	Connection   Class = "connection"          // the connection failed: refused, reset, closed early
	RateLimit    Class = "rate_limit"          // the peer throttled the call (HTTP 429)
	Unavailable  Class = "service_unavailable" // the peer is overloaded or down (HTTP 502, 503, 504)
	Validation   Class = "validation"          // the request was rejected (other HTTP 4xx)
	ServerError  Class = "server_error"        // the peer failed (other HTTP 5xx)
	Canceled     Class = "canceled"            // the caller canceled (context.Canceled)
	CircuitOpen  Class = "circuit_open"        // a circuit breaker rejected the call
	BulkheadFull Class = "bulkhead_full"       // a bulkhead rejected the call
	Unknown      Class = "unknown"             // no rule matched
	Other        Class = "other"               // classes beyond MaxClasses, folded together
)

// Classify is the default classifier. It applies the first rule of the
// package documentation's table that matches any error in err's tree (as
// errors.Is walks it), then falls back to message heuristics. It returns ""
// for a nil error and never returns "" otherwise.
func Classify(err error) Class {
	if err == nil {
		return ""
	}
	w := walker{rank: rankMessage}
	w.walk(err)
	if w.rank < rankMessage {
		return w.class
	}
	return classifyMessage(err.Error())
}

// Chain returns a classifier that asks each classifier in turn and returns
// the first non-empty answer; "" means "don't know". When none knows, the
// default [Classify] decides.
func Chain(classifiers ...func(error) Class) func(error) Class {
	return func(err error) Class {
		if err == nil {
			return ""
		}
		for _, c := range classifiers {
			if class := c(err); class != "" {
				return class
			}
		}
		return Classify(err)
	}
}

// Rule ranks, in the order of the package documentation's table.
const (
	rankOwn = iota
	rankContext
	rankNetTimeout
	rankSyscall
	rankNetwork
	rankEOF
	rankStatus
	rankURL
	rankMessage
)

// maxNodes bounds the walk over an error tree, so that a hostile or cyclic
// Unwrap cannot make classification loop forever.
const maxNodes = 64

// walker finds the best-ranked rule matching any error of a tree.
type walker struct {
	rank  int
	class Class
	nodes int
}

func (w *walker) walk(err error) {
	for err != nil && w.rank > rankOwn && w.nodes < maxNodes {
		w.nodes++
		if rank, class := classifyNode(err, w.rank); rank < w.rank {
			w.rank, w.class = rank, class
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				w.walk(e)
			}
			return
		default:
			return
		}
	}
}

// classifyNode returns the best rule ranked below limit that err itself
// matches, ignoring what it wraps.
func classifyNode(err error, limit int) (int, Class) {
	if e, ok := err.(interface{ ErrorClass() string }); ok {
		if c := e.ErrorClass(); c != "" {
			return rankOwn, Class(c)
		}
	}
	if limit <= rankContext {
		return limit, ""
	}
	if is(err, context.Canceled) {
		return rankContext, Canceled
	}
	if is(err, context.DeadlineExceeded) {
		return rankContext, Timeout
	}
	if limit <= rankNetTimeout {
		return limit, ""
	}
	if e, ok := err.(interface{ Timeout() bool }); ok && e.Timeout() {
		return rankNetTimeout, Timeout
	}
	if limit <= rankSyscall {
		return limit, ""
	}
	if errno, ok := err.(syscall.Errno); ok {
		switch errno {
		case syscall.ETIMEDOUT:
			return rankSyscall, Timeout
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE:
			return rankSyscall, Connection
		}
	}
	if limit <= rankNetwork {
		return limit, ""
	}
	switch err.(type) {
	case *net.OpError, *net.DNSError:
		return rankNetwork, Connection
	}
	if limit <= rankEOF {
		return limit, ""
	}
	if err == io.ErrUnexpectedEOF {
		return rankEOF, Connection
	}
	if limit <= rankStatus {
		return limit, ""
	}
	if e, ok := err.(interface{ StatusCode() int }); ok {
		if c := statusClass(e.StatusCode()); c != "" {
			return rankStatus, c
		}
	}
	if limit <= rankURL {
		return limit, ""
	}
	if _, ok := err.(*url.Error); ok {
		return rankURL, Connection
	}
	return limit, ""
}

// is reports whether err is target itself or says so through an Is method.
func is(err, target error) bool {
	if err == target {
		return true
	}
	x, ok := err.(interface{ Is(error) bool })
	return ok && x.Is(target)
}

// statusClass maps an HTTP status code to a class, or "" if it is not an
// error status.
func statusClass(code int) Class {
	switch {
	case code == 429:
		return RateLimit
	case code == 502 || code == 503 || code == 504:
		return Unavailable
	case code == 408:
		return Timeout
	case code >= 400 && code < 500:
		return Validation
	case code >= 500 && code < 600:
		return ServerError
	}
	return ""
}

// classifyMessage applies the message heuristics, case-insensitively and
// without allocating: the message is lowered chunk by chunk into a buffer on
// the stack, the chunks overlapping by the longest keyword.
func classifyMessage(msg string) Class {
	const (
		chunk   = 256
		overlap = len("too many requests") - 1
	)
	var buf [chunk]byte
	best, class := 4, Unknown
	for start := 0; start < len(msg); start += chunk - overlap {
		b := lower(&buf, msg[start:min(start+chunk, len(msg))])
		if rank, c := messageClass(b); rank < best {
			best, class = rank, c
		}
		if best == 0 || start+chunk >= len(msg) {
			break
		}
	}
	return class
}

// messageClass returns the first heuristic that matches the lowered text b
// and its rank (0 is first), or rank 4 and Unknown.
func messageClass(b []byte) (int, Class) {
	switch {
	case bytes.Contains(b, []byte("timeout")), bytes.Contains(b, []byte("timed out")),
		bytes.Contains(b, []byte("deadline")):
		return 0, Timeout
	case bytes.Contains(b, []byte("connection")), bytes.Contains(b, []byte("refused")),
		bytes.Contains(b, []byte("reset")), bytes.Contains(b, []byte("broken pipe")):
		return 1, Connection
	case bytes.Contains(b, []byte("429")), bytes.Contains(b, []byte("too many requests")),
		bytes.Contains(b, []byte("rate limit")):
		return 2, RateLimit
	case bytes.Contains(b, []byte("503")), bytes.Contains(b, []byte("unavailable")):
		return 3, Unavailable
	}
	return 4, Unknown
}

// lower copies s into buf with ASCII letters lowered and returns the copy.
func lower(buf *[256]byte, s string) []byte {
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}
