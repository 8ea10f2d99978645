package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
	"github.com/seed94f50169/resilience/timeout"
)

// DefaultMaxRetryAfter is the longest Retry-After hint honoured when
// Recovery.MaxRetryAfter is zero: retry's own default.
const DefaultMaxRetryAfter = retry.DefaultMaxRetryAfter

// Recovery is one fault-tolerance configuration shared by Do, Transport and
// Handler. Every field is optional: a nil or zero field is left out of the
// stack and costs nothing. A Recovery must not be modified once in use; it is
// safe for concurrent use by any number of calls.
type Recovery struct {
	// Retry re-runs failed attempts. Nil: one attempt, no retries.
	Retry *retry.Policy

	// RateLimit bounds the rate of calls, outermost, one token bucket per
	// key: Handler refuses a request over its key's rate with 429 Too Many
	// Requests and a Retry-After, the key being RateLimitKey(req); Do
	// (key "") and Transport (key req.URL.Host) wait for a token, as
	// ratelimit.Limiter.Wait does (bounded by the Group's MaxWait and the
	// context's deadline), before the Total budget starts. A refusal is
	// never retried and never reaches the breaker. Nil: no rate limit.
	RateLimit *ratelimit.Group

	// RateLimitKey picks a request's RateLimit key in Handler. Default: the
	// client's IP address, from req.RemoteAddr (behind a proxy, take it
	// from the header the proxy sets).
	RateLimitKey func(req *http.Request) string

	// Hedge sends hedged requests: each attempt of the retry loop is one
	// hedge.Do, whose attempts each go through Throttle, Breaker, Bulkhead,
	// Limit and Timeout (see hedge.go for the order). Transport hedges only
	// the requests it may send twice, as for retries. Nil: no hedging.
	Hedge *hedge.Policy

	// Throttle rejects attempts locally, before the breaker, with the
	// probability its history of accepts gives (client-side adaptive
	// throttling): an attempt it refuses never reaches the breaker or the
	// backend, and is retried only if Retry.Retryable accepts it. Every
	// attempt that reached the backend reports its outcome to it. Nil: no
	// throttle. Transport uses HostThrottle instead when that is set;
	// Handler ignores it.
	Throttle *throttle.Throttle

	// HostThrottle, when set, makes each Transport keep one throttle per
	// req.URL.Host, built from this configuration. At most MaxHosts are
	// created; further hosts share Throttle (none if nil). Do and Handler
	// ignore it.
	HostThrottle *throttle.Config

	// Breaker guards every attempt of Do and Transport: rejected attempts
	// fail fast with breaker.ErrOpen or breaker.ErrTooManyCalls. Nil: no
	// breaker. Transport uses HostBreaker instead when that is set. Handler
	// ignores it: a server's breaker would turn every route into a 503
	// because one dependency or one route fails.
	Breaker *breaker.Breaker

	// HostBreaker, when set, makes each Transport keep one breaker per
	// req.URL.Host in a breaker.Group built from this configuration (its
	// OnStateChange, if any, is called as well as Hooks.OnStateChange). At
	// most MaxHosts breakers are created; further hosts share Breaker. Do
	// and Handler ignore it.
	HostBreaker *breaker.Config

	// Bulkhead bounds concurrent attempts (Do, Transport) or requests
	// (Handler). Nil: unbounded. A bulkhead rejection is retried only if
	// Retry.Retryable is set and returns true for it.
	Bulkhead *bulkhead.Bulkhead

	// Limit bounds concurrent attempts (Do, Transport) or requests
	// (Handler) by an adaptive limit, just inside Bulkhead: every attempt
	// that reached the backend reports its outcome, and the RTT its token
	// measured. A limit rejection is handled like a bulkhead one: retried
	// only if Retry.Retryable accepts it, neither a success nor a failure to
	// the breaker, answered 503 by Handler. Nil: no adaptive limit.
	// Transport uses HostLimit instead when that is set.
	Limit *limit.Limiter

	// HostLimit, when set, makes each Transport keep one adaptive limiter
	// per req.URL.Host, built from this configuration. At most MaxHosts
	// are created; further hosts share Limit (none if nil). Do and Handler
	// ignore it.
	HostLimit *limit.Config

	// Timeout limits each attempt (Do, Transport) or each request (Handler).
	// Zero or negative: no per-attempt limit.
	Timeout time.Duration

	// Total limits the whole call, every attempt and wait included (Do,
	// Transport; Handler uses it when Timeout is zero, from the moment a
	// request holds a bulkhead slot). Zero or negative: no limit.
	Total time.Duration

	// Tracker records every failed attempt, rejections included, and every
	// failed request served by Handler (once each). Nil: nothing is tracked.
	Tracker *errtrack.Tracker

	// FailureStatus reports whether a response status is a failure
	// (Transport) or a failed request (Handler). Default: 429 and every 5xx.
	FailureStatus func(code int) bool

	// MaxRetryAfter bounds the Retry-After header a Transport honours, how
	// long retry may wait for an open breaker (see retry.Policy.MaxOpenWait),
	// and the Retry-After Handler sends; when set, it takes the place of
	// Retry.MaxRetryAfter. Zero: Retry.MaxRetryAfter if set, else
	// DefaultMaxRetryAfter (1 minute).
	MaxRetryAfter time.Duration

	// Hooks observe every event in one place. Nil hooks cost nothing.
	Hooks Hooks

	// DeadlineHeader names the request header that carries a request's
	// remaining time budget across hops, in gRPC's grpc-timeout format
	// ("250m" is 250 ms; see FormatTimeout): Transport sends it, Handler
	// honours it. Default DefaultDeadlineHeader ("Request-Timeout");
	// "Grpc-Timeout" speaks to gRPC peers; NoDeadlineHeader ("-") turns
	// propagation off in both directions.
	DeadlineHeader string

	// DeadlineMargin is what Transport takes off the time left on an
	// attempt's context before sending the rest in DeadlineHeader: the
	// request's time on the wire and the answer's way back. Default
	// DefaultDeadlineMargin (5ms); negative: none.
	DeadlineMargin time.Duration

	// Shed, when set, queues Handler's requests by priority in front of
	// the Bulkhead and sheds them under overload (see Shedder). Nil: no
	// shedding. Do and Transport ignore it.
	Shed *Shedder

	// Observers receive every event the Hooks see and more (see Observer),
	// side by side with the Hooks and with one another. Default none: no
	// Event is built for them.
	Observers []Observer
}

// MaxHosts is the number of per-host breakers a Transport creates at most.
const MaxHosts = 1024

// Hooks are optional callbacks. They run synchronously on the goroutine of
// the call they describe (OnStateChange: wherever the breaker reports the
// change; calls for different transitions may run concurrently), outside any
// lock; they must be quick and must not panic.
type Hooks struct {
	// OnAttempt is called after every attempt that ran, with its error
	// (nil on success).
	OnAttempt func(Event)
	// OnRetry is called before every attempt but the first, with the error
	// that caused it.
	OnRetry func(Event)
	// OnReject is called when the rate limit, the throttle, the breaker,
	// the bulkhead or the adaptive limit refuses an attempt, or Handler
	// sheds a request.
	OnReject func(Event)
	// OnStateChange is called when a per-host breaker (see
	// Recovery.HostBreaker) changes state. A Breaker built by the caller
	// reports through its own breaker.Config.OnStateChange.
	OnStateChange func(host string, from, to breaker.State)
	// OnFallback is called when Do turns to its fallbacks (the caller's
	// context still alive), with the error that made it.
	OnFallback func(Event)
	// OnPanic is called when Handler recovers a panic of the handler it
	// wraps (http.ErrAbortHandler excepted), with the *PanicError (value
	// and stack) as Err and the request, whose context, method and URL
	// identify it. Nil: Handler logs the panic to the server's ErrorLog,
	// else to the log package's standard logger; set OnPanic to a function
	// that does nothing to silence it.
	OnPanic func(Event)
}

// Event describes one attempt, retry, rejection, fallback or recovered
// panic.
type Event struct {
	// Attempt is the attempt number, starting at 1 (0 for Handler and
	// fallback events).
	Attempt int
	// Err is the attempt's error, the rejection, or the error that led to
	// a retry or fallback.
	Err error
	// Host is the request's host (Transport, Handler); "" for Do.
	Host string
	// Request is the request Handler is serving (OnReject, OnPanic); nil
	// for Do and Transport events. Hooks must not keep it, nor read its
	// body.
	Request *http.Request

	// Kind says what the event reports (see EventKind).
	Kind EventKind
	// Ctx is the context of the call or request, so that a trace or
	// request id can be read from it.
	Ctx context.Context
	// Method and URL identify the HTTP request (Transport, Handler); ""
	// and nil for Do.
	Method string
	URL    *url.URL
	// Duration is how long the attempt (EventAttempt) or the request
	// (EventRequest) took.
	Duration time.Duration
	// Delay and Reason are the wait before the attempt and what chose it
	// (EventRetry).
	Delay  time.Duration
	Reason retry.DelayReason
	// Status is the HTTP status of the response (Transport attempts) or of
	// the answer sent (Handler); 0 when there was none.
	Status int
	// Shed reports a request Handler refused without running it
	// (EventRequest).
	Shed bool
	// From and To are the states of an EventStateChange.
	From, To breaker.State
	// Scope names the timeout that fired (EventTimeout): "" for the
	// per-attempt Timeout, "total" for Total.
	Scope string
	// Step is the fallback that served (EventFallback).
	Step int
}

// Do calls fn through the stack r describes, outermost first: RateLimit,
// Total timeout, Retry, Hedge, Throttle, Breaker, Bulkhead, Limit,
// per-attempt Timeout. If the result is still an
// error and fallbacks are given, they are tried in order (see fallback.Do)
// with the caller's ctx. A nil r calls fn directly.
//
// The total budget is a named scope (see timeout.DoNamed): when it is what
// cut an attempt short, the *timeout.Error has Name "total", and when retry
// gave up because its next wait would end past it, the
// *retry.ExhaustedError has Scope "total"; the per-attempt limit is unnamed
// (Name "", Limit Timeout), which keeps it as cheap as context.WithTimeout.
//
// A rejection by an open breaker fails fast, unless Retry's backoff or its
// MaxOpenWait lets the call wait for the breaker to half-open (see the
// package documentation).
//
// A panic in fn releases the bulkhead slot, counts as a breaker failure and
// propagates to the caller.
func Do[T any](ctx context.Context, r *Recovery, fn func(context.Context) (T, error), fallbacks ...fallback.Func[T]) (T, error) {
	var v T
	var err error
	if r == nil {
		v, err = fn(ctx)
	} else if err = r.waitRate(ctx, ""); err == nil {
		var s stack[T] // set field by field: a literal would be built aside, then copied
		s.r, s.b, s.lim, s.thr, s.hedge = r, r.Breaker, r.Limit, r.Throttle, r.Hedge
		s.fn, s.caller = fn, ctx
		s.perAttempt, s.retry = true, r.Retry != nil
		if r.Total > 0 {
			v, err = timeout.DoNamed(ctx, "total", r.Total, s.run)
		} else {
			v, err = s.run(ctx)
		}
	}
	if err == nil || len(fallbacks) == 0 {
		return v, err
	}
	if r != nil && r.Hooks.OnFallback != nil && ctx.Err() == nil {
		r.Hooks.OnFallback(Event{Err: err})
	}
	first := func(context.Context) (T, error) { return v, err }
	if r != nil && r.observed() && ctx.Err() == nil {
		return observeFallback(ctx, r, first, err, fallbacks)
	}
	return fallback.Do(ctx, first, fallbacks...)
}

// stack is one call's way through Retry, Breaker, Bulkhead and Timeout.
type stack[T any] struct {
	r          *Recovery
	b          *breaker.Breaker
	lim        *limit.Limiter
	thr        *throttle.Throttle
	fn         func(context.Context) (T, error)
	host       string
	caller     context.Context // the caller's context, outside Total; nil if unknown
	perAttempt bool            // apply r.Timeout around fn (Transport does it itself)
	retry      bool            // use r.Retry
	n          int             // attempts started
	prev       error           // the last attempt's error

	hedge   *hedge.Policy                                          // hedge each attempt of the retry loop
	hedgeFn func(context.Context) func(context.Context) (T, error) // Transport: the attempts' fn, per hedged call
	parent  context.Context                                        // an attempt of a hedged call: the call's context

	req *http.Request // Transport: the request, for its method and URL
	obs observation   // what observers are told; see observe.go
}

// run makes the call's attempts under ctx (inside Total). Every wait
// between attempts, an open breaker's included, is retry's to decide.
func (s *stack[T]) run(ctx context.Context) (T, error) {
	if !s.retry {
		return s.one(ctx)
	}
	var v T
	var err error
	switch r := s.r; {
	case r.observed():
		v, err = s.runTapped(ctx)
	case r.MaxRetryAfter > 0 && r.MaxRetryAfter != r.Retry.MaxRetryAfter:
		p := *r.Retry
		p.MaxRetryAfter = r.MaxRetryAfter // the bound Transport parsed hints with
		v, err = retry.Do(ctx, p, s.one)
	case s.hedge == nil: // retry's own bound is r.maxRetryAfter() already
		v, err = retry.Do(ctx, *r.Retry, s.attempt)
	default:
		v, err = retry.Do(ctx, *r.Retry, s.hedged)
	}
	if err != nil && s.r.Total > 0 {
		s.nameTotal(ctx, err)
	}
	return v, err
}

// nameTotal names the Total budget in err when retry gave up because the
// deadline of ctx was too near and that deadline is Total's, not one the
// caller set.
func (s *stack[T]) nameTotal(ctx context.Context, err error) {
	var ex *retry.ExhaustedError
	if s.caller == nil || !errors.As(err, &ex) || !errors.Is(ex, context.DeadlineExceeded) {
		return
	}
	dl, _ := ctx.Deadline()
	if cdl, ok := s.caller.Deadline(); !ok || cdl.After(dl) {
		ex.Scope = "total"
	}
}

// errPanicked is the outcome a breaker records for an attempt that
// panicked.
var errPanicked = errors.New("middleware: attempt panicked")

// attempt is one attempt of the retry loop, or of a hedged call: through
// Throttle, Breaker, Bulkhead, Limit and the per-attempt Timeout to fn.
func (s *stack[T]) attempt(ctx context.Context) (T, error) {
	s.n++
	if s.n > 1 || s.r.observed() {
		s.starting(ctx)
	}
	var tp throttle.Permit
	if s.thr != nil {
		var err error
		if tp, err = s.thr.Allow(); err != nil {
			var zero T
			return zero, s.bulkheadRejected(err)
		}
	}
	v, how, err := s.guarded(ctx)
	if s.thr != nil && how != breakerRefused {
		s.throttled(ctx, tp, err, how == full)
	}
	if err != nil {
		return v, s.settle(ctx, how, err)
	}
	if s.r.Hooks.OnAttempt != nil || s.r.observed() {
		s.succeeded(v)
	}
	return v, nil
}

// starting reports the retry that led to an attempt, to OnRetry, and the
// attempt's start to the observers.
func (s *stack[T]) starting(ctx context.Context) {
	if f := s.r.Hooks.OnRetry; s.n > 1 && f != nil {
		f(Event{Attempt: s.n, Err: s.prev, Host: s.host})
	}
	if s.r.observed() {
		s.begin(ctx)
	}
}

// settle reports a failed attempt (how far it got, its error) and returns
// the error retry is to see.
func (s *stack[T]) settle(ctx context.Context, how admission, err error) error {
	switch {
	case how == breakerRefused:
		s.reject(err)
		s.prev = err
	case how == full && ctx.Err() == nil:
		return s.bulkheadRejected(err)
	case s.lost(ctx, err):
		// another attempt of a hedged call won
	default:
		s.failed(err)
	}
	return err
}

// succeeded reports a successful attempt to OnAttempt and the observers.
func (s *stack[T]) succeeded(v T) {
	if f := s.r.Hooks.OnAttempt; f != nil {
		f(Event{Attempt: s.n, Host: s.host})
	}
	if s.r.observed() {
		s.attempted(v, nil)
	}
}

// admission says how far an attempt got.
type admission uint8

const (
	reached        admission = iota // past every gate: fn ran
	breakerRefused                  // the breaker refused the attempt
	full                            // the bulkhead or the adaptive limit refused it
)

// guarded runs fn inside the breaker, the bulkhead, the adaptive limit and
// the per-attempt timeout, and reports how far the attempt got. A panic in
// fn releases the bulkhead slot and counts as a breaker failure on its way
// up.
func (s *stack[T]) guarded(ctx context.Context) (v T, how admission, err error) {
	var p breaker.Permit
	if s.b != nil {
		if p, err = s.b.Allow(); err != nil {
			return v, breakerRefused, err
		}
	}
	bh := s.r.Bulkhead
	if bh != nil {
		if err = bh.Acquire(ctx); err != nil {
			p.Ignore() // the attempt never reached the backend
			return v, full, err
		}
	}
	finished := false
	defer func() {
		if !finished { // fn panicked
			s.unwind(p, bh)
		}
	}()
	switch d := s.r.Timeout; {
	case s.lim != nil:
		v, how, err = s.limited(ctx)
	case d > 0 && s.perAttempt:
		v, err = timeout.Do(ctx, d, s.fn)
	default:
		v, err = s.fn(ctx)
	}
	finished = true
	if bh != nil {
		bh.Release()
	}
	switch {
	case s.b == nil:
	case err == nil && how == reached:
		p.Done(nil)
	default:
		reportBreaker(p, how, err)
	}
	return v, how, err
}

// reportBreaker gives the breaker the outcome of the attempt p admitted,
// or nothing when the attempt never reached the backend.
func reportBreaker(p breaker.Permit, how admission, err error) {
	if how == full || err != nil && (isLocal(err) || errors.Is(err, errLost)) {
		p.Ignore()
	} else {
		p.Done(err)
	}
}

// unwind releases what an attempt whose fn panicked holds: its bulkhead
// slot, and its breaker permit, as a failure.
func (s *stack[T]) unwind(p breaker.Permit, bh *bulkhead.Bulkhead) {
	if bh != nil {
		bh.Release()
	}
	if s.b != nil {
		p.Done(errPanicked)
	}
}

// call runs fn inside the per-attempt timeout.
func (s *stack[T]) call(ctx context.Context) (T, error) {
	if d := s.r.Timeout; d > 0 && s.perAttempt {
		return timeout.Do(ctx, d, s.fn)
	}
	return s.fn(ctx)
}

// bulkheadRejected records a bulkhead, limit or throttle rejection, which
// is retried only if the retry policy's own Retryable says so.
func (s *stack[T]) bulkheadRejected(err error) error {
	s.reject(err)
	s.prev = err
	if s.retry {
		if f := s.r.Retry.Retryable; f == nil || !f(err) {
			return retry.Permanent(err)
		}
	}
	return err
}

func (s *stack[T]) reject(err error) {
	if t := s.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := s.r.Hooks.OnReject; f != nil {
		f(Event{Attempt: s.n, Err: err, Host: s.host})
	}
	if s.r.observed() {
		s.rejected(err)
	}
}

func (s *stack[T]) failed(err error) {
	s.prev = err
	if t := s.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := s.r.Hooks.OnAttempt; f != nil {
		f(Event{Attempt: s.n, Err: err, Host: s.host})
	}
	if s.r.observed() {
		var zero T
		s.attempted(zero, err)
	}
}

// Validate reports the first invalid part of r, naming its field: a Retry
// policy, HostBreaker, HostLimit or HostThrottle configuration or Hedge
// policy that its own Validate rejects, or a DeadlineHeader that is not a
// valid header name. Zero
// and negative durations are valid: they turn their layer off. Do and
// Handler never fail on an invalid r (retry takes its defaults); Transport
// panics on an invalid HostBreaker, HostLimit, HostThrottle or
// DeadlineHeader.
func (r *Recovery) Validate() error {
	if r.Retry != nil {
		if err := r.Retry.Validate(); err != nil {
			return fmt.Errorf("middleware: Retry: %w", err)
		}
	}
	if r.HostBreaker != nil {
		if err := r.HostBreaker.Validate(); err != nil {
			return fmt.Errorf("middleware: HostBreaker: %w", err)
		}
	}
	if r.Hedge != nil {
		if err := r.Hedge.Validate(); err != nil {
			return fmt.Errorf("middleware: Hedge: %w", err)
		}
	}
	if r.HostLimit != nil {
		if err := r.HostLimit.Validate(); err != nil {
			return fmt.Errorf("middleware: HostLimit: %w", err)
		}
	}
	if r.HostThrottle != nil {
		if err := r.HostThrottle.Validate(); err != nil {
			return fmt.Errorf("middleware: HostThrottle: %w", err)
		}
	}
	return r.validateDeadlineHeader()
}

func (r *Recovery) maxRetryAfter() time.Duration {
	if r.MaxRetryAfter > 0 {
		return r.MaxRetryAfter
	}
	if r.Retry != nil && r.Retry.MaxRetryAfter > 0 {
		return r.Retry.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

func (r *Recovery) isFailureStatus(code int) bool {
	if r.FailureStatus != nil {
		return r.FailureStatus(code)
	}
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// retryAfter returns err's RetryAfter hint, or 0.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}
