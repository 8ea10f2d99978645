package errtrack

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
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
		if rank, class := classifyNode(err); rank < w.rank {
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

// classifyNode returns the first rule that err itself matches, ignoring what
// it wraps, or rankMessage.
func classifyNode(err error) (int, Class) {
	if e, ok := err.(interface{ ErrorClass() string }); ok {
		if c := e.ErrorClass(); c != "" {
			return rankOwn, Class(c)
		}
	}
	switch err {
	case context.Canceled:
		return rankContext, Canceled
	case context.DeadlineExceeded:
		return rankContext, Timeout
	}
	if e, ok := err.(interface{ Is(error) bool }); ok {
		if e.Is(context.Canceled) {
			return rankContext, Canceled
		}
		if e.Is(context.DeadlineExceeded) {
			return rankContext, Timeout
		}
	}
	if e, ok := err.(interface{ Timeout() bool }); ok && e.Timeout() {
		return rankNetTimeout, Timeout
	}
	if errno, ok := err.(syscall.Errno); ok {
		switch errno {
		case syscall.ETIMEDOUT:
			return rankSyscall, Timeout
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE:
			return rankSyscall, Connection
		}
	}
	switch err.(type) {
	case *net.OpError, *net.DNSError:
		return rankNetwork, Connection
	}
	if err == io.ErrUnexpectedEOF {
		return rankEOF, Connection
	}
	if e, ok := err.(interface{ StatusCode() int }); ok {
		if c := statusClass(e.StatusCode()); c != "" {
			return rankStatus, c
		}
	}
	if _, ok := err.(*url.Error); ok {
		return rankURL, Connection
	}
	return rankMessage, ""
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

// classifyMessage applies the message heuristics to msg, ignoring ASCII case
// and without allocating.
//
// The digit keywords are found with containsDigits. For the others, which
// are at least five bytes long, only every third position is examined: any
// keyword has one of its first three three-byte groups there. A Bloom filter
// of those groups (keywordFilter) lets most positions go by; where it
// matches, the keywords are compared at the two positions before and at the
// position itself.
func classifyMessage(msg string) Class {
	best, class := 4, Unknown
	if containsDigits(msg, "429") {
		best, class = 2, RateLimit
	} else if containsDigits(msg, "503") {
		best, class = 3, Unavailable
	}
	f := keywordFilter()
	for i := 0; i+2 < len(msg) && best > 0; i += 3 {
		if !f.has(byteKey(msg[i])<<10 | byteKey(msg[i+1])<<5 | byteKey(msg[i+2])) {
			continue
		}
		for p := max(i-2, 0); p <= i; p++ {
			if rank, c := keywordAt(msg[p:]); rank < best {
				best, class = rank, c
			}
		}
	}
	return class
}

// containsDigits is strings.Contains for a short keyword whose first byte is
// rare in messages, as digits are: it looks for that byte alone first.
func containsDigits(s, keyword string) bool {
	for {
		i := strings.IndexByte(s, keyword[0])
		if i < 0 {
			return false
		}
		if strings.HasPrefix(s[i:], keyword) {
			return true
		}
		s = s[i+1:]
	}
}

// filter is a 1024-bit Bloom filter of three-byte groups, indexed by
// prefixHash of their byte keys. It has no false negatives; a false positive
// only costs a comparison.
type filter [16]uint64

// keywordFilter returns the filter of the three-byte groups at offsets 0, 1
// and 2 of every keyword that keywordAt knows. TestKeywordFilter rebuilds it
// from the keywords and checks it.
func keywordFilter() filter {
	return filter{
		0: 0x400002000000000, 1: 0x80000000000, 3: 0x100400000102, 4: 0x3000,
		5: 0x20000000000000, 6: 0x4000000010000, 7: 0x4000000000000000, 8: 0x400000200,
		9: 0x240000, 10: 0x400008002, 11: 0x20000010001000, 14: 0x800000000,
		15: 0x280004200000000,
	}
}

// has reports whether the group whose byte keys are k may be in the filter.
func (f *filter) has(k uint32) bool {
	h := prefixHash(k)
	return f[h>>6&15]>>(h&63)&1 != 0
}

// prefixHash maps a group's 15 bits of byte keys to 10 bits.
func prefixHash(k uint32) uint32 { return (k & 0x7fff) * 0x9e3779b1 >> 22 }

// byteKey folds a byte to its low 5 bits, the same for both cases of a
// letter.
func byteKey(b byte) uint32 { return uint32(b & 31) }

// keywordAt reports the best-ranked keyword other than the digit ones that s
// starts with: rank 0 for the timeout words to 3 for the unavailable ones, or
// rank 4 and Unknown.
func keywordAt(s string) (int, Class) {
	if s == "" {
		return 4, Unknown
	}
	switch lower(s[0]) {
	case 't':
		if hasPrefixFold(s, "timeout") || hasPrefixFold(s, "timed out") {
			return 0, Timeout
		}
		if hasPrefixFold(s, "too many requests") {
			return 2, RateLimit
		}
	case 'd':
		if hasPrefixFold(s, "deadline") {
			return 0, Timeout
		}
	case 'c':
		if hasPrefixFold(s, "connection") {
			return 1, Connection
		}
	case 'r':
		if hasPrefixFold(s, "refused") || hasPrefixFold(s, "reset") {
			return 1, Connection
		}
		if hasPrefixFold(s, "rate limit") {
			return 2, RateLimit
		}
	case 'b':
		if hasPrefixFold(s, "broken pipe") {
			return 1, Connection
		}
	case 'u':
		if hasPrefixFold(s, "unavailable") {
			return 3, Unavailable
		}
	}
	return 4, Unknown
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word,
// ignoring ASCII case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if lower(s[i]) != word[i] {
			return false
		}
	}
	return true
}

// lower lowers an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
