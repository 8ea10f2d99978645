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
// unchanged. A call nested in fn that this deadline cuts short reports the
// same *Error.
//
// fn must watch its context (see the package documentation); Do cannot
// stop it and always waits for it. A limit d <= 0 is an error matching
// ErrInvalidLimit, and fn is not called. Do allocates once (fn's context)
// when fn does not watch Done, where context.WithTimeout allocates four
// times; watching Done costs one allocation more (a channel), or three
// under a caller's context that can be canceled (WithTimeout: one more).
func Do[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	return run(ctx, "", d, false, fn)
}

// DoNamed is Do for a named scope: a pipeline, a step, a tool. A call
// nested in it, cut short because this scope's deadline fired first,
// reports this scope's Name and Limit rather than its own; and when the
// scope's own deadline fires, the context's context.Cause is a *Error
// with its Name and Limit. It costs what Do costs.
func DoNamed[T any](ctx context.Context, name string, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	return run(ctx, name, d, true, fn)
}

func run[T any](ctx context.Context, name string, d time.Duration, named bool, fn func(context.Context) (T, error)) (T, error) {
	if d <= 0 {
		var zero T
		return zero, invalidLimit("limit", d)
	}
	c := newScope(ctx, name, d, named)
	defer c.finish() // when fn panics
	v, err := fn(c)
	if b := c.finish(); b != nil {
		if terr := c.expired(b, err); terr != nil {
			timedOut(ctx, terr, err)
			var zero T
			return zero, terr
		}
	}
	return v, err
}

// expired returns the error of scope c, ended by b while fn ran and
// returned err: a *Error naming the scope whose deadline fired first (c's
// own, or an enclosing scope's), or nil if the caller ended it (its
// cancellation, or its own deadline).
func (c *scope) expired(b *errBox, err error) error {
	var inner *Error
	if errors.As(err, &inner) {
		return err // an inner scope has reported it already
	}
	if b != deadlineBox {
		return nil // the caller canceled first
	}
	if c.timed {
		return &Error{Name: c.name, Limit: c.limit, Err: err}
	}
	return scopeError(c.parent, c.deadline(), err)
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
