package middleware

import (
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

// Handler returns an http.Handler that serves requests with next under r's
// server-side policies, outermost first: RateLimit, Bulkhead, Limit, request
// timeout, panic recovery and error tracking. Retry, Throttle, Breaker, the
// Host* fields and fallbacks are client-side and do not apply to a server:
// Handler ignores them (see "One Recovery per dependency and per direction"
// in the package documentation).
//
// # Load shedding
//
// A request over its client's RateLimit (keyed by RateLimitKey) gets 429
// Too Many Requests; one the Bulkhead or the Limit refuses gets 503 Service
// Unavailable. Each has the plain status text as its body and a Retry-After
// header, and next is not called. Retry-After is the rejection's hint (the
// time until the client's next token, the bulkhead's queue timeout, the
// limiter's recent RTT) rounded up to whole seconds, at least 1, at most
// MaxRetryAfter. The rejection itself, with its detail, goes to the Tracker
// and Hooks.OnReject, never to the client. The Limit's token measures each
// request from admission until next returns, and hears its failure (a
// panic, a timeout, a failure status); a response aborted with
// http.ErrAbortHandler, or a failure after the client went away, feeds it
// nothing.
//
// With Shed set, a request first waits its turn in the Shedder (see
// Shedder: priorities, adaptive LIFO, CoDel), then for a bulkhead slot; a
// request the Shedder sheds gets the same 503 and Retry-After (the
// Shedder's Interval).
//
// # Request timeout
//
// Timeout (or Total when Timeout is zero) bounds each request, from the
// moment it holds a bulkhead slot (time spent queued is bounded by the
// bulkhead's QueueTimeout). next runs on the serving goroutine with a
// request context whose Deadline is the request's; no goroutine is started
// and the response is not buffered. At the deadline, from the runtime
// timer's goroutine, the context ends and, if next has written nothing
// yet, Handler answers 503 Service Unavailable with the body "request timed
// out" at once (with "Connection: close" on HTTP/1: next may not have read
// the request body, and still runs). From then on every write, flush, push,
// hijack or deadline change by next fails with http.ErrHandlerTimeout and
// touches nothing. If next has already started its response, the deadline
// only ends its context.
//
// The context's Err is then context.DeadlineExceeded and its context.Cause
// a *timeout.Error named "request". Contexts derived from it end at the
// same time with the same cause, but their Err is context.Canceled: so a
// timeout.Do inside next that the request's deadline cuts short returns
// fn's result as it is, not a *timeout.Error. (A context that can stand
// down on a hijack, below, cannot be one of the context package's timer
// contexts.)
//
// Handler returns only after next does: a handler that ignores its context
// holds its goroutine (as with any net/http handler), but can no longer
// corrupt the response. The bulkhead slot is released as soon as next
// returns, even while the timeout response is still on its way to a client
// that does not read it.
//
// # Deadlines from the caller
//
// A request may carry its caller's remaining budget in the DeadlineHeader
// (see Transport, FormatTimeout). Handler honours the smallest valid value
// among the header's first 8 (lines and comma-separated elements; invalid
// ones are ignored, so a hostile header can only shorten the request,
// never lengthen it past Timeout), counted from the request's arrival:
// time spent queued for the bulkhead is part of it. When the budget is the
// nearer deadline it takes Timeout's place above, with a *timeout.Error
// named "deadline" (Limit zero) as the cause, so the handler's own calls
// through a Transport send the next hop what is left. A budget spent on
// arrival, or while queued, gets 504 Gateway Timeout with the plain status
// text at once: next is not called, and the *timeout.Error goes to the
// Tracker and Hooks.OnReject. The header itself is removed from the
// request next sees (the deadline is in its context), so that a proxy
// forwards no stale budget and Transport sends what is left. With
// DeadlineHeader NoDeadlineHeader the header is neither read nor removed.
//
// # Hijacked connections
//
// A connection next hijacks (through http.Hijacker or
// http.ResponseController, as websocket upgraders and httputil.ReverseProxy
// do for Upgrade requests) belongs to next: the timeout stands down, the
// context no longer has the request's deadline and does not end at it.
// A hijack attempted after the timeout response fails with
// http.ErrHandlerTimeout.
//
// # ResponseWriter
//
// The writer next gets implements http.Flusher, http.Hijacker, http.Pusher,
// io.ReaderFrom and io.StringWriter, and the FlushError, SetReadDeadline,
// SetWriteDeadline and EnableFullDuplex methods http.ResponseController
// looks for, each passed on to the server's writer (http.ErrNotSupported
// where that lacks it). It has no Unwrap method: every call goes through
// the checks above.
//
// # Panics
//
// A panic in next becomes a 500 Internal Server Error with the plain status
// text if nothing was written yet; if the response had started it is
// aborted instead (the client sees a broken response, not a truncated one
// that looks whole). Handler keeps serving. The panic, as a *PanicError with
// its value and stack, goes to the Tracker and to Hooks.OnPanic; when
// OnPanic is nil, Handler logs it, as net/http logs the panics it recovers,
// to the serving http.Server's ErrorLog, or to the log package's standard
// logger if that is nil. To log panics elsewhere, or not at all, set
// OnPanic (func(middleware.Event) {} silences them). http.ErrAbortHandler is
// re-panicked, so net/http aborts the response quietly as usual; being
// deliberate, it is neither tracked nor logged.
//
// # Tracking
//
// Each failed request is tracked once, as a *PanicError, a *timeout.Error, a
// *StatusError (a status FailureStatus reports) or the rejection.
func (r *Recovery) Handler(next http.Handler) http.Handler {
	d := r.Timeout
	if d <= 0 {
		d = r.Total
	}
	return &handler{r: r, next: next, limit: d, te: &timeout.Error{Name: "request", Limit: d}, prop: r.propagation(), be: budgetError()}
}

type handler struct {
	r     *Recovery
	next  http.Handler
	limit time.Duration
	te    *timeout.Error // the deadline's cause, shared by every request

	expired func() // test seam: called after each run of a request's deadline timer

	prop propagation    // the deadline header read from the caller
	be   *timeout.Error // the deadline's cause when the caller's budget set it
}

var _ http.Handler = (*handler)(nil)

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var start time.Time // read only for observers
	if h.r.observed() {
		start = time.Now()
	}
	if h.r.RateLimit != nil && !h.allowRate(w, req) {
		return
	}
	limit, te, ok := h.admit(w, req) // the incoming budget, the Shedder and the bulkhead
	if !ok {
		return
	}
	sh, bh := h.r.Shed, h.r.Bulkhead
	tok, ok := h.acquireLimit(w, req)
	if !ok {
		if bh != nil {
			bh.Release()
		}
		if sh != nil {
			sh.Release()
		}
		return
	}
	if sh != nil {
		defer sh.Release() // after the bulkhead's
	}
	tw := newTimeoutWriter(w, limit > 0)
	if limit > 0 {
		// Deferred first, so it runs last: the slot is free by then,
		// however long the timeout response takes to reach the client.
		defer tw.wait()
	}
	if bh != nil {
		defer bh.Release()
	}
	outcome := errUnsettled // the request's failure, once recover settles it
	if h.r.Limit != nil {
		defer func() { limitDone(tok, req, outcome) }()
	}
	served := req
	if limit > 0 {
		served = tw.arm(req, limit, te, h.expired)
		defer tw.disarm()
	}
	defer h.recover(tw, req, &outcome, start)
	h.next.ServeHTTP(tw, served)
}

// recover ends a request once next has returned or panicked: it settles the
// response, tracks the failure and reports a panic.
func (h *handler) recover(tw *timeoutWriter, req *http.Request, outcome *error, start time.Time) {
	p := recover()
	failure, abort := tw.finish(p, h.r.isFailureStatus)
	if h.r.observed() && p != http.ErrAbortHandler {
		h.observeRequest(tw, req, failure, start)
	}
	if p == http.ErrAbortHandler {
		panic(p) // deliberate: net/http aborts the response quietly
	}
	*outcome = failure
	if failure != nil && h.r.Tracker != nil {
		h.r.Tracker.Track(failure)
	}
	if pe, ok := failure.(*PanicError); ok {
		h.panicked(req, pe)
	}
	if abort {
		panic(http.ErrAbortHandler)
	}
}

// panicked reports a recovered panic to Hooks.OnPanic, or else logs it
// where net/http would have.
func (h *handler) panicked(req *http.Request, pe *PanicError) {
	if h.r.observed() {
		h.r.notify(Event{Kind: EventPanic, Ctx: req.Context(), Err: pe, Host: req.Host, Request: req, Method: req.Method, URL: req.URL, Status: http.StatusInternalServerError})
	}
	if f := h.r.Hooks.OnPanic; f != nil {
		f(Event{Err: pe, Host: req.Host, Request: req})
		return
	}
	logf := log.Printf
	if srv, ok := req.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ErrorLog != nil {
		logf = srv.ErrorLog.Printf
	}
	logf("middleware: panic serving %s %s for %s: %v\n%s", req.Method, req.URL, req.RemoteAddr, pe.Value, pe.Stack)
}

// shed answers a request the bulkhead or the limit refused.
func (h *handler) shed(w http.ResponseWriter, req *http.Request, err error) {
	if t := h.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := h.r.Hooks.OnReject; f != nil && req.Context().Err() == nil {
		f(Event{Err: err, Host: req.Host, Request: req})
	}
	if h.r.observed() {
		h.r.observeShed(req, err, http.StatusServiceUnavailable)
	}
	w.Header().Set("Retry-After", strconv.FormatInt(seconds(min(retryAfter(err), h.r.maxRetryAfter())), 10))
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}
