package ratelimit

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token-bucket rate limiter over golang.org/x/time/rate. Create
// one with New (the zero Limiter is not usable); it is safe for concurrent
// use.
type Limiter struct {
	lim      *rate.Limiter
	cfg      Config
	err      limitedError // returned by Allow's refusals
	rejected atomic.Uint64
	waited   atomic.Uint64
	group    *atomic.Uint64 // the Group's refusal count, if in a Group
}

// New returns a Limiter whose bucket starts full. It panics with the
// message of cfg.Validate() ("ratelimit: <Field> ...") if cfg is invalid.
func New(cfg Config) *Limiter {
	l := &Limiter{}
	l.init(cfg)
	return l
}

func (l *Limiter) init(cfg Config) {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	l.cfg = cfg.withDefaults()
	limit := rate.Limit(l.cfg.Rate)
	if math.IsInf(l.cfg.Rate, 1) {
		limit = rate.Inf
	}
	l.lim = rate.NewLimiter(limit, l.cfg.Burst)
	l.err.lim = l.lim
}

// Allow reports whether one event may happen now, taking a token if so. It
// returns nil, or an error matching ErrLimited whose RetryAfter is the
// time until the next token. It allocates nothing and costs one
// rate.Limiter.Allow, plus an atomic add when it refuses.
func (l *Limiter) Allow() error {
	if l.lim.Allow() {
		return nil
	}
	return l.reject(&l.err)
}

// reject counts and reports a refusal of Allow, which has no context.
func (l *Limiter) reject(err error) error {
	l.refused(err)
	if len(l.cfg.Observers) != 0 {
		notify(l.cfg.Observers, Event{Kind: EventReject, Err: err})
	}
	return err
}

// rejectWait counts and reports a refusal of Wait.
func (l *Limiter) rejectWait(ctx context.Context, err error) error {
	l.refused(err)
	if len(l.cfg.Observers) != 0 {
		notify(l.cfg.Observers, Event{Kind: EventReject, Ctx: ctx, Err: err})
	}
	return err
}

func (l *Limiter) refused(err error) {
	l.rejected.Add(1)
	if l.group != nil {
		l.group.Add(1)
	}
	if l.cfg.OnReject != nil {
		l.cfg.OnReject(err)
	}
}

// Wait waits for a token, and returns nil once it has it. When no token is
// due before ctx's deadline or before MaxWait, it does not wait: it cancels
// its reservation (so the token goes to others) and returns at once an
// error matching ErrLimited whose RetryAfter is the wait refused.
// If ctx ends while waiting, it cancels the reservation and returns
// ctx.Err(). When a token is there at once it allocates nothing; waiting
// costs a reservation and a timer.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.lim.Allow() {
		return nil
	}
	now := time.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() { // a zero burst: never
		return l.rejectWait(ctx, &limitedError{after: maxDuration})
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	dl, hasDeadline := ctx.Deadline()
	if l.cfg.MaxWait > 0 && d > l.cfg.MaxWait || hasDeadline && !now.Add(d).Before(dl) {
		r.CancelAt(now)
		return l.rejectWait(ctx, &limitedError{after: d})
	}
	l.waited.Add(1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		if len(l.cfg.Observers) != 0 {
			notify(l.cfg.Observers, Event{Kind: EventWait, Ctx: ctx, Wait: d})
		}
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// Stats is a snapshot of a Limiter.
type Stats struct {
	Rate   float64 // events per second (+Inf: no limit)
	Burst  int     // the bucket size
	Tokens float64 // tokens in the bucket now; negative while waiters hold reservations

	// Totals since New: events refused (by Allow or Wait) and Wait calls
	// that had to wait.
	Rejected, Waited uint64
}

// Stats returns a snapshot of the limiter.
func (l *Limiter) Stats() Stats {
	return Stats{
		Rate:     l.cfg.Rate,
		Burst:    l.cfg.Burst,
		Tokens:   l.lim.Tokens(),
		Rejected: l.rejected.Load(),
		Waited:   l.waited.Load(),
	}
}

// Do waits for a token with l.Wait, then runs fn. If Wait refuses or ctx
// ends first, Do returns that error without calling fn.
func Do[T any](ctx context.Context, l *Limiter, fn func(context.Context) (T, error)) (T, error) {
	if err := l.Wait(ctx); err != nil {
		var zero T
		return zero, err
	}
	return fn(ctx)
}

// Do is the non-generic form of the package-level Do.
func (l *Limiter) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := l.Wait(ctx); err != nil {
		return err
	}
	return fn(ctx)
}
