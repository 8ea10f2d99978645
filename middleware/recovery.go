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
		s := stack[T]{r: r, b: r.Breaker, lim: r.Limit, thr: r.Throttle, fn: fn, perAttempt: true, retry: r.Retry != nil, caller: ctx, hedge: r.Hedge}
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
	p := *s.r.Retry
	p.MaxRetryAfter = s.r.maxRetryAfter() // the bound Transport parsed hints with
	if s.r.observed() {
		s.obs.tap = &retryTap{r: s.r, host: s.host, req: s.req}
		p.Observers = append(p.Observers[:len(p.Observers):len(p.Observers)], s.obs.tap)
	}
	v, err := retry.Do(ctx, p, s.one)
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

func (s *stack[T]) attempt(ctx context.Context) (v T, err error) {
	s.n++
	h := &s.r.Hooks
	if s.n > 1 && h.OnRetry != nil {
		h.OnRetry(Event{Attempt: s.n, Err: s.prev, Host: s.host})
	}
	if s.r.observed() {
		s.begin(ctx)
	}
	var tp throttle.Permit
	if s.thr != nil {
		var terr error
		if tp, terr = s.thr.Allow(); terr != nil {
			return v, s.bulkheadRejected(terr)
		}
	}
	var full bool // the bulkhead refused the attempt
	if s.b != nil {
		p, rerr := s.b.Allow()
		if rerr != nil {
			s.reject(rerr)
			s.prev = rerr
			return v, rerr
		}
		ok := false
		defer func() {
			if !ok {
				p.Done(errPanicked)
			}
		}()
		v, full, err = s.guarded(ctx)
		ok = true
		if full || isLocal(err) || errors.Is(err, errLost) {
			p.Ignore() // the attempt never reached the backend
		} else {
			p.Done(err)
		}
	} else {
		v, full, err = s.guarded(ctx)
	}
	s.throttled(ctx, tp, err, full)
	switch {
	case full && ctx.Err() == nil:
		return v, s.bulkheadRejected(err)
	case err != nil && s.lost(ctx, err):
		return v, err // another attempt of a hedged call won
	case err != nil:
		s.failed(err)
		return v, err
	}
	if h.OnAttempt != nil {
		h.OnAttempt(Event{Attempt: s.n, Host: s.host})
	}
	if s.r.observed() {
		s.attempted(v, nil)
	}
	return v, nil
}

// guarded runs fn inside the bulkhead, the adaptive limit and the
// per-attempt timeout. full reports that the bulkhead or the limit refused
// the attempt.
func (s *stack[T]) guarded(ctx context.Context) (v T, full bool, err error) {
	if bh := s.r.Bulkhead; bh != nil {
		if err := bh.Acquire(ctx); err != nil {
			return v, true, err
		}
		defer bh.Release()
	}
	if s.lim != nil {
		return s.limited(ctx)
	}
	v, err = s.call(ctx)
	return v, false, err
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
