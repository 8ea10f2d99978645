package middleware

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/throttle"
)

// limited runs the attempt's timeout and fn holding a slot of s.lim, so
// the RTT its token measures is the backend's alone. It reports to the
// limiter only an attempt that reached the backend while the caller still
// waited for it: a local failure, a panic, a hedged attempt that lost, or
// an error after ctx ended end the token with Ignore, so they move neither
// the limit nor its RTT estimate. how is full when the limit refused the
// attempt.
func (s *stack[T]) limited(ctx context.Context) (v T, how admission, err error) {
	tok, err := s.lim.Acquire(ctx)
	if err != nil {
		return v, full, err
	}
	ok := false
	defer func() {
		if !ok {
			tok.Ignore() // fn panicked
		}
	}()
	v, err = s.call(ctx)
	ok = true
	if unheard(ctx, err) {
		tok.Ignore()
	} else {
		tok.Done(err)
	}
	return v, reached, err
}

// unheard reports whether an attempt's outcome says nothing of the
// backend: a local failure, a hedged attempt that lost to another, or an
// error after the attempt's context ended (the caller gave up, or a hedge
// won).
func unheard(ctx context.Context, err error) bool {
	return err != nil && (isLocal(err) || errors.Is(err, errLost) || ctx.Err() != nil)
}

// throttled reports an attempt's outcome to the throttle that admitted it
// (p), if the attempt reached the backend while the caller still waited:
// refusals by the limit or the bulkhead, local failures, hedged attempts
// that lost and errors after ctx ended say nothing of the backend's
// accepts. An attempt the breaker
// refused never gets here, nor does one that panicked.
func (s *stack[T]) throttled(ctx context.Context, p throttle.Permit, err error, full bool) {
	if s.thr == nil || full || unheard(ctx, err) {
		return
	}
	p.Done(err)
}

// errUnsettled is a Handler request's outcome until recover settles it;
// it stays so when next aborts the response with http.ErrAbortHandler.
var errUnsettled = errors.New("middleware: request not settled")

// acquireLimit takes a slot of the Handler's adaptive limit, if it has
// one, or sheds the request with 503 and reports false.
func (h *handler) acquireLimit(w http.ResponseWriter, req *http.Request) (limit.Token, bool) {
	l := h.r.Limit
	if l == nil {
		return limit.Token{}, true
	}
	tok, err := l.Acquire(req.Context())
	if err != nil {
		h.shed(w, req, err)
		return tok, false
	}
	return tok, true
}

// limitDone ends a Handler request's limit token: with the request's
// failure (nil for success), or without a sample if the response was
// aborted, or the request failed after its client went away.
func limitDone(tok limit.Token, req *http.Request, outcome error) {
	if outcome == errUnsettled || req.Context().Err() != nil && outcome != nil {
		tok.Ignore()
		return
	}
	tok.Done(outcome)
}

// hostSet keeps one T per host, made on the host's first use, at most
// MaxHosts of them; further hosts get shared (which may be nil).
type hostSet[T any] struct {
	newT   func() *T
	shared *T

	mu    sync.RWMutex
	hosts map[string]*T
}

func newHostSet[T any](newT func() *T, shared *T) *hostSet[T] {
	return &hostSet[T]{newT: newT, shared: shared, hosts: map[string]*T{}}
}

// get returns host's T. A known host costs a read lock and a map lookup.
func (h *hostSet[T]) get(host string) *T {
	h.mu.RLock()
	v := h.hosts[host]
	h.mu.RUnlock()
	if v != nil {
		return v
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if v = h.hosts[host]; v != nil {
		return v
	}
	if len(h.hosts) >= MaxHosts {
		return h.shared
	}
	v = h.newT()
	h.hosts[host] = v
	return v
}

// perHost sets up t's per-host limiters and throttles. It panics, naming
// the field, on an invalid HostLimit or HostThrottle.
func (t *Transport) perHost(r *Recovery) {
	if err := (&Recovery{HostLimit: r.HostLimit, HostThrottle: r.HostThrottle}).Validate(); err != nil {
		panic(err.Error())
	}
	if r.HostLimit != nil {
		cfg := *r.HostLimit
		t.limits = newHostSet(func() *limit.Limiter { return limit.New(cfg) }, r.Limit)
	}
	if r.HostThrottle != nil {
		cfg := *r.HostThrottle
		t.throttles = newHostSet(func() *throttle.Throttle { return throttle.New(cfg) }, r.Throttle)
	}
}

// waitRate waits for a token of key's rate limit, if r has one. A refusal
// is tracked and reported as a rejection; a context that ends first
// returns its error.
func (r *Recovery) waitRate(ctx context.Context, key string) error {
	if r.RateLimit == nil {
		return nil
	}
	return r.waitToken(ctx, key)
}

// waitToken is waitRate with a RateLimit.
func (r *Recovery) waitToken(ctx context.Context, key string) error {
	err := r.RateLimit.Get(key).Wait(ctx)
	if err != nil && errors.Is(err, ratelimit.ErrLimited) {
		if t := r.Tracker; t != nil {
			t.Track(err)
		}
		if f := r.Hooks.OnReject; f != nil {
			f(Event{Err: err, Host: key})
		}
		if r.observed() {
			r.notify(Event{Kind: EventReject, Ctx: ctx, Err: err, Host: key})
		}
	}
	return err
}

// allowRate takes a token of the request's rate limit, or answers 429 Too
// Many Requests with a Retry-After (the time until the key's next token,
// rounded up to whole seconds, at least 1, at most MaxRetryAfter) and
// reports false.
func (h *handler) allowRate(w http.ResponseWriter, req *http.Request) bool {
	r := h.r
	key := remoteIP(req)
	if r.RateLimitKey != nil {
		key = r.RateLimitKey(req)
	}
	err := r.RateLimit.Get(key).Allow()
	if err == nil {
		return true
	}
	if t := r.Tracker; t != nil {
		t.Track(err)
	}
	if f := r.Hooks.OnReject; f != nil && req.Context().Err() == nil {
		f(Event{Err: err, Host: req.Host, Request: req})
	}
	if r.observed() {
		r.observeShed(req, err, http.StatusTooManyRequests)
	}
	w.Header().Set("Retry-After", strconv.FormatInt(seconds(min(retryAfter(err), r.maxRetryAfter())), 10))
	http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
	return false
}

// seconds returns d in whole seconds, rounded up, at least 1.
func seconds(d time.Duration) int64 {
	secs := int64(1)
	if d > time.Second {
		secs = int64(d / time.Second)
		if d%time.Second != 0 {
			secs++
		}
	}
	return secs
}

// remoteIP returns the IP address of req's client, or RemoteAddr as it is
// if it has no port.
func remoteIP(req *http.Request) string {
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		return host
	}
	return req.RemoteAddr
}
