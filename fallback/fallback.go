package fallback

import (
	"context"
	"errors"
	"reflect"
	"strings"
)

// Func is a fallback: an alternative way to produce a result. It receives the
// error of the step before it (the operation's error for the first fallback).
// A Func that returns the very error it received passes that error on: it is
// not added to the chain a second time.
type Func[T any] func(ctx context.Context, err error) (T, error)

// Error is returned by [Do] when the operation and at least one fallback
// failed. It unwraps to every error of the chain, so errors.Is and errors.As
// match any of them.
type Error struct {
	// Errs holds the errors in the order they happened: the operation's
	// error first, then each failing fallback's, then the caller's context
	// error if the context ended and no earlier error matched it.
	Errs []error
}

// Error lists every error of the chain, oldest first.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fallback: every step failed")
	for i, err := range e.Errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; then: ")
		}
		if err == nil {
			b.WriteString("<nil>")
			continue
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the errors of the chain, for errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Errs }

// Do calls fn and, if it fails, each fallback in turn until one succeeds.
// The first success wins and its value is returned with a nil error. When
// fn succeeds, Do adds no allocation and a few nanoseconds to the call.
//
// Each fallback receives the error of the step before it. When every step
// fails, Do returns the zero T and an error that matches every error of the
// chain with errors.Is: the operation's error unchanged if no fallback added
// an error (none given, or every one passed the error on) and the caller's
// context has not ended, otherwise an [*Error].
//
// Once the caller's context has ended (ctx.Err() != nil), Do runs no further
// fallback, so a default value cannot hide the caller's own cancellation or
// deadline, and the error returned also matches ctx.Err(). A per-attempt
// deadline that fn derives from ctx leaves ctx alive, so it does trigger the
// fallbacks.
//
// A panic in fn or in a fallback is not recovered.
func Do[T any](ctx context.Context, fn func(context.Context) (T, error), fallbacks ...Func[T]) (T, error) {
	v, err := fn(ctx)
	if err == nil {
		return v, nil
	}
	return chain(ctx, err, fallbacks)
}

// chain runs the fallbacks after the operation failed with err. It is kept
// out of Do so that the success path stays short.
func chain[T any](ctx context.Context, err error, fallbacks []Func[T]) (_ T, rerr error) {
	var zero T
	var errs []error // allocated only once a second error arrives
	obs := observers(ctx)
	tried := 0
	for i, f := range fallbacks {
		if ctx.Err() != nil {
			break
		}
		tried++
		v, ferr := f(ctx, err)
		if ferr == nil {
			if len(obs) != 0 {
				observe(obs, Event{Kind: EventServed, Ctx: ctx, Step: i + 1, Err: err})
			}
			return v, nil
		}
		if !same(ferr, err) {
			if errs == nil {
				errs = append(make([]error, 0, 2+len(fallbacks)), err)
			}
			errs = append(errs, ferr)
			err = ferr
		}
	}
	if len(obs) != 0 {
		defer func() { observe(obs, Event{Kind: EventFailed, Ctx: ctx, Step: tried, Err: rerr}) }()
	}
	cerr := ctx.Err()
	if errs == nil {
		if cerr != nil && !errors.Is(err, cerr) {
			return zero, &Error{Errs: []error{err, cerr}}
		}
		return zero, err
	}
	if cerr != nil && !matches(errs, cerr) {
		errs = append(errs, cerr)
	}
	return zero, &Error{Errs: errs}
}

// same reports whether a and b are the same error. Comparing errors whose
// dynamic type cannot be compared with == panics; those are compared deeply.
func same(a, b error) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = reflect.DeepEqual(a, b)
		}
	}()
	return a == b
}

// matches reports whether any error of errs matches target.
func matches(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Value returns a fallback that always succeeds with v: the default of last
// resort.
func Value[T any](v T) Func[T] {
	return func(context.Context, error) (T, error) { return v, nil }
}

// When returns a fallback that runs f only for errors that match reports
// true for. For any other error it passes the error on unchanged, so the
// next fallback sees it as if this one were absent. Example:
//
//	fallback.When(func(err error) bool { return !errors.Is(err, ErrNotFound) }, cached)
func When[T any](match func(error) bool, f Func[T]) Func[T] {
	return func(ctx context.Context, err error) (T, error) {
		if !match(err) {
			var zero T
			return zero, err
		}
		return f(ctx, err)
	}
}

// From returns a fallback that ignores the error it receives and runs
// another operation instead, such as the same request to a backup endpoint.
func From[T any](fn func(context.Context) (T, error)) Func[T] {
	return func(ctx context.Context, _ error) (T, error) { return fn(ctx) }
}
