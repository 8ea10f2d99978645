package middleware

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/timeout"
)

// Observer receives a Recovery's events: the same ones its Hooks see, and
// a few more (EventTimeout, EventRequest). Any number of observers may be
// attached through Recovery.Observers, next to Hooks; each sees every event,
// in slice order, after the matching hook. Observe runs synchronously on the
// goroutine of the call it describes (EventStateChange: wherever the breaker
// reports the change), outside any lock; it must be quick, must not panic,
// and must not keep Event.Request nor read its body.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// EventKind says what an Event reports. The zero value, EventUnknown, is
// what the hooks of Hooks receive only from code that builds Events itself.
type EventKind uint8

const (
	// EventUnknown is the zero EventKind.
	EventUnknown EventKind = iota
	// EventAttempt: an attempt ran (Do, Transport), with its Duration and
	// its Err (nil on success) and, for Transport, the response's Status.
	EventAttempt
	// EventRetry: attempt Attempt is about to start after Delay, chosen for
	// Reason, because of Err.
	EventRetry
	// EventReject: the rate limit, the throttle, the breaker, the bulkhead
	// or the adaptive limit refused an attempt, or Handler shed a request
	// (Status then is the status sent: 429 or 503).
	EventReject
	// EventStateChange: a per-host breaker (Host) moved From → To.
	EventStateChange
	// EventFallback: Do turned to its fallbacks because of Err; Step is the
	// fallback that served (1 for the first), 0 if none did.
	EventFallback
	// EventPanic: Handler recovered a panic (Err is the *PanicError).
	EventPanic
	// EventTimeout: the per-attempt Timeout or the Total budget (Scope "" or
	// "total") cut an attempt short.
	EventTimeout
	// EventRequest: Handler finished a request with Status after Duration
	// (shed and panicked requests included).
	EventRequest
	// EventExhausted: retry gave up after Attempt attempts; Err is the
	// *retry.ExhaustedError.
	EventExhausted
)

// String returns the kind's snake_case name ("attempt", "retry",
// "reject", "state_change", "fallback", "panic", "timeout", "request",
// "exhausted"; "unknown" for EventUnknown).
func (k EventKind) String() string {
	switch k {
	case EventAttempt:
		return "attempt"
	case EventRetry:
		return "retry"
	case EventReject:
		return "reject"
	case EventStateChange:
		return "state_change"
	case EventFallback:
		return "fallback"
	case EventPanic:
		return "panic"
	case EventTimeout:
		return "timeout"
	case EventRequest:
		return "request"
	case EventExhausted:
		return "exhausted"
	}
	return "unknown"
}

// observed reports whether anyone but the Hooks listens.
func (r *Recovery) observed() bool { return len(r.Observers) != 0 }

// notify hands e to every observer, in order.
func (r *Recovery) notify(e Event) {
	for _, o := range r.Observers {
		o.Observe(e)
	}
}

// onStateChange is the OnStateChange of a Transport's per-host breakers:
// Hooks.OnStateChange, and the observers when there are any.
func (r *Recovery) onStateChange() func(host string, from, to breaker.State) {
	if !r.observed() {
		return r.Hooks.OnStateChange
	}
	return func(host string, from, to breaker.State) {
		if f := r.Hooks.OnStateChange; f != nil {
			f(host, from, to)
		}
		r.notify(Event{Kind: EventStateChange, Host: host, From: from, To: to})
	}
}

// observation is what a stack keeps for its observers: the attempt's
// context and start, and the wait retry chose before it.
type observation struct {
	ctx   context.Context
	start time.Time
	tap   *retryTap // nil without retries
}

// retryTap is a stack's observer on its retry policy: it keeps the delay
// and reason of each retry for the EventRetry of the next attempt, and
// reports the exhaustion of retries. The stack points to it, not the
// other way round, so that the stack itself never escapes; taps are
// pooled, so that an observed call allocates none.
//
// A tap belongs to one retry.Do at a time: runTapped takes it from taps,
// hands observers (the policy's own, then the tap) to retry.Do, and puts
// it back once retry.Do has returned, when nothing refers to it any more
// (retry keeps no observer past Do, and only the attempts of the retry
// loop itself, not hedges, read it).
type retryTap struct {
	r         *Recovery
	host      string
	req       *http.Request
	delay     time.Duration
	reason    retry.DelayReason
	observers []retry.Observer
}

var taps = sync.Pool{New: func() any { return new(retryTap) }}

// runTapped is run's retry loop under observation.
func (s *stack[T]) runTapped(ctx context.Context) (T, error) {
	r := s.r
	t := taps.Get().(*retryTap)
	t.r, t.host, t.req = r, s.host, s.req
	t.observers = append(append(t.observers[:0], r.Retry.Observers...), t)
	p := *r.Retry
	p.MaxRetryAfter = r.maxRetryAfter() // the bound Transport parsed hints with
	p.Observers = t.observers
	s.obs.tap = t
	v, err := retry.Do(ctx, p, s.one)
	s.obs.tap = nil
	clear(t.observers)
	*t = retryTap{observers: t.observers[:0]}
	taps.Put(t)
	return v, err
}

// Observe implements retry.Observer.
func (t *retryTap) Observe(e retry.Event) {
	switch e.Kind {
	case retry.EventRetry:
		t.delay, t.reason = e.Delay, e.Reason
	case retry.EventExhausted:
		ev := Event{Kind: EventExhausted, Ctx: e.Ctx, Attempt: e.Attempt, Err: e.Err, Host: t.host}
		if t.req != nil {
			ev.Method, ev.URL = t.req.Method, t.req.URL
		}
		t.r.notify(ev)
	}
}

// event returns an Event of kind for the current attempt.
func (s *stack[T]) event(kind EventKind, err error) Event {
	e := Event{Kind: kind, Attempt: s.n, Err: err, Host: s.host, Ctx: s.obs.ctx}
	if s.req != nil {
		e.Method, e.URL = s.req.Method, s.req.URL
	}
	return e
}

// begin starts an attempt under observation: it reports the retry that
// led to it and notes its start.
func (s *stack[T]) begin(ctx context.Context) {
	s.obs.ctx = ctx
	if s.n > 1 && s.parent == nil {
		e := s.event(EventRetry, s.prev)
		if t := s.obs.tap; t != nil {
			e.Delay, e.Reason = t.delay, t.reason
		}
		s.r.notify(e)
	}
	s.obs.start = time.Now()
}

// attempted reports an attempt that ran, and the timeout that cut it
// short, if one did.
func (s *stack[T]) attempted(v T, err error) {
	e := s.event(EventAttempt, err)
	e.Duration = time.Since(s.obs.start)
	if resp, ok := any(v).(*http.Response); s.req != nil && ok && resp != nil {
		e.Status = resp.StatusCode
	} else if sc, ok := err.(interface{ StatusCode() int }); ok {
		e.Status = sc.StatusCode()
	}
	s.r.notify(e)
	if err != nil {
		s.timedOut(e)
	}
}

// timedOut reports the timeout that cut the attempt of e short, if one
// did.
func (s *stack[T]) timedOut(e Event) {
	var te *timeout.Error
	if errors.As(e.Err, &te) {
		e.Kind, e.Scope = EventTimeout, te.Name
		s.r.notify(e)
	}
}

// rejected reports a rejection of the attempt.
func (s *stack[T]) rejected(err error) {
	s.r.notify(s.event(EventReject, err))
}

// observeFallback runs the fallback chain of Do, reporting which step
// served (Step 0: none did).
func observeFallback[T any](ctx context.Context, r *Recovery, first func(context.Context) (T, error), cause error, fallbacks []fallback.Func[T]) (T, error) {
	step := 0
	wrapped := make([]fallback.Func[T], len(fallbacks))
	for i, f := range fallbacks {
		wrapped[i] = func(ctx context.Context, err error) (T, error) {
			v, ferr := f(ctx, err)
			if ferr == nil {
				step = i + 1
			}
			return v, ferr
		}
	}
	v, err := fallback.Do(ctx, first, wrapped...)
	r.notify(Event{Kind: EventFallback, Ctx: ctx, Err: cause, Step: step})
	return v, err
}

// observeShed reports a request Handler refused with status.
func (r *Recovery) observeShed(req *http.Request, err error, status int) {
	e := Event{Kind: EventReject, Ctx: req.Context(), Err: err, Host: req.Host, Request: req, Method: req.Method, URL: req.URL, Status: status}
	r.notify(e)
	e.Kind, e.Shed = EventRequest, true
	r.notify(e)
}

// observeRequest reports a request Handler served, with the status the
// client got (0 for a hijacked connection or an aborted response).
func (h *handler) observeRequest(tw *timeoutWriter, req *http.Request, failure error, start time.Time) {
	tw.mu.Lock()
	code, timedOut, hijacked := tw.code, tw.timedOut, tw.hijacked
	tw.mu.Unlock()
	var pe *PanicError
	switch {
	case timedOut:
		code = http.StatusServiceUnavailable
	case hijacked:
		code = 0
	case errors.As(failure, &pe):
		if code == 0 {
			code = http.StatusInternalServerError
		} else {
			code = 0 // aborted
		}
	case code == 0:
		code = http.StatusOK // net/http's implicit answer
	}
	h.r.notify(Event{Kind: EventRequest, Ctx: req.Context(), Err: failure, Host: req.Host, Request: req,
		Method: req.Method, URL: req.URL, Status: code, Duration: time.Since(start)})
}
