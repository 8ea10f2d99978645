package middleware

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/retry"
)

// Hedging sits between Retry and Breaker:
//
//	Total → Retry → Hedge → Throttle → Breaker → Bulkhead → Limit → Timeout → fn
//
// Each attempt of the retry loop is one hedged call (hedge.Do), and each
// of its attempts, the first and every hedge, is one breaker call with its
// own bulkhead slot and per-attempt timeout. So the breaker counts the
// outcome of every request the backend saw, the total timeout bounds the
// hedges too, and a hedged call that fails as a whole is retried as a
// whole (after its backoff), with hedges again.
//
// A hedge is not a retry: it does not call OnRetry, does not wait for an
// open breaker to half-open, and a hedge that the breaker or the bulkhead
// refuses fails alone, leaving the first attempt to finish. An attempt
// that loses (its context ended by hedge.Do because another won) is
// neither tracked nor reported to OnAttempt, and the breaker ignores it
// (context.Canceled).

// hedged runs one attempt of the retry loop as a hedged call.
func (s *stack[T]) hedged(ctx context.Context) (T, error) {
	fn := s.fn
	if s.hedgeFn != nil {
		fn = s.hedgeFn(ctx)
	}
	first := *s
	first.fn, first.parent = fn, ctx
	later := first
	later.n, later.prev, later.retry = 0, nil, false
	var started atomic.Int32
	v, err := hedge.Do(ctx, s.hedge, func(actx context.Context) (T, error) {
		a := first
		if started.Add(1) > 1 {
			a = later
		}
		return a.attempt(actx)
	})
	s.n++
	if err != nil {
		s.prev = err
	}
	return v, err
}

// one runs one attempt of the retry loop: hedged if r.Hedge is set.
func (s *stack[T]) one(ctx context.Context) (T, error) {
	if s.hedge != nil {
		return s.hedged(ctx)
	}
	return s.attempt(ctx)
}

// lost reports whether an attempt of a hedged call failed only because
// another attempt won: hedge.Do ended its context, or, in Transport, it
// answered after the winner.
func (s *stack[T]) lost(ctx context.Context, err error) bool {
	if s.parent == nil {
		return false
	}
	return errors.Is(err, errLost) || ctx.Err() != nil && s.parent.Err() == nil
}

// errLost is what a Transport attempt returns when it got a response
// after another attempt of the same hedged call had won: its response is
// drained and closed.
var errLost = errors.New("middleware: another hedged attempt won")

// hedgeRound starts one hedged call of a Transport request and returns the
// function its attempts run. parent is the context of the hedged call
// (the caller's, under Total).
func (rt *roundTrip) hedgeRound(parent context.Context) func(context.Context) (*http.Response, error) {
	rt.mu.Lock()
	leftover := rt.won
	rt.won, rt.claimed = nil, false
	rt.mu.Unlock()
	if leftover != nil { // won, then discarded when another attempt ended the call
		drain(leftover.Body)
	}
	return func(actx context.Context) (*http.Response, error) { return rt.sendHedge(parent, actx) }
}

// sendHedge is one attempt of a hedged Transport request. The request
// runs on a context of its own, derived from parent and ended when the
// attempt's context (actx) ends, until it wins: the winner's response then
// outlives hedge.Do, readable until its body is closed. Only one attempt
// per hedged call returns a response; one that answers after the winner
// drains and closes its response and returns errLost.
func (rt *roundTrip) sendHedge(parent, actx context.Context) (*http.Response, error) {
	r := rt.t.r
	rctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(actx, cancel)
	ctx, release := rctx, cancel
	if d := r.Timeout; d > 0 {
		var cancelAttempt context.CancelFunc
		ctx, cancelAttempt = context.WithTimeoutCause(rctx, d, rt.t.attemptErr)
		release = func() { cancelAttempt(); cancel() }
	}
	req, err := rt.hedgeRequest(ctx)
	if err != nil {
		stop()
		release()
		return nil, retry.Permanent(&replayError{err})
	}
	resp, err := rt.t.base.RoundTrip(req)
	if err != nil {
		if cause := context.Cause(ctx); r.Timeout > 0 && cause != nil && !errors.Is(err, cause) && rctx.Err() == nil {
			err = &attemptError{err: err, cause: cause}
		}
		stop()
		release()
		return nil, err
	}
	if r.isFailureStatus(resp.StatusCode) {
		wait, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), r.maxRetryAfter())
		buffer(resp)
		stop()
		resp.Body = onClose(resp.Body, release)
		se := &StatusError{Code: resp.StatusCode, Wait: wait, resp: resp}
		rt.mu.Lock()
		prev := rt.last
		rt.last = se
		rt.mu.Unlock()
		if prev != nil {
			drain(prev.resp.Body)
			prev.resp = nil
		}
		return nil, se
	}
	rt.mu.Lock()
	win := !rt.claimed && stop() // stop fails once actx has ended: too late
	if win {
		rt.claimed, rt.won = true, resp
	}
	rt.mu.Unlock()
	if !win {
		drain(resp.Body)
		release()
		return nil, errLost
	}
	resp.Body = onClose(resp.Body, release)
	return resp, nil
}

// hedgeRequest returns the request of one hedged attempt: the caller's
// body for the first one sent, a fresh one from GetBody for the others.
func (rt *roundTrip) hedgeRequest(ctx context.Context) (*http.Request, error) {
	req := rt.req.WithContext(ctx)
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	rt.mu.Lock()
	sent := rt.sent
	rt.sent = true
	rt.mu.Unlock()
	if sent {
		body, err := rt.req.GetBody()
		if err != nil {
			return nil, err
		}
		req.Body = body
	}
	return req, nil
}

// discardWon drains the response an attempt won with if RoundTrip does not
// return it (another attempt ended the hedged call).
func (rt *roundTrip) discardWon(resp *http.Response) {
	if rt.won != nil && rt.won != resp {
		drain(rt.won.Body)
	}
	rt.won = nil
}
