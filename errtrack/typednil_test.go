package errtrack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"

	"github.com/seed94f50169/resilience/errtrack"
)

// valueErr has value-receiver methods only, so every one of them
// dereferences a nil *valueErr and panics.
type valueErr struct{ code int }

func (e valueErr) Error() string        { return fmt.Sprintf("value error %d", e.code) }
func (e valueErr) ErrorClass() string   { return "" }
func (e valueErr) StatusCode() int      { return e.code }
func (e valueErr) Timeout() bool        { return e.code == 408 }
func (e valueErr) Unwrap() error        { return nil }
func (e valueErr) Is(target error) bool { return false }

// plainErr has only an Error method, with a value receiver.
type plainErr struct{ msg string }

func (e plainErr) Error() string { return e.msg }

// fieldErr is not nil, but its methods read a field that is: they panic on
// any value of it.
type fieldErr struct{ inner *plainErr }

func (e *fieldErr) Error() string      { return "field: " + e.inner.msg }
func (e *fieldErr) ErrorClass() string { return e.inner.msg }
func (e *fieldErr) Unwrap() error      { return e.inner }

func TestClassifyTypedNil(t *testing.T) {
	var (
		nilValue *valueErr
		nilPlain *plainErr
		nilOp    *net.OpError
		nilURL   *url.Error
	)
	tests := []struct {
		name string
		err  error
		want errtrack.Class
	}{
		{"nil pointer with value methods", nilValue, errtrack.Unknown},
		{"nil pointer with only Error", nilPlain, errtrack.Unknown},
		{"nil *net.OpError", nilOp, errtrack.Unknown},
		{"nil *url.Error", nilURL, errtrack.Unknown},
		{"wrapped by fmt.Errorf", fmt.Errorf("fetch: %w", error(nilValue)), errtrack.Unknown},
		{"wrapped, message still read", fmt.Errorf("read timeout: %w", error(nilValue)), errtrack.Timeout},
		{"joined with a context error", errors.Join(error(nilValue), context.Canceled), errtrack.Canceled},
		{"joined, Error would panic", errors.Join(error(nilPlain), errors.New("x")), errtrack.Unknown},
		{"inside *url.Error", &url.Error{Op: "Get", URL: "http://x", Err: nilValue}, errtrack.Connection},
		{"inside *net.OpError", &net.OpError{Op: "read", Net: "tcp", Err: nilValue}, errtrack.Connection},
		{"behind io.EOF", errors.Join(io.EOF, error(nilPlain)), errtrack.Connection},
		{"non-nil, methods panic", &fieldErr{}, errtrack.Unknown},
		{"non-nil, wrapped, methods panic", fmt.Errorf("op: %w", &fieldErr{}), errtrack.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errtrack.Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
			var tr errtrack.Tracker
			if got := tr.Track(tt.err); got != tt.want {
				t.Errorf("Track = %q, want %q", got, tt.want)
			}
			rec := tr.Recent()
			if len(rec) != 1 || rec[0].Err != tt.err || rec[0].Class != tt.want {
				t.Errorf("Recent = %+v, want the error itself as %q", rec, tt.want)
			}
		})
	}
}

func TestChainTypedNil(t *testing.T) {
	var nilValue *valueErr
	unknown := func(error) errtrack.Class { return "" }
	if got := errtrack.Chain(unknown)(nilValue); got != errtrack.Unknown {
		t.Fatalf("Chain(...)(typed nil) = %q, want %q", got, errtrack.Unknown)
	}
}

func TestClassifyTypedNilDoesNotAllocate(t *testing.T) {
	var nilValue *valueErr
	tests := []struct {
		name string
		err  error
	}{
		{"typed nil", nilValue},
		{"wrapped typed nil", fmt.Errorf("op: %w", error(nilValue))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { errtrack.Classify(tt.err) }); n != 0 {
				t.Fatalf("allocs = %v, want 0", n)
			}
		})
	}
}
