package resotel

import (
	"errors"
	"log"
	"net/http"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/timeout"
)

// hooks returns next with o's counting chained after each of its hooks.
// The events they get have no Kind: hooks tell them apart.
func (o *Observer) hooks(next middleware.Hooks) middleware.Hooks {
	h := next
	h.OnAttempt = func(e middleware.Event) {
		if next.OnAttempt != nil {
			next.OnAttempt(e)
		}
		e.Kind = middleware.EventAttempt
		o.attempt(e)
		if e.Err != nil {
			o.timedOut(e)
		}
	}
	h.OnRetry = chain(next.OnRetry, o, middleware.EventRetry)
	h.OnReject = func(e middleware.Event) {
		if next.OnReject != nil {
			next.OnReject(e)
		}
		e.Kind = middleware.EventReject
		o.Observe(e)
		if e.Request != nil {
			e.Kind, e.Shed = middleware.EventRequest, true
			o.Observe(e)
		}
	}
	h.OnFallback = chain(next.OnFallback, o, middleware.EventFallback)
	h.OnPanic = func(e middleware.Event) {
		if next.OnPanic != nil {
			next.OnPanic(e)
		} else {
			logPanic(e)
		}
		e.Kind = middleware.EventRequest
		o.Observe(e)
	}
	h.OnStateChange = func(host string, from, to breaker.State) {
		if next.OnStateChange != nil {
			next.OnStateChange(host, from, to)
		}
		o.transition(host, to)
	}
	return h
}

// timedOut reports the timeout that cut the failed attempt e short, if
// one did (apart from the success path: its error pointer escapes).
func (o *Observer) timedOut(e middleware.Event) {
	var te *timeout.Error
	if errors.As(e.Err, &te) {
		e.Kind, e.Scope = middleware.EventTimeout, te.Name
		o.Observe(e)
	}
}

func chain(next func(middleware.Event), o *Observer, kind middleware.EventKind) func(middleware.Event) {
	return func(e middleware.Event) {
		if next != nil {
			next(e)
		}
		e.Kind = kind
		o.Observe(e)
	}
}

// logPanic logs a recovered panic as Handler does when Hooks.OnPanic is
// nil, which setting OnPanic turns off.
func logPanic(e middleware.Event) {
	var pe *middleware.PanicError
	req := e.Request
	if req == nil || !errors.As(e.Err, &pe) {
		return
	}
	logf := log.Printf
	if srv, ok := req.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ErrorLog != nil {
		logf = srv.ErrorLog.Printf
	}
	logf("middleware: panic serving %s %s for %s: %v\n%s", req.Method, req.URL, req.RemoteAddr, pe.Value, pe.Stack)
}
