package middleware

import (
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

// Handler returns an http.Handler that serves requests with next under r's
// policies: Breaker, Bulkhead, request timeout, panic recovery and error
// tracking. Retry, HostBreaker and fallbacks do not apply to a server.
//
// # Load shedding
//
// A request the Breaker or the Bulkhead refuses gets 503 Service Unavailable
// with a Retry-After header, and next is not called. Retry-After is the
// rejection's own hint (the breaker's time until half-open, the bulkhead's
// queue timeout) rounded up to whole seconds, at least 1, at most
// MaxRetryAfter.
//
// # Request timeout
//
// Timeout (or Total when Timeout is zero) bounds each request, from the
// moment it holds a bulkhead slot (time spent queued is bounded by the
// bulkhead's QueueTimeout). next runs on the serving goroutine with a
// request context that ends at the deadline; no goroutine is started and the
// response is not buffered. If next has written nothing by the deadline,
// Handler answers 503 Service Unavailable with the body "request timed out"
// at once, and every later write by next fails with http.ErrHandlerTimeout;
// one mutex orders those writes, so none races the timeout response. If next
// has already started its response, the deadline only cancels its context.
// Either way Handler returns only after next does: a handler that ignores
// its context holds its goroutine (as with any net/http handler), but can no
// longer corrupt the response.
//
// # Panics
//
// A panic in next becomes a 500 Internal Server Error if nothing was written
// yet; if the response had started it is aborted instead (the client sees a
// broken response, not a truncated one that looks whole). Handler keeps
// serving. http.ErrAbortHandler is re-panicked, so net/http aborts the
// response quietly as usual; being deliberate, it is neither tracked nor a
// breaker failure.
//
// # Tracking
//
// Each failed request is tracked once, as a *PanicError, a *timeout.Error, a
// *StatusError (a status FailureStatus reports) or the rejection, and the
// same error is the breaker's outcome.
func (r *Recovery) Handler(next http.Handler) http.Handler {
	d := r.Timeout
	if d <= 0 {
		d = r.Total
	}
	return &handler{r: r, next: next, limit: d, te: &timeout.Error{Name: "request", Limit: d}}
}

type handler struct {
	r     *Recovery
	next  http.Handler
	limit time.Duration
	te    *timeout.Error // the deadline's cause, shared by every request

	expired func() // test seam: called after each run of a request's deadline timer
}

var _ http.Handler = (*handler)(nil)

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := h.r
	var failure error // the request's outcome, tracked once
	ignored := false  // the outcome says nothing of the handler's health
	if b := r.Breaker; b != nil {
		p, err := b.Allow()
		if err != nil {
			h.shed(w, req, err)
			return
		}
		defer func() {
			if ignored {
				p.Ignore()
			} else {
				p.Done(failure)
			}
		}()
	}
	bh := r.Bulkhead
	if bh != nil {
		if err := bh.Acquire(req.Context()); err != nil {
			ignored = true // not the backend's failure
			h.shed(w, req, err)
			return
		}
	}
	tw := &timeoutWriter{w: w}
	if h.limit > 0 {
		// Deferred first, so it runs last: the slot is free by then,
		// however long the timeout response takes to reach the client.
		defer tw.wait()
	}
	if bh != nil {
		defer bh.Release()
	}
	served := req
	if h.limit > 0 {
		served = tw.arm(req, h.limit, h.te, h.expired)
		defer tw.disarm()
	}
	defer func() {
		p := recover()
		var abort bool
		failure, abort = tw.finish(p, r.isFailureStatus)
		if p == http.ErrAbortHandler {
			ignored = true // a deliberate abort, not a failure
			panic(p)
		}
		if failure != nil && r.Tracker != nil {
			r.Tracker.Track(failure)
		}
		if pe, ok := failure.(*PanicError); ok {
			h.panicked(req, pe)
		}
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	h.next.ServeHTTP(tw, served)
}

// panicked reports a recovered panic to Hooks.OnPanic, or else logs it
// where net/http would have.
func (h *handler) panicked(req *http.Request, pe *PanicError) {
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

// shed answers a request the breaker or bulkhead refused.
func (h *handler) shed(w http.ResponseWriter, req *http.Request, err error) {
	if t := h.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := h.r.Hooks.OnReject; f != nil && req.Context().Err() == nil {
		f(Event{Err: err, Host: req.Host, Request: req})
	}
	secs := int64(1)
	if d := min(retryAfter(err), h.r.maxRetryAfter()); d > time.Second {
		secs = int64(d / time.Second) // rounded up below, without overflow
		if d%time.Second != 0 {
			secs++
		}
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	http.Error(w, "service unavailable: "+err.Error(), http.StatusServiceUnavailable)
}
