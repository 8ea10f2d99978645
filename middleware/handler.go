package middleware

import (
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

// Handler returns an http.Handler that serves requests with next under r's
// policies, outermost first: RateLimit, Breaker, Bulkhead, Limit, request
// timeout, panic recovery and error tracking. Retry, Throttle, the Host*
// fields and fallbacks do not apply to a server.
//
// # Load shedding
//
// A request over its client's RateLimit gets 429 Too Many Requests; one the
// Breaker, the Bulkhead or the Limit refuses gets 503 Service Unavailable.
// Both carry a Retry-After header, and next is not called. Retry-After is
// the rejection's own hint (the time until the client's next token, the
// breaker's time until half-open, the bulkhead's queue timeout, the
// limiter's recent RTT) rounded up to whole seconds, at least 1, at most
// MaxRetryAfter. The Limit's token measures each request from admission to
// the end of next, and hears its failure (a panic, a timeout, a failure
// status); a request whose client went away, or that was aborted, feeds it
// nothing.
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
}

var _ http.Handler = (*handler)(nil)

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := h.r
	var failure error // the request's outcome, tracked once
	ignored := false  // the outcome says nothing of the handler's health
	if r.RateLimit != nil && !h.allowRate(w, req) {
		return
	}
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
	if bh := r.Bulkhead; bh != nil {
		if err := bh.Acquire(req.Context()); err != nil {
			ignored = true // not the backend's failure
			h.shed(w, req, err)
			return
		}
		defer bh.Release()
	}
	if l := r.Limit; l != nil {
		tok, err := l.Acquire(req.Context())
		if err != nil {
			ignored = true // not the backend's failure
			h.shed(w, req, err)
			return
		}
		defer func() { limitDone(tok, req, failure, ignored) }()
	}
	tw := &timeoutWriter{w: w}
	if h.limit > 0 {
		ctx, cancel := context.WithTimeoutCause(req.Context(), h.limit, h.te)
		defer cancel()
		req = req.WithContext(ctx)
		tw.ctx, tw.te = ctx, h.te
		tw.h = w.Header().Clone()
		if tw.h == nil {
			tw.h = make(http.Header)
		}
		timer := time.AfterFunc(h.limit, tw.timeout)
		defer timer.Stop()
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
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	h.next.ServeHTTP(tw, req)
}

// shed answers a request the breaker or bulkhead refused.
func (h *handler) shed(w http.ResponseWriter, req *http.Request, err error) {
	if t := h.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := h.r.Hooks.OnReject; f != nil && req.Context().Err() == nil {
		f(Event{Err: err, Host: req.Host})
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

// timeoutWriter passes writes through to w until the request's deadline.
// When a deadline is set, h is next's own header map, copied to w when the
// response starts, and mu orders next's writes and the timeout response.
type timeoutWriter struct {
	w   http.ResponseWriter
	h   http.Header     // nil without a deadline: next uses w.Header()
	ctx context.Context // next's context, with the deadline
	te  error           // the deadline's cause

	mu       sync.Mutex
	code     int  // status written, 0 until the response starts
	late     bool // the deadline timer has fired
	timedOut bool // the timeout response was sent
	done     bool // next has returned
}

// Header returns the header map next writes to.
func (tw *timeoutWriter) Header() http.Header {
	if tw.h != nil {
		return tw.h
	}
	return tw.w.Header()
}

// WriteHeader sends the status and header unless the request timed out.
func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.expire()
	if !tw.timedOut && tw.code == 0 {
		tw.writeHeader(code)
	}
}

// writeHeader requires tw.mu.
func (tw *timeoutWriter) writeHeader(code int) {
	tw.copyHeader()
	tw.w.WriteHeader(code)
	if code >= 200 || code == http.StatusSwitchingProtocols {
		tw.code = code
	}
}

// copyHeader makes w's header map next's own, if next has one. It requires
// tw.mu.
func (tw *timeoutWriter) copyHeader() {
	if tw.h == nil {
		return
	}
	dst := tw.w.Header()
	clear(dst)
	for k, v := range tw.h {
		dst[k] = v
	}
}

// Write writes to the response, or fails with http.ErrHandlerTimeout once the
// request has timed out.
func (tw *timeoutWriter) Write(b []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.expire()
	if tw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	if tw.code == 0 {
		tw.writeHeader(http.StatusOK)
	}
	return tw.w.Write(b)
}

// Flush sends buffered data to the client, if the underlying writer can.
func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.expire()
	if tw.timedOut {
		return
	}
	if tw.code == 0 {
		tw.writeHeader(http.StatusOK)
	}
	if f, ok := tw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (tw *timeoutWriter) Unwrap() http.ResponseWriter { return tw.w }

// timeout runs when the deadline passes.
func (tw *timeoutWriter) timeout() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.late = true
	tw.expire()
}

// expire answers 503 if the deadline has passed (by the timer or by next's
// context, whichever is seen first), next has written nothing and has not
// returned. Every write checks it first, so a write racing the timer cannot
// slip in after the deadline. It requires tw.mu.
func (tw *timeoutWriter) expire() {
	if tw.te == nil || tw.done || tw.timedOut || tw.code != 0 {
		return
	}
	if !tw.late && context.Cause(tw.ctx) != tw.te {
		return
	}
	tw.timedOut = true
	h := tw.w.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(timeoutBody)))
	tw.w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(tw.w, timeoutBody)
	if f, ok := tw.w.(http.Flusher); ok {
		f.Flush() // the client has its answer even while next runs on
	}
}

const timeoutBody = "request timed out\n"

// finish marks next as returned and returns the request's failure, if any.
// For a panic p it answers 500 if nothing was written yet, or reports that
// the started response must be aborted.
func (tw *timeoutWriter) finish(p any, isFailure func(int) bool) (failure error, abort bool) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if p == nil {
		tw.expire() // a handler that returns silently after its deadline timed out
		if !tw.timedOut {
			// net/http reads the header map once next returns: for the
			// header of a response next left implicit, and for trailers.
			tw.copyHeader()
		}
	}
	tw.done = true
	switch {
	case p == http.ErrAbortHandler:
		return nil, false
	case p != nil:
		switch {
		case tw.timedOut: // the timeout response is complete
		case tw.code != 0:
			abort = true
		default:
			clear(tw.w.Header())
			tw.code = http.StatusInternalServerError
			http.Error(tw.w, http.StatusText(tw.code), tw.code)
		}
		return &PanicError{Value: p, Stack: debug.Stack()}, abort
	case tw.timedOut:
		return tw.te, false
	case tw.code != 0 && isFailure(tw.code):
		return &StatusError{Code: tw.code}, false
	}
	return nil, false
}
