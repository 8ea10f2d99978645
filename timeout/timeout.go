package timeout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

var (
	// ErrTimeout is matched (errors.Is) by every *Error: a time limit set by
	// this package has passed.
	ErrTimeout = errors.New("timeout: time limit exceeded")

	// ErrInvalidLimit is matched by the error returned, without calling fn,
	// for a limit that is zero or negative.
	ErrInvalidLimit = errors.New("timeout: limit must be positive")
)

// Error reports that the deadline of a scope expired: Do's (Name "") or a
// DoNamed or Pipeline scope's. It matches ErrTimeout and
// context.DeadlineExceeded with errors.Is, and unwraps to Err.
type Error struct {
	Name  string        // the scope whose deadline fired; "" for Do
	Limit time.Duration // that scope's limit
	Err   error         // what the function returned after the deadline, if anything
}

// Error returns a message naming the scope, its limit and Err.
func (e *Error) Error() string {
	msg := "timeout: "
	if e.Name != "" {
		msg += strconv.Quote(e.Name) + " "
	}
	msg += "exceeded " + e.Limit.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrTimeout or context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrorClass returns "timeout".
func (e *Error) ErrorClass() string { return "timeout" }

// Timeout returns true, as net.Error does for timeouts.
func (e *Error) Timeout() bool { return true }

// Do calls fn in the caller's goroutine with a context whose deadline is at
// most d away, and returns fn's results, unless that deadline fired before
// fn returned: then it returns a *Error (Name "", Limit d) whose Err is
// fn's error. The caller's own cancellation or deadline, when it comes
// first, is no timeout of this package: fn's results then pass through
// unchanged.
//
// fn must watch its context (see the package documentation); Do cannot
// stop it and always waits for it. A limit d <= 0 is an error matching
// ErrInvalidLimit, and fn is not called. Do allocates no more than
// context.WithTimeout does.
func Do[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	return run(ctx, "", d, false, fn)
}

// DoNamed is Do for a named scope: a pipeline, a step, a tool. Besides
// naming its own timeouts, the scope is recorded in the context (as its
// context.Cause), so that any Do or DoNamed running inside it, cut short
// because this scope's deadline fired first, reports this scope's Name and
// Limit rather than its own. It costs one allocation more than Do.
func DoNamed[T any](ctx context.Context, name string, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	return run(ctx, name, d, true, fn)
}

func run[T any](ctx context.Context, name string, d time.Duration, named bool, fn func(context.Context) (T, error)) (T, error) {
	if d <= 0 {
		var zero T
		return zero, invalidLimit("limit", d)
	}
	var (
		sctx   context.Context
		cancel context.CancelFunc
	)
	if named {
		sctx, cancel = context.WithTimeoutCause(ctx, d, &Error{Name: name, Limit: d})
	} else {
		sctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()
	v, err := fn(sctx)
	if sctx.Err() != nil {
		if terr := expired(sctx, ownDeadline(ctx, sctx), name, d, err); terr != nil {
			var zero T
			return zero, terr
		}
	}
	return v, err
}

// ownDeadline reports whether ctx, derived from parent and now ended, ended
// on a deadline of its own: one earlier than parent's. What ends later
// (parent's deadline, the caller's cancellation) does not change that.
func ownDeadline(parent, ctx context.Context) bool {
	if parent.Err() == nil {
		return true
	}
	dl, _ := ctx.Deadline()
	pdl, ok := parent.Deadline()
	return !ok || dl.Before(pdl)
}

// expired returns the error of a scope (name, d) whose context ctx has
// ended while fn ran and returned err: a *Error naming the scope whose
// deadline fired first (its own if own, see ownDeadline), or nil if the
// caller ended ctx.
func expired(ctx context.Context, own bool, name string, d time.Duration, err error) error {
	var inner *Error
	if errors.As(err, &inner) {
		return err // an inner scope has reported it already
	}
	if ctx.Err() != context.DeadlineExceeded {
		return nil // the caller canceled first
	}
	if own {
		return &Error{Name: name, Limit: d, Err: err}
	}
	if c, ok := context.Cause(ctx).(*Error); ok {
		return &Error{Name: c.Name, Limit: c.Limit, Err: err} // an enclosing scope's
	}
	return nil // the caller's own deadline
}

func invalidLimit(field string, d time.Duration) error {
	return fmt.Errorf("%w: %s is %v", ErrInvalidLimit, field, d)
}

// Remaining returns the time left until ctx's deadline, never negative,
// and true; or 0 and false if ctx has no deadline. Use it to size work (a
// batch, a downstream timeout header) to the budget that is left.
func Remaining(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return max(time.Until(dl), 0), true
}
