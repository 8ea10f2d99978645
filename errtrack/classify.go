package errtrack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"reflect"
	"strings"
	"syscall"
	"unsafe"
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
	Panic        Class = "panic"               // the operation panicked (middleware recovers and reports it)
	Unknown      Class = "unknown"             // no rule matched
	Other        Class = "other"               // classes beyond MaxClasses, folded together
)

// Classify is the default classifier. It applies the first rule of the
// package documentation's table that matches any error in err's tree (as
// errors.Is walks it), then falls back to message heuristics. It returns ""
// for a nil error and never returns "" otherwise.
//
// Classify never panics, whatever the tree holds: an error that is a nil
// pointer (a typed nil) matches no rule, wraps nothing and none of its
// methods is called; a method that panics matches nothing (see the package
// documentation).
func Classify(err error) (class Class) {
	if err == nil {
		return ""
	}
	if reflect.TypeOf(err) == plainType {
		// errors.New: err wraps nothing, its Error cannot panic, and of the
		// typed rules only the comparisons below can match it.
		switch err {
		case context.Canceled:
			return Canceled
		case io.ErrUnexpectedEOF, io.EOF:
			return Connection
		}
		return classifyMessage(err.Error())
	}
	// Any other error may have methods that panic: if one does, start
	// again carefully.
	defer func() {
		if recover() != nil {
			class = classifyCarefully(err)
		}
	}()
	if isNil(err) {
		return Unknown
	}
	if reflect.TypeOf(err).NumMethod() == 1 {
		// The only method is Error: err wraps nothing and of the typed
		// rules only the comparisons of rule 6 can match it.
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return Connection
		}
		return classifyMessage(err.Error())
	}
	w := walker{rank: rankMessage}
	w.walk(err)
	if w.rank < rankMessage {
		return w.class
	}
	return classifyMessage(err.Error())
}

// plainType is the type of the errors of errors.New.
var plainType = reflect.TypeOf(errors.New(""))

// classifyCarefully is Classify for a tree in which a method panicked: the
// same walk, with every method call recovered on its own, so that a rule
// whose method panics matches nothing, an Unwrap that panics wraps nothing,
// and an Error that panics leaves the class Unknown. It is slower, and runs
// only after such a panic.
func classifyCarefully(err error) (class Class) {
	defer func() {
		if recover() != nil {
			class = Unknown
		}
	}()
	w := walker{rank: rankMessage, careful: true}
	w.walk(err)
	if w.rank < rankMessage {
		return w.class
	}
	msg, ok := guarded(err.Error)
	if !ok {
		return Unknown
	}
	return classifyMessage(msg)
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
	rank    int
	class   Class
	nodes   int
	careful bool // recover from each method call (classifyCarefully)
}

func (w *walker) walk(err error) {
	for err != nil && w.rank > rankOwn && w.nodes < maxNodes {
		w.nodes++
		if isNil(err) {
			return // a typed nil: its methods may not cope with it
		}
		var rank int
		var class Class
		if w.careful {
			rank, class = classifyNodeCarefully(err)
		} else {
			rank, class = classifyNode(err, rankOwn)
		}
		if rank < w.rank {
			w.rank, w.class = rank, class
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if !w.careful {
				err = u.Unwrap()
			} else if err, _ = guarded(u.Unwrap); err == nil {
				return
			}
		case interface{ Unwrap() []error }:
			var errs []error
			if !w.careful {
				errs = u.Unwrap()
			} else {
				errs, _ = guarded(u.Unwrap)
			}
			for _, e := range errs {
				w.walk(e)
			}
			return
		default:
			return
		}
	}
}

// isNil reports whether err holds a nil pointer (a typed nil): a nil
// pointer, map, channel or func behind a non-nil interface. A method with a
// value receiver always panics on one, and one with a pointer receiver often
// does. It reads the interface's data word, nil exactly for those values:
// any other dynamic value is stored behind a pointer that is never nil.
// That costs a load where reflect.ValueOf(err).IsNil costs a few
// nanoseconds, on every error of every tree.
func isNil(err error) bool {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&err))[1] == nil
}

// guarded calls f and reports whether it returned without panicking.
func guarded[T any](f func() T) (v T, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f(), true
}

// classifyNode returns the first rule of rank from or beyond that err
// itself matches, ignoring what it wraps, or rankMessage. Classify starts
// from rankOwn, every rule; classifyNodeCarefully starts further on to skip
// a rule that panicked. The cases fall through, so that skipping costs one
// jump at the start.
func classifyNode(err error, from int) (int, Class) {
	switch from {
	case rankOwn:
		if e, ok := err.(interface{ ErrorClass() string }); ok {
			if c := e.ErrorClass(); c != "" {
				return rankOwn, Class(c)
			}
		}
		fallthrough
	case rankContext:
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
		fallthrough
	case rankNetTimeout:
		if e, ok := err.(interface{ Timeout() bool }); ok && e.Timeout() {
			return rankNetTimeout, Timeout
		}
		fallthrough
	case rankSyscall, rankNetwork, rankEOF, rankStatus:
		// Rules 4 to 6 call no method: only the status rule can panic.
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
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return rankEOF, Connection
		}
		if e, ok := err.(interface{ StatusCode() int }); ok {
			if c := statusClass(e.StatusCode()); c != "" {
				return rankStatus, c
			}
		}
		fallthrough
	default:
		if _, ok := err.(*url.Error); ok {
			return rankURL, Connection
		}
	}
	return rankMessage, ""
}

// classifyNodeCarefully is classifyNode where a rule whose method panics
// matches nothing: after a panic it starts again from the next rule, until
// a run returns. The rules before the one that panicked run again and
// match nothing again.
func classifyNodeCarefully(err error) (int, Class) {
	for from := rankOwn; from <= rankStatus; from++ {
		if rank, class, ok := guardedNode(err, from); ok {
			return rank, class
		}
	}
	return classifyNode(err, rankURL) // the rule left calls no method
}

// guardedNode is classifyNode(err, from), reporting whether it returned
// without panicking.
func guardedNode(err error, from int) (rank int, class Class, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	rank, class = classifyNode(err, from)
	return rank, class, true
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

// classifyMessage applies the message heuristics to msg, ignoring ASCII case,
// in one pass and without allocating.
//
// Every keyword is at least three bytes long, so one of its first three
// bytes sits at a position that is a multiple of three, and only those
// positions are examined. A digit there is always a candidate: digits are
// rare in messages. The other keywords are at least five bytes long, so the
// three bytes from such a position are one of the keyword's first three
// three-byte groups; a Bloom filter of those groups (groupFilter) lets most
// positions go by. At a candidate position the keywords are compared there
// and at the two positions before. Each position takes one four-byte load,
// but the last when it is too close to the end.
func classifyMessage(msg string) Class {
	best, class := rankNoKeyword, Unknown
	i := 0
	for ; i+4 <= len(msg); i += 3 {
		s := msg[i : i+4]
		if !candidate(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24) {
			continue
		}
		if best, class = bestBefore(msg, i, best, class); best == 0 {
			return class
		}
	}
	if i < len(msg) { // one position left, too close to the end
		w := uint32(msg[i])
		if i+3 <= len(msg) {
			w |= uint32(msg[i+1])<<8 | uint32(msg[i+2])<<16
		}
		if candidate(w) {
			_, class = bestBefore(msg, i, best, class)
		}
	}
	return class
}

// candidate reports whether a keyword may start at the position of the low
// byte of w, or at one of the two before: whether that byte is a digit or
// the three low bytes may be a group in groupFilter.
func candidate(w uint32) bool {
	if c := byte(w); '0' <= c && c <= '9' {
		return true
	}
	h := groupHash(w)
	return groupFilter[h>>3]>>(h&7)&1 != 0
}

// bestBefore returns the better of best and the keywords at i and at the two
// positions before, with its class.
func bestBefore(msg string, i, best int, class Class) (int, Class) {
	for p := max(i-2, 0); p <= i; p++ {
		if !mayStartKeyword(msg[p]) {
			continue
		}
		if rank, c := keywordAt(msg[p:]); rank < best {
			best, class = rank, c
		}
	}
	return best, class
}

// groupFilter is a 1024-bit Bloom filter, indexed by groupHash, of the
// three-byte groups at offsets 0, 1 and 2 of every keyword that keywordAt
// knows, digits excepted. It has no false negatives; a false positive only
// costs a comparison. A string, so that it is a constant.
// TestGroupFilter rebuilds it from the keywords.
const groupFilter = "" +
	"\x00\x00\x08\x80\x00\x00\x00\x20\x01\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x20\x00\x00\x00\x20\x40" +
	"\x00\x00\x02\x00\x00\x02\x00\x00\x00\x40\x21\x00\x00\x00\x00\x20" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x40\x10\x00\x00\x00\x00\x48\x00" +
	"\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x04\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00" +
	"\x40\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x02\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00"

// groupHash maps the three low bytes of w to 10 bits, the same for both
// cases of a letter: it keeps the low five bits of each byte.
func groupHash(w uint32) uint32 {
	return (w & 0x1f1f1f) * 0x9e3779b1 >> 22
}

// mayStartKeyword reports whether a keyword that keywordAt knows starts
// with c.
func mayStartKeyword(c byte) bool {
	switch lower(c) {
	case 't', 'd', 'c', 'r', 'b', 'u', '4', '5':
		return true
	}
	return false
}

// rankNoKeyword is the rank keywordAt gives a string that starts with no
// keyword.
const rankNoKeyword = 4

// keywordAt reports the best-ranked keyword that s starts with: rank 0 for
// the timeout words to 3 for the unavailable ones, or rankNoKeyword and
// Unknown.
func keywordAt(s string) (int, Class) {
	if s == "" {
		return rankNoKeyword, Unknown
	}
	switch lower(s[0]) {
	case '4':
		if strings.HasPrefix(s, "429") {
			return 2, RateLimit
		}
	case '5':
		if strings.HasPrefix(s, "503") {
			return 3, Unavailable
		}
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
	return rankNoKeyword, Unknown
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
