package errtrack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/seed94f50169/resilience/errtrack"
)

// refClassify is the package documentation's rule table spelled out plainly:
// the first 64 errors of the tree in the order errors.Is visits them, then
// each rule in turn against all of them, then the message. A typed nil is
// visited but matches nothing and wraps nothing; a rule, an Unwrap or an
// Error that panics matches nothing, wraps nothing, or leaves the class
// Unknown.
func refClassify(err error) errtrack.Class {
	if err == nil {
		return ""
	}
	var nodes []error
	var visit func(error)
	visit = func(e error) {
		for e != nil && len(nodes) < 64 {
			nodes = append(nodes, e)
			if typedNil(e) {
				return
			}
			switch u := e.(type) {
			case interface{ Unwrap() error }:
				e = noPanic(u.Unwrap)
			case interface{ Unwrap() []error }:
				for _, c := range noPanic(u.Unwrap) {
					visit(c)
				}
				return
			default:
				return
			}
		}
	}
	visit(err)
	rules := []func(error) errtrack.Class{
		func(e error) errtrack.Class { // 1
			if o, ok := e.(interface{ ErrorClass() string }); ok {
				return errtrack.Class(o.ErrorClass())
			}
			return ""
		},
		func(e error) errtrack.Class { // 2
			is, _ := e.(interface{ Is(error) bool })
			switch {
			case e == context.Canceled || is != nil && is.Is(context.Canceled):
				return errtrack.Canceled
			case e == context.DeadlineExceeded || is != nil && is.Is(context.DeadlineExceeded):
				return errtrack.Timeout
			}
			return ""
		},
		func(e error) errtrack.Class { // 3
			if t, ok := e.(interface{ Timeout() bool }); ok && t.Timeout() {
				return errtrack.Timeout
			}
			return ""
		},
		func(e error) errtrack.Class { // 4
			switch e {
			case syscall.ETIMEDOUT:
				return errtrack.Timeout
			case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE:
				return errtrack.Connection
			}
			return ""
		},
		func(e error) errtrack.Class { // 5
			switch e.(type) {
			case *net.OpError, *net.DNSError:
				return errtrack.Connection
			}
			return ""
		},
		func(e error) errtrack.Class { // 6
			if e == io.ErrUnexpectedEOF || e == io.EOF {
				return errtrack.Connection
			}
			return ""
		},
		func(e error) errtrack.Class { // 7
			s, ok := e.(interface{ StatusCode() int })
			if !ok {
				return ""
			}
			switch c := s.StatusCode(); {
			case c == 429:
				return errtrack.RateLimit
			case c == 502 || c == 503 || c == 504:
				return errtrack.Unavailable
			case c == 408:
				return errtrack.Timeout
			case c/100 == 4 && c >= 0:
				return errtrack.Validation
			case c/100 == 5 && c >= 0:
				return errtrack.ServerError
			}
			return ""
		},
		func(e error) errtrack.Class { // 8
			if _, ok := e.(*url.Error); ok {
				return errtrack.Connection
			}
			return ""
		},
	}
	for _, rule := range rules {
		for _, n := range nodes {
			if typedNil(n) {
				continue
			}
			if c := noPanic(func() errtrack.Class { return rule(n) }); c != "" {
				return c
			}
		}
	}
	if typedNil(err) {
		return errtrack.Unknown
	}
	msg, ok := "", false
	func() {
		defer func() { _ = recover() }()
		msg, ok = err.Error(), true
	}()
	if !ok {
		return errtrack.Unknown
	}
	return refMessage(msg) // 9 and 10
}

// typedNil reports whether e is a nil pointer, map, channel or func behind
// a non-nil interface.
func typedNil(e error) bool {
	v := reflect.ValueOf(e)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return v.IsNil()
	}
	return false
}

// noPanic returns f(), or the zero value if f panics.
func noPanic[T any](f func() T) (v T) {
	defer func() { _ = recover() }()
	return f()
}

type statusWrap struct {
	code int
	err  error
}

func (e statusWrap) Error() string   { return fmt.Sprintf("status %d: %v", e.code, e.err) }
func (e statusWrap) StatusCode() int { return e.code }
func (e statusWrap) Unwrap() error   { return e.err }

// isCanceled matches context.Canceled through an Is method only.
type isCanceled struct{}

func (isCanceled) Error() string        { return "gave up" }
func (isCanceled) Is(target error) bool { return target == context.Canceled }

// timeoutFalse has a Timeout method that says no.
type timeoutFalse struct{ msg string }

func (e timeoutFalse) Error() string { return e.msg }
func (timeoutFalse) Timeout() bool   { return false }

// selfJoin unwraps to itself, twice, forever.
type selfJoin struct{}

func (e *selfJoin) Error() string   { return "self join timeout" }
func (e *selfJoin) Unwrap() []error { return []error{e, e} }

// typedNils are nil pointers of error types, some of whose methods (all
// those of value receivers) panic on them.
var typedNils = []error{
	(*statusWrap)(nil), (*classErr)(nil), (*timeoutFalse)(nil), (*textErr)(nil),
	(*net.OpError)(nil), (*url.Error)(nil), (*net.DNSError)(nil), (*os.SyscallError)(nil),
	(*selfJoin)(nil), (*cyclic)(nil),
}

// messageTokens are the pieces fuzzed messages are made of: the keywords in
// several cases, near misses, and bytes outside ASCII.
var messageTokens = []string{
	"timeout", "TIMEOUT", "TimeOut", "timed out", "Timed Out", "deadline", "DEADLINE",
	"connection", "CONNECTION", "refused", "Refused", "reset", "RESET", "broken pipe", "Broken Pipe",
	"429", "too many requests", "TOO MANY REQUESTS", "rate limit", "Rate Limit",
	"503", "unavailable", "UNAVAILABLE",
	"timeou", "timed  out", "timed\x00out", "dead line", "connectio", "refuse", "rese", "broken\tpipe",
	"42", "50", "4 29", "too many request", "rate-limit", "unavailabl", "r\xc3\xa9set",
	"x", "y", " ", ":", "0", "9", "\x00", "\xff", "\xc3\xa9", "\xe2\x84\xaa", "\xc4\xb0",
	"t", "T", "d", "c", "r", "b", "u", "4", "5", "@", "`", "\x80", "\xe0", "\xf4",
}

// buildMessage turns fuzz bytes into a message of tokens.
func buildMessage(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		b.WriteString(messageTokens[int(c)%len(messageTokens)])
	}
	return b.String()
}

// treeBuilder turns fuzz bytes into an error tree.
type treeBuilder struct {
	data  []byte
	msg   string
	nodes int // built so far, bounded so that trees stay small
}

func (b *treeBuilder) next() int {
	if len(b.data) == 0 {
		return 0
	}
	c := b.data[0]
	b.data = b.data[1:]
	return int(c)
}

func (b *treeBuilder) build(depth int) error {
	if b.nodes++; depth > 6 || b.nodes > 300 {
		return errors.New(b.msg)
	}
	errnos := []syscall.Errno{syscall.ETIMEDOUT, syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.ECONNABORTED, syscall.EPIPE, syscall.ENOENT, syscall.EAGAIN}
	codes := []int{0, 200, 399, 400, 404, 408, 429, 499, 500, 502, 503, 504, 599, 600, -429, 1 << 40}
	switch b.next() % 24 {
	case 0:
		return errors.New(b.msg)
	case 1:
		return classErr{[]string{"", "quota", "circuit_open"}[b.next()%3], b.build(depth + 1)}
	case 2:
		return context.Canceled
	case 3:
		return context.DeadlineExceeded
	case 4:
		return isDeadline{}
	case 5:
		return isCanceled{}
	case 6:
		return netTimeout{}
	case 7:
		return errnos[b.next()%len(errnos)]
	case 8:
		return &net.OpError{Op: "read", Net: "tcp", Err: b.build(depth + 1)}
	case 9:
		return &net.DNSError{Err: b.msg, Name: "x.invalid", IsTimeout: b.next()%2 == 0}
	case 10:
		return io.EOF
	case 11:
		return io.ErrUnexpectedEOF
	case 12:
		return statusWrap{codes[b.next()%len(codes)], b.build(depth + 1)}
	case 13:
		return &url.Error{Op: "Get", URL: "http://x", Err: b.build(depth + 1)}
	case 14:
		return fmt.Errorf("%s: %w", b.msg, b.build(depth+1))
	case 15:
		n := b.next() % 40
		errs := make([]error, n)
		for i := range errs {
			errs[i] = b.build(depth + 1)
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		return errors.New(b.msg)
	case 16:
		return &cyclic{}
	case 17:
		return &selfJoin{}
	case 18:
		return textErr(b.msg)
	case 19:
		return os.NewSyscallError("connect", b.build(depth+1))
	case 20:
		return timeoutFalse{b.msg}
	case 21:
		return typedNils[b.next()%len(typedNils)]
	case 22: // methods that call into a typed nil and panic
		return []error{
			&url.Error{Op: "Get", URL: "http://x", Err: (*statusWrap)(nil)},
			&net.OpError{Op: "read", Net: "tcp", Err: (*timeoutFalse)(nil)},
			os.NewSyscallError("read", (*classErr)(nil)),
			errors.Join(b.build(depth+1), (*textErr)(nil)),
		}[b.next()%4]
	default:
		return fmt.Errorf("%w and %w", b.build(depth+1), b.build(depth+1))
	}
}

func FuzzClassifyReference(f *testing.F) {
	f.Add([]byte("\x0e\x0f\x20\x0c\x06\x02"), []byte{0, 15, 22})
	f.Add([]byte{15, 39, 14, 14, 14, 14, 14, 14, 1, 2}, []byte{})
	f.Add([]byte{21, 13, 12, 6, 8, 7, 3}, []byte{70, 1, 2, 3})
	f.Add([]byte{16}, []byte{1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{17}, []byte{})
	f.Add([]byte{20}, []byte{0})
	f.Add([]byte{23, 21, 3, 14, 21, 0}, []byte{1})
	f.Add([]byte{22, 0, 22, 1, 22, 2, 22, 3, 2}, []byte{})
	f.Fuzz(checkReference)
}

// checkReference compares Classify with refClassify on the tree that tree
// and msg describe.
func checkReference(t *testing.T, tree, msg []byte) {
	msg = msg[:min(len(msg), 64)] // a long message repeated all over a tree is slow to build
	b := &treeBuilder{data: tree, msg: buildMessage(msg)}
	err := b.build(0)
	if got, want := errtrack.Classify(err), refClassify(err); got != want {
		t.Fatalf("Classify(%q) = %q, want %q (tree %q, message %q)", err, got, want, tree, msg)
	}
}

// TestClassifyReferenceRandomTrees runs checkReference on pseudo-random
// trees, the same ones every time.
func TestClassifyReferenceRandomTrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		tree := make([]byte, 1+r.IntN(60))
		msg := make([]byte, r.IntN(8))
		for i := range tree {
			tree[i] = byte(r.Uint32())
		}
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		checkReference(t, tree, msg)
	}
}

// TestClassifyMessageReference compares the message rule with its plain
// spelling on every message of up to three tokens, at every alignment.
func TestClassifyMessageReference(t *testing.T) {
	n := len(messageTokens)
	for pad := range 3 {
		prefix := strings.Repeat("x", pad)
		for i := range n * n * n {
			msg := prefix + messageTokens[i%n] + messageTokens[i/n%n] + messageTokens[i/n/n]
			if got, want := errtrack.Classify(errors.New(msg)), refMessage(msg); got != want {
				t.Fatalf("Classify(%q) = %q, want %q", msg, got, want)
			}
		}
	}
}

// TestClassifyVisitsAtMost64 puts context.Canceled at the 64th and the 65th
// error of a tree: only the first is visited.
func TestClassifyVisitsAtMost64(t *testing.T) {
	chain := func(n int) error { // n errors, the last context.Canceled
		err := context.Canceled
		for range n - 1 {
			err = fmt.Errorf("w: %w", err)
		}
		return err
	}
	join := func(n int) error { // a join of n-1 errors, the last context.Canceled
		errs := make([]error, n-1)
		for i := range errs {
			errs[i] = errors.New("w")
		}
		errs[n-2] = context.Canceled
		return errors.Join(errs...)
	}
	tests := []struct {
		name string
		err  error
		want errtrack.Class
	}{
		{"chain of 64", chain(64), errtrack.Canceled},
		{"chain of 65", chain(65), errtrack.Unknown},
		{"join of 64", join(64), errtrack.Canceled},
		{"join of 65", join(65), errtrack.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errtrack.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify = %q, want %q", got, tt.want)
			}
			if got := refClassify(tt.err); got != tt.want {
				t.Fatalf("refClassify = %q, want %q", got, tt.want)
			}
		})
	}
}
