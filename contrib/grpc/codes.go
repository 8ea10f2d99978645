package resgrpc

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/timeout"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// PushbackKey is the trailer a server sets to tell a client when to retry
// (gRFC A6): a non-negative number of milliseconds, or a negative one (or
// anything unparsable) meaning "do not retry".
const PushbackKey = "grpc-retry-pushback-ms"

// PreviousAttemptsKey is the metadata key the client interceptors set on
// every retry: the number of attempts that came before it (gRFC A6).
const PreviousAttemptsKey = "grpc-previous-rpc-attempts"

// DefaultRetryable is the client's default retry rule, gRFC A6's:
// UNAVAILABLE is retried; RESOURCE_EXHAUSTED only when the server sent a
// non-negative pushback (it said when it will have room again); nothing
// else, and nothing whose pushback said not to retry.
func DefaultRetryable(code codes.Code, pushback time.Duration, hasPushback bool) bool {
	if hasPushback && pushback < 0 {
		return false
	}
	switch code {
	case codes.Unavailable:
		return true
	case codes.ResourceExhausted:
		return hasPushback
	}
	return false
}

// DefaultIsFailure is the client's default rule for what the breaker counts
// as a failure of the backend: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
// UNKNOWN and RESOURCE_EXHAUSTED. Every other code (INVALID_ARGUMENT,
// NOT_FOUND, PERMISSION_DENIED...) means the backend answered, so the
// breaker counts a success.
func DefaultIsFailure(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.ResourceExhausted:
		return true
	}
	return false
}

// maxPushbackDigits bounds the work spent on a hostile pushback value.
const maxPushbackDigits = 32

// parsePushback reads the pushback trailer: the delay (clamped to
// [0, limit]; negative means "do not retry") and whether one was present.
// Several values, an empty one or garbage count as "do not retry", as gRFC
// A6 says of values that cannot be parsed.
func parsePushback(md metadata.MD, limit time.Duration) (time.Duration, bool) {
	vs := md.Get(PushbackKey)
	if len(vs) == 0 {
		return 0, false
	}
	if len(vs) > 1 {
		return -1, true
	}
	v := strings.TrimSpace(vs[0])
	if v == "" || len(v) > maxPushbackDigits {
		return -1, true
	}
	if v[0] == '-' {
		return -1, true
	}
	most := int64(limit / time.Millisecond)
	var ms int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1, true
		}
		if ms <= most {
			ms = ms*10 + int64(c-'0')
		}
	}
	if ms > most {
		return limit, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// formatPushback renders d as a pushback value, in whole milliseconds
// rounded up, at least 1.
func formatPushback(d time.Duration) string {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}

// maxRetryAfter is the bound on hints r applies, as middleware does.
func maxRetryAfter(r *middleware.Recovery) time.Duration {
	if r.MaxRetryAfter > 0 {
		return r.MaxRetryAfter
	}
	if r.Retry != nil && r.Retry.MaxRetryAfter > 0 {
		return r.Retry.MaxRetryAfter
	}
	return middleware.DefaultMaxRetryAfter
}

// Error is what the interceptors return for a failed call: it reports the
// gRPC status the caller would expect (status.Code and status.Convert see
// it, the server's own message intact) and wraps the full chain of causes,
// so errors.Is and errors.As also find a *retry.ExhaustedError,
// breaker.ErrOpen, bulkhead.ErrFull or a *timeout.Error.
type Error struct {
	// Status is the status reported to gRPC: the server's own for a call it
	// answered, or the one a local rejection maps to (see StatusOf).
	Status *status.Status
	// Err is the whole error, as the resilience layers reported it.
	Err error
}

// Error returns the text of Err.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus returns Status, so the gRPC status package sees it.
func (e *Error) GRPCStatus() *status.Status { return e.Status }

// StatusOf returns the gRPC status for err: the status of the last answer
// from a server that err wraps, or for a local decision: an open breaker or
// busy probes → UNAVAILABLE, a full bulkhead or queue timeout →
// RESOURCE_EXHAUSTED, a timeout → DEADLINE_EXCEEDED, the context's own
// errors → CANCELED or DEADLINE_EXCEEDED; anything else UNKNOWN.
func StatusOf(err error) *status.Status {
	if err == nil {
		return nil
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil {
			return st
		}
	}
	switch {
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, breaker.ErrTooManyCalls):
		return status.New(codes.Unavailable, err.Error())
	case errors.Is(err, bulkhead.ErrFull), errors.Is(err, bulkhead.ErrQueueTimeout):
		return status.New(codes.ResourceExhausted, err.Error())
	case errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error())
	}
	return status.New(codes.Unknown, err.Error())
}

// wrap turns err into an *Error unless it is nil or already a status error
// as it came from the server.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	return &Error{Status: StatusOf(err), Err: err}
}

// callError is a server's failure as the resilience layers see it: it keeps
// the status (for StatusOf), the server's pushback (for retry) and whether
// it may be retried.
type callError struct {
	err  error // the status error returned by gRPC
	wait time.Duration
}

func (e *callError) Error() string              { return e.err.Error() }
func (e *callError) Unwrap() error              { return e.err }
func (e *callError) RetryAfter() time.Duration  { return e.wait }
func (e *callError) GRPCStatus() *status.Status { return status.Convert(e.err) }
func (e *callError) ErrorClass() string         { return codeClass(status.Code(e.err)) }

// codeClass names the errtrack class of a status code.
func codeClass(c codes.Code) string {
	switch c {
	case codes.DeadlineExceeded:
		return "timeout"
	case codes.Unavailable:
		return "service_unavailable"
	case codes.ResourceExhausted:
		return "rate_limit"
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return "validation"
	case codes.Canceled:
		return "canceled"
	case codes.Internal, codes.DataLoss:
		return "server_error"
	}
	return "unknown"
}
