package errtrack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/seed94f50169/resilience/errtrack"
)

type classErr struct {
	class string
	err   error
}

func (e classErr) Error() string      { return "class error" }
func (e classErr) ErrorClass() string { return e.class }
func (e classErr) Unwrap() error      { return e.err }

type statusErr int

func (e statusErr) Error() string   { return fmt.Sprintf("status %d", int(e)) }
func (e statusErr) StatusCode() int { return int(e) }

type netTimeout struct{}

func (netTimeout) Error() string   { return "i/o wait expired" }
func (netTimeout) Timeout() bool   { return true }
func (netTimeout) Temporary() bool { return true }

// textErr has no method but Error.
type textErr string

func (e textErr) Error() string { return string(e) }

// isDeadline matches context.DeadlineExceeded through an Is method only.
type isDeadline struct{}

func (isDeadline) Error() string        { return "scope expired" }
func (isDeadline) Is(target error) bool { return target == context.DeadlineExceeded }

// cyclic unwraps to itself forever.
type cyclic struct{}

func (c *cyclic) Error() string { return "cycle" }
func (c *cyclic) Unwrap() error { return c }

func TestClassify(t *testing.T) {
	long := strings.Repeat("x", 250)
	tests := []struct {
		name string
		err  error
		want errtrack.Class
	}{
		{"nil", nil, ""},
		{"own class", classErr{class: "circuit_open"}, errtrack.CircuitOpen},
		{"own class beats context", classErr{"bulkhead_full", context.Canceled}, errtrack.BulkheadFull},
		{"own class deep in the tree beats context on top",
			fmt.Errorf("a: %w", errors.Join(context.Canceled, classErr{class: "quota"})), "quota"},
		{"empty own class falls through", classErr{"", context.Canceled}, errtrack.Canceled},
		{"context canceled", fmt.Errorf("op: %w", context.Canceled), errtrack.Canceled},
		{"context canceled itself", context.Canceled, errtrack.Canceled},
		{"deadline exceeded", context.DeadlineExceeded, errtrack.Timeout},
		{"deadline through Is", isDeadline{}, errtrack.Timeout},
		{"context beats status", errors.Join(statusErr(503), context.Canceled), errtrack.Canceled},
		{"net.Error timeout", fmt.Errorf("read: %w", netTimeout{}), errtrack.Timeout},
		{"os deadline", os.ErrDeadlineExceeded, errtrack.Timeout},
		{"ECONNREFUSED", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, errtrack.Connection},
		{"ECONNRESET", fmt.Errorf("x: %w", syscall.ECONNRESET), errtrack.Connection},
		{"EPIPE", syscall.EPIPE, errtrack.Connection},
		{"ETIMEDOUT in an OpError", &net.OpError{Op: "read", Err: syscall.ETIMEDOUT}, errtrack.Timeout},
		{"other errno", syscall.ENOENT, errtrack.Unknown},
		{"OpError", &net.OpError{Op: "dial", Err: errors.New("no route")}, errtrack.Connection},
		{"DNSError", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, errtrack.Connection},
		{"OpError beats status", errors.Join(statusErr(429), &net.OpError{Op: "read", Err: errors.New("x")}), errtrack.Connection},
		{"unexpected EOF", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), errtrack.Connection},
		{"unexpected EOF itself", io.ErrUnexpectedEOF, errtrack.Connection},
		{"plain EOF", io.EOF, errtrack.Unknown},
		{"status 429", statusErr(429), errtrack.RateLimit},
		{"status 502", statusErr(502), errtrack.Unavailable},
		{"status 503", statusErr(503), errtrack.Unavailable},
		{"status 504", statusErr(504), errtrack.Unavailable},
		{"status 408", statusErr(408), errtrack.Timeout},
		{"status 400", statusErr(400), errtrack.Validation},
		{"status 404", statusErr(404), errtrack.Validation},
		{"status 500", statusErr(500), errtrack.ServerError},
		{"status 200 falls to the message", statusErr(200), errtrack.Unknown},
		{"status in url.Error", &url.Error{Op: "Get", URL: "http://x", Err: statusErr(429)}, errtrack.RateLimit},
		{"url.Error", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("boom")}, errtrack.Connection},
		{"url.Error canceled", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, errtrack.Canceled},
		{"message timeout", errors.New("Request TIMED OUT"), errtrack.Timeout},
		{"message timeout word", errors.New("read timeout"), errtrack.Timeout},
		{"message deadline", errors.New("Deadline passed"), errtrack.Timeout},
		{"message connection", errors.New("Connection lost"), errtrack.Connection},
		{"message refused", errors.New("dial: REFUSED"), errtrack.Connection},
		{"message reset", errors.New("stream reset by peer"), errtrack.Connection},
		{"message broken pipe", errors.New("write: broken pipe"), errtrack.Connection},
		{"message 429", errors.New("HTTP 429"), errtrack.RateLimit},
		{"message too many requests", errors.New("Too Many Requests"), errtrack.RateLimit},
		{"message rate limit", errors.New("Rate Limit exceeded"), errtrack.RateLimit},
		{"message 503", errors.New("got 503"), errtrack.Unavailable},
		{"message unavailable", errors.New("Service Unavailable"), errtrack.Unavailable},
		{"timeout wins over connection", errors.New("connection timeout"), errtrack.Timeout},
		{"connection wins over 503", errors.New("503: connection closed"), errtrack.Connection},
		{"no match", errors.New("boom"), errtrack.Unknown},
		{"own type with only Error", textErr("upstream timed out"), errtrack.Timeout},
		{"empty message", errors.New(""), errtrack.Unknown},
		{"keyword past the first chunk", errors.New(long + long + "timed out"), errtrack.Timeout},
		{"keyword across a chunk boundary", errors.New(long + "too many requests"), errtrack.RateLimit},
		{"better keyword in a later chunk", errors.New("503 " + long + long + "TIMEOUT"), errtrack.Timeout},
		{"cyclic unwrap terminates", &cyclic{}, errtrack.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errtrack.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestChain(t *testing.T) {
	errQuota := errors.New("quota exhausted")
	errAuth := errors.New("auth expired")
	quota := func(err error) errtrack.Class {
		if errors.Is(err, errQuota) {
			return "quota"
		}
		return ""
	}
	auth := func(err error) errtrack.Class {
		if errors.Is(err, errAuth) || errors.Is(err, errQuota) {
			return "auth"
		}
		return ""
	}
	classify := errtrack.Chain(quota, auth)
	tests := []struct {
		err  error
		want errtrack.Class
	}{
		{errQuota, "quota"},
		{errAuth, "auth"},
		{context.Canceled, errtrack.Canceled},
		{errors.New("boom"), errtrack.Unknown},
		{nil, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"plain", errors.New("boom")},
		{"message match", errors.New("Service Unavailable")},
		{"long message", errors.New(strings.Repeat("Abc ", 500) + "reset")},
		{"wrapped context", fmt.Errorf("op: %w", context.Canceled)},
		{"OpError", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}},
		{"joined", errors.Join(errors.New("a"), statusErr(503))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { errtrack.Classify(tt.err) }); n != 0 {
				t.Fatalf("allocs = %v, want 0", n)
			}
		})
	}
}

// refMessage is the message rule spelled out plainly.
func refMessage(msg string) errtrack.Class {
	b := []byte(msg)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	s := string(b)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("timeout", "timed out", "deadline"):
		return errtrack.Timeout
	case has("connection", "refused", "reset", "broken pipe"):
		return errtrack.Connection
	case has("429", "too many requests", "rate limit"):
		return errtrack.RateLimit
	case has("503", "unavailable"):
		return errtrack.Unavailable
	}
	return errtrack.Unknown
}

func FuzzClassify(f *testing.F) {
	f.Add("connection reset by peer", 0)
	f.Add("HTTP 429 Too Many Requests", 429)
	f.Add(strings.Repeat("x", 240)+"TOO MANY REQUESTS", 503)
	f.Add("", -1)
	f.Add("\xff\xfe timed\x00out", 1<<40)
	f.Add("RESET", 599)
	f.Add("x503", 400)
	f.Add("retry: Timed Out", 200)
	f.Add("ab", 100)
	f.Fuzz(func(t *testing.T, msg string, code int) {
		known := map[errtrack.Class]bool{
			errtrack.Timeout: true, errtrack.Connection: true, errtrack.RateLimit: true,
			errtrack.Unavailable: true, errtrack.Validation: true, errtrack.ServerError: true,
			errtrack.Unknown: true,
		}
		plain := errtrack.Classify(errors.New(msg))
		if want := refMessage(msg); plain != want {
			t.Fatalf("Classify(%q) = %q, want %q", msg, plain, want)
		}
		if got, want := errtrack.Classify(fmt.Errorf("op: %w", errors.New(msg))), refMessage("op: "+msg); got != want {
			t.Fatalf("Classify(wrapped %q) = %q, want %q", msg, got, want)
		}
		status := errtrack.Classify(fmt.Errorf("%s: %w", msg, statusErr(code)))
		if !known[status] {
			t.Fatalf("Classify(status %d, %q) = %q, not a known class", code, msg, status)
		}
		if code >= 400 && code < 600 && status == errtrack.Unknown {
			t.Fatalf("status %d ignored", code)
		}
		var tr errtrack.Tracker
		if got := tr.Track(errors.New(msg)); got != plain {
			t.Fatalf("Track = %q, Classify = %q", got, plain)
		}
	})
}
