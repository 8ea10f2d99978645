package middleware

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"iter"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
	"github.com/seed94f50169/resilience/timeout"
)

// maxDrain is how much of a discarded response body is read so that its
// connection can be reused, and how much of a failure response is buffered.
const maxDrain = 64 << 10

// Transport returns an http.RoundTripper that sends requests through base
// (http.DefaultTransport if nil) under r's policies, outermost first:
// RateLimit (keyed by host), Total, Retry, Hedge, Throttle, Breaker,
// Bulkhead, Limit, per-attempt Timeout; HostBreaker, HostThrottle and
// HostLimit keep one breaker, throttle and limiter per host.
//
// # Which requests are retried
//
// Only idempotent ones: GET, HEAD, OPTIONS, TRACE, PUT and DELETE, or any
// method with an Idempotency-Key (or X-Idempotency-Key) header. A request
// with a body is retried only if GetBody can replay it; if GetBody fails,
// RoundTrip returns its error at once, and the breaker does not count it.
// Other requests get exactly one attempt, still guarded by the breaker,
// bulkhead and timeouts.
//
// # Hedged requests
//
// With Hedge set, the requests that may be retried (the same rule, without
// needing Retry) are hedged: each hedge is a copy of the request with a
// body from GetBody, on a context of its own. The first response that is
// not a failure wins and is returned; a later one is drained and closed,
// and the losers' requests are cancelled. When every attempt ends on a
// failure status, the last of those responses is returned, as for
// retries.
//
// # Failures
//
// Transport errors, and responses whose status FailureStatus reports (429
// and 5xx by default), are failures: they count against the breaker, are
// tracked, and are retried after max(backoff, Retry-After), the header's
// value being bounded by MaxRetryAfter. When the request may be retried, a
// failure response's body, when it is at most 64 KiB, is read into memory
// at once, so its connection goes back to the pool before any wait; a
// response that is discarded is drained (up to 64 KiB) and closed. When
// the attempts end on a failure status, RoundTrip returns that last
// response with a nil error, status and body intact. Otherwise the error
// is returned as the retry policy reports it (for instance a
// *retry.ExhaustedError wrapping the last attempt's *net.OpError or
// *timeout.Error), so errors.Is and errors.As find both.
//
// Some transport errors say that the request can never succeed as it is:
// a server certificate that fails verification (*tls.CertificateVerificationError,
// x509.UnknownAuthorityError, x509.HostnameError, x509.CertificateInvalidError)
// and the requests net/http refuses to send (an unsupported scheme, an
// invalid method, header or trailer, no host in the URL). Such an error is
// not retried and is returned as the base transport gave it; it is
// tracked, but the breaker counts it as ignored, not as the host's failure.
//
// # Timeouts and bodies
//
// Timeout and Total bound the request through its context; they keep
// running until the returned response's body is closed, so the body stays
// readable after RoundTrip returns. Close it, as with any response.
//
// # Deadlines across hops
//
// When an attempt's context has a deadline (the caller's, Total's or
// Timeout's, whichever is nearest), the request carries the time left, less
// DeadlineMargin, in the DeadlineHeader, so that a Handler at the next hop
// works to the same deadline (see Handler). A header the caller set itself
// is sent as it is.
//
// # Breakers
//
// The breakers of the returned *Transport can be reached for their Stats,
// Reset or ForceOpen: see Transport.Breaker and Transport.Breakers.
//
// Transport panics, naming the field, if HostBreaker, HostLimit,
// HostThrottle or DeadlineHeader is set but invalid.
func (r *Recovery) Transport(base http.RoundTripper) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{
		r:          r,
		base:       base,
		attemptErr: &timeout.Error{Limit: r.Timeout},
		totalErr:   &timeout.Error{Name: "total", Limit: r.Total},
		prop:       r.sendPropagation(),
	}
	if r.HostBreaker != nil {
		if err := (&Recovery{HostBreaker: r.HostBreaker}).Validate(); err != nil {
			panic(err.Error())
		}
		t.hosts = breaker.NewGroup(breaker.GroupConfig{Config: *r.HostBreaker, MaxKeys: MaxHosts, OnStateChange: r.onStateChange()})
	}
	t.perHost(r)
	return t
}

// Transport is the http.RoundTripper that Recovery.Transport returns: it
// sends requests through a base RoundTripper under a Recovery's policies,
// and gives access to the breakers that guard them. It is safe for
// concurrent use. Build one with Recovery.Transport; the zero Transport is
// not usable.
type Transport struct {
	r         *Recovery
	base      http.RoundTripper
	hosts     *breaker.Group              // per-host breakers, when HostBreaker is set
	limits    *hostSet[limit.Limiter]     // per-host limiters, when HostLimit is set
	throttles *hostSet[throttle.Throttle] // per-host throttles, when HostThrottle is set

	// The causes of the attempt and total deadlines, shared by every call
	// (an unwrapped *timeout.Error carries no per-call state).
	attemptErr, totalErr *timeout.Error

	prop propagation // the deadline header sent to the next hop
}

var _ http.RoundTripper = (*Transport)(nil)

// CloseIdleConnections closes the idle connections of the base transport, if
// it can, so that http.Client.CloseIdleConnections reaches through the
// middleware.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Breaker returns the breaker that guards requests to host, where host is
// spelled as in req.URL.Host ("api.example", "127.0.0.1:8080"): with
// HostBreaker set, that host's own breaker, created now if no request has
// created it yet (it then counts towards MaxHosts); once MaxHosts breakers
// exist, or without HostBreaker, the shared Recovery.Breaker, which may be
// nil. Read its Stats, or Reset or ForceOpen it, as with any breaker: the
// requests that follow see the change.
func (t *Transport) Breaker(host string) *breaker.Breaker {
	if t.hosts != nil {
		if b := t.hosts.Get(host); b != nil {
			return b
		}
	}
	return t.r.Breaker
}

// Breakers iterates over the per-host breakers created so far (by requests
// or by Breaker), keyed by host, in no order; without HostBreaker there
// are none. The shared Recovery.Breaker is not among them.
func (t *Transport) Breakers() iter.Seq2[string, *breaker.Breaker] {
	if t.hosts == nil {
		return func(func(string, *breaker.Breaker) bool) {}
	}
	return t.hosts.All()
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.r
	ctx := req.Context()
	if err := r.waitRate(ctx, req.URL.Host); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper always closes the body
		}
		return nil, err
	}
	var cancelTotal context.CancelFunc
	if r.Total > 0 {
		ctx, cancelTotal = context.WithTimeoutCause(ctx, r.Total, t.totalErr)
	}
	rt := roundTrip{t: t, req: req, retry: r.Retry != nil && replayable(req)}
	s := stack[*http.Response]{r: r, b: t.Breaker(req.URL.Host), lim: r.Limit, thr: r.Throttle, fn: rt.send, host: req.URL.Host, retry: rt.retry, caller: req.Context(), req: req}
	if r.Hedge != nil && replayable(req) {
		s.hedge, s.hedgeFn = r.Hedge, rt.hedgeRound
	}
	if t.limits != nil {
		s.lim = t.limits.get(s.host)
	}
	if t.throttles != nil {
		s.thr = t.throttles.get(s.host)
	}
	resp, err := s.run(ctx)
	if err != nil && rt.last != nil && req.Context().Err() == nil {
		if se := rt.last; errors.Is(err, se) { // also among a hedged call's errors
			resp, err = se.resp, nil
			se.resp, rt.last = nil, nil
		}
	}
	rt.discard()
	rt.discardWon(resp)
	if !rt.sent && req.Body != nil {
		req.Body.Close() // a RoundTripper always closes the body
	}
	if cancelTotal != nil {
		if err != nil {
			cancelTotal()
		} else {
			resp.Body = onClose(resp.Body, cancelTotal)
		}
	}
	return resp, err
}

// roundTrip is the state of one RoundTrip across its attempts.
type roundTrip struct {
	t     *Transport
	req   *http.Request
	retry bool         // req may be sent again
	sent  bool         // req.Body was handed to the base transport
	last  *StatusError // the previous attempt's failure, holding its response

	// Hedged requests: attempts run concurrently, and mu guards sent and
	// last as well as these.
	mu      sync.Mutex
	claimed bool           // an attempt of the current hedged call has won
	won     *http.Response // its response
}

// send is one attempt.
func (rt *roundTrip) send(ctx context.Context) (*http.Response, error) {
	rt.discard()
	r := rt.t.r
	req := rt.req
	if req.Body != nil && req.Body != http.NoBody {
		if rt.sent {
			body, err := req.GetBody()
			if err != nil {
				return nil, retry.Permanent(&replayError{err})
			}
			req = req.WithContext(ctx)
			req.Body = body
		}
		rt.sent = true
	}
	var cancel context.CancelFunc
	if d := r.Timeout; d > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, d, rt.t.attemptErr)
	}
	if ctx != req.Context() {
		req = req.WithContext(ctx)
	}
	req = rt.t.prop.withDeadline(ctx, req)
	resp, err := rt.t.base.RoundTrip(req)
	if err != nil {
		if cancel != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
				err = &attemptError{err: err, cause: cause}
			}
			cancel()
		}
		if rt.retry && unsendable(err) {
			err = retry.Permanent(err)
		}
		return nil, err
	}
	if cancel != nil {
		resp.Body = onClose(resp.Body, cancel)
	}
	if !r.isFailureStatus(resp.StatusCode) {
		return resp, nil
	}
	wait, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), r.maxRetryAfter())
	if rt.retry {
		buffer(resp) // else it is returned at once, as it arrives
	}
	rt.last = &StatusError{Code: resp.StatusCode, Wait: wait, resp: resp}
	return nil, rt.last
}

// discard drains and closes the previous attempt's failure response, and
// lets go of it: the error may live on in a Tracker, the response must not.
func (rt *roundTrip) discard() {
	if rt.last != nil {
		drain(rt.last.resp.Body)
		rt.last.resp, rt.last = nil, nil
	}
}

// replayError is a request body that GetBody could not make again for
// another attempt: a local failure, so it is not retried and says nothing of
// the backend to the breaker.
type replayError struct{ err error }

func (e *replayError) Error() string {
	return "middleware: replaying the request body: " + e.err.Error()
}
func (e *replayError) Unwrap() error { return e.err }

// isLocal reports whether err is a failure of this side, not the backend's:
// a body that could not be replayed, or a request that could not be sent
// (see unsendable).
func isLocal(err error) bool {
	if err == nil {
		return false
	}
	var re *replayError
	return errors.As(err, &re) || unsendable(err)
}

// unsendable reports whether err, from the base transport, says that the
// request can never succeed as it is, so that sending it again is wasted
// and the host is not to blame: the server's certificate failed
// verification (an unknown authority, another host's name, an expired or
// otherwise invalid certificate), or net/http refused the request itself
// (its scheme, method, a header or trailer, a missing URL or host).
func unsendable(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	return refused(err)
}

// refusals are the beginnings of the errors net/http's Transport returns,
// before it dials, for a request it will not send. They carry no type to
// match, only their text.
var refusals = []string{
	"unsupported protocol scheme ",
	"net/http: invalid header ", // field name or value
	"net/http: invalid trailer ",
	"net/http: invalid method ",
	"http: no Host in request URL",
	"http: nil Request.URL",
	"http: nil Request.Header",
	"http: invalid Host header",
}

// stringErrorType is the type of errors.New's errors, which is also what
// fmt.Errorf returns without %w: the type of every refusal.
var stringErrorType = reflect.TypeOf(errors.New(""))

// refused reports whether err, or an error its Unwrap chain leads to (up to
// a bound), is one of net/http's refusals. It reads the text of plain
// errors.New errors only, whose Error cannot panic, and stops at a nil
// pointer, whose Unwrap may.
func refused(err error) bool {
	for range 16 {
		if err == nil {
			return false
		}
		if reflect.TypeOf(err) == stringErrorType {
			msg := err.Error()
			for _, r := range refusals {
				if strings.HasPrefix(msg, r) {
					return true
				}
			}
			return false
		}
		u, ok := err.(interface{ Unwrap() error })
		if v := reflect.ValueOf(err); !ok || v.Kind() == reflect.Pointer && v.IsNil() {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// replayable reports whether req may be sent more than once.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
	default:
		_, key := req.Header["Idempotency-Key"]
		_, xkey := req.Header["X-Idempotency-Key"]
		if !key && !xkey {
			return false
		}
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// drain reads what is left of body, up to maxDrain bytes, and closes it.
func drain(body io.ReadCloser) {
	io.CopyN(io.Discard, body, maxDrain)
	body.Close()
}

// buffer reads a failure response's body into memory when it is at most
// maxDrain bytes, releasing the connection at once (the response may wait
// out a backoff or be returned later). A longer body is left as it is.
func buffer(resp *http.Response) {
	if resp.Body == http.NoBody || resp.ContentLength > maxDrain {
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDrain+1))
	if err == nil && len(b) <= maxDrain {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return
	}
	resp.Body = &prefixed{Reader: io.MultiReader(bytes.NewReader(b), resp.Body), c: resp.Body}
}

type prefixed struct {
	io.Reader
	c io.Closer
}

func (p *prefixed) Close() error { return p.c.Close() }

// onClose returns body with cancel called once it is closed.
func onClose(body io.ReadCloser, cancel context.CancelFunc) io.ReadCloser {
	if rw, ok := body.(io.ReadWriteCloser); ok { // 101 Switching Protocols
		return &cancelRWC{ReadWriteCloser: rw, cancel: cancel}
	}
	return &cancelRC{ReadCloser: body, cancel: cancel}
}

type cancelRC struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelRC) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type cancelRWC struct {
	io.ReadWriteCloser
	cancel context.CancelFunc
}

func (b *cancelRWC) Close() error {
	err := b.ReadWriteCloser.Close()
	b.cancel()
	return err
}

// attemptError is a transport error caused by the attempt's own deadline.
type attemptError struct{ err, cause error }

func (e *attemptError) Error() string   { return e.cause.Error() + ": " + e.err.Error() }
func (e *attemptError) Unwrap() []error { return []error{e.cause, e.err} }
