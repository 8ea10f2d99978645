package resgrpc

import (
	"context"
	"errors"
	"io"
	"iter"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// ClientConfig says how the client interceptors read gRPC outcomes. The zero
// value follows gRFC A6 (see DefaultRetryable and DefaultIsFailure) and uses
// Recovery.Breaker for every call.
type ClientConfig struct {
	// Retryable reports whether a call that failed with code may be
	// retried, given the server's pushback (see PushbackKey): hasPushback
	// says whether the trailer was there, and pushback is negative when it
	// said not to retry. Only failures (see IsFailure) are asked about.
	// Default DefaultRetryable. The Recovery's Retry.Retryable, if set, is
	// asked as well and must also agree.
	Retryable func(code codes.Code, pushback time.Duration, hasPushback bool) bool

	// IsFailure reports whether a code is a failure of the backend: the
	// breaker counts it, the tracker records it, and it may be retried.
	// Any other code is the backend's answer: a breaker success, never
	// retried, returned to the caller as it is (and still tracked).
	// Default DefaultIsFailure.
	IsFailure func(codes.Code) bool

	// BreakerKey, when set, keeps one breaker per key instead of
	// Recovery.Breaker, each built from Recovery.HostBreaker (which must
	// then be set); PerMethod and PerTarget are the usual keys. At most
	// middleware.MaxHosts breakers are made; calls with further keys use
	// Recovery.Breaker. Nil: Recovery.Breaker guards every call.
	BreakerKey func(target, method string) string
}

// PerMethod keys breakers by full method name ("/pkg.Service/Method").
func PerMethod(target, method string) string { return method }

// PerTarget keys breakers by the ClientConn's target.
func PerTarget(target, method string) string { return target }

// Client holds the client interceptors of one Recovery and, with
// ClientConfig.BreakerKey, their breakers. It is safe for concurrent use.
type Client struct {
	r     *middleware.Recovery
	cfg   ClientConfig
	group *breaker.Group // per-key breakers, with BreakerKey
	recs  sync.Map       // key -> *middleware.Recovery using that key's breaker
	plain sync.Map       // *middleware.Recovery -> the same without Hedge
	mu    sync.Mutex     // serializes additions to recs
}

// NewClient returns the client interceptors of r. r must not be modified
// afterwards. NewClient panics, naming the field, if BreakerKey is set
// without r.HostBreaker or if r is invalid (see middleware.Recovery.Validate).
func NewClient(r *middleware.Recovery, cfg ClientConfig) *Client {
	if r == nil {
		r = &middleware.Recovery{}
	}
	if err := r.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.Retryable == nil {
		cfg.Retryable = DefaultRetryable
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = DefaultIsFailure
	}
	c := &Client{r: r, cfg: cfg}
	if cfg.BreakerKey != nil {
		if r.HostBreaker == nil {
			panic("resgrpc: ClientConfig.BreakerKey needs Recovery.HostBreaker")
		}
		c.group = breaker.NewGroup(breaker.GroupConfig{
			Config:        *r.HostBreaker,
			MaxKeys:       middleware.MaxHosts,
			OnStateChange: r.Hooks.OnStateChange,
		})
	}
	return c
}

// Breaker returns the breaker that guards calls with key (see
// ClientConfig.BreakerKey), or nil if there is none yet (or no BreakerKey).
func (c *Client) Breaker(key string) *breaker.Breaker {
	if c.group == nil {
		return nil
	}
	for k, b := range c.group.All() {
		if k == key {
			return b
		}
	}
	return nil
}

// Breakers returns every per-key breaker made so far, with its key.
func (c *Client) Breakers() iter.Seq2[string, *breaker.Breaker] {
	if c.group == nil {
		return func(func(string, *breaker.Breaker) bool) {}
	}
	return c.group.All()
}

// recovery returns the Recovery for a call: r itself, or a copy of r with
// the call's own breaker.
func (c *Client) recovery(target, method string) *middleware.Recovery {
	if c.group == nil {
		return c.r
	}
	key := c.cfg.BreakerKey(target, method)
	if r, ok := c.recs.Load(key); ok {
		return r.(*middleware.Recovery)
	}
	b := c.group.Get(key)
	if b == nil {
		return c.r // the group is full
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.recs.Load(key); ok {
		return r.(*middleware.Recovery)
	}
	r := *c.r
	r.Breaker = b
	c.recs.Store(key, &r)
	return &r
}

// UnaryInterceptor returns the unary client interceptor: each call goes
// through the Recovery's stack (RateLimit, Total, Retry, Hedge, Throttle,
// Breaker, Bulkhead, Limit, per-attempt Timeout) as middleware.Do would run
// it, with gRPC's codes read as ClientConfig says. Hedged attempts (when
// Recovery.Hedge is set and the reply is a proto.Message) each decode into
// a fresh message, and the first answer is copied into the caller's reply. Every retry carries PreviousAttemptsKey; a server's
// pushback is honoured as Retry-After is, bounded by MaxRetryAfter. Each
// attempt's context deadline (the per-attempt Timeout, the Total budget or
// the caller's own) is what gRPC sends as the call's timeout.
//
// A failed call returns the last server answer's status error as it came
// when nothing else happened, else an *Error, whose gRPC status is that of
// the last answer or of the local rejection (see StatusOf).
func (c *Client) UnaryInterceptor() grpc.UnaryClientInterceptor {
	return c.unary
}

func (c *Client) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	r := c.recovery(cc.Target(), method)
	if r.Hedge != nil {
		if m, ok := reply.(proto.Message); ok {
			return c.hedgedUnary(ctx, r, method, req, m, cc, invoker, opts)
		}
		r = c.unhedged(r) // a reply only proto can copy cannot be hedged
	}
	call := &unaryCall{c: c, r: r, method: method, req: req, reply: reply, cc: cc, invoker: invoker}
	call.opts = append(append(call.buf[:0], opts...), grpc.Trailer(&call.trailer))
	_, err := middleware.Do(ctx, call.r, call.attempt)
	if err == nil && call.answer != nil {
		return call.answer
	}
	return c.result(err)
}

// unaryCall is the state of one unary call across its attempts, in one
// allocation.
type unaryCall struct {
	c       *Client
	r       *middleware.Recovery
	method  string
	req     any
	reply   any
	cc      *grpc.ClientConn
	invoker grpc.UnaryInvoker
	opts    []grpc.CallOption // the caller's, and the trailer's
	buf     [4]grpc.CallOption
	trailer metadata.MD
	n       int   // attempts started
	answer  error // the server's answer that is not a failure
}

func (u *unaryCall) attempt(ctx context.Context) (struct{}, error) {
	u.n++
	u.answer, u.trailer = nil, nil
	if u.n > 1 {
		ctx = metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.Itoa(u.n-1))
	}
	err := u.invoker(ctx, u.method, u.req, u.reply, u.cc, u.opts...)
	if err == nil {
		return struct{}{}, nil
	}
	err = u.c.classify(u.r, err, u.trailer)
	if a, ok := err.(answered); ok {
		u.answer = a.err
		return struct{}{}, nil
	}
	return struct{}{}, err
}

// hedgedUnary runs a unary call whose attempts may overlap (Recovery.Hedge):
// each attempt decodes into a fresh message of reply's type, and the first
// to finish with an answer is copied into reply.
func (c *Client) hedgedUnary(ctx context.Context, r *middleware.Recovery, method string, req any, reply proto.Message, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	var (
		n      atomic.Int64
		mu     sync.Mutex
		done   bool  // an attempt's answer is in reply
		answer error // that answer, if it is not a success
	)
	settle := func(got proto.Message, ans error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		done, answer = true, ans
		if got != nil {
			proto.Reset(reply)
			proto.Merge(reply, got)
		}
	}
	_, err := middleware.Do(ctx, r, func(ctx context.Context) (struct{}, error) {
		if k := n.Add(1); k > 1 {
			ctx = metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.FormatInt(k-1, 10))
		}
		got := reply.ProtoReflect().New().Interface()
		var trailer metadata.MD
		err := invoker(ctx, method, req, got, cc, append(opts[:len(opts):len(opts)], grpc.Trailer(&trailer))...)
		if err == nil {
			settle(got, nil)
			return struct{}{}, nil
		}
		err = c.classify(r, err, trailer)
		if a, ok := err.(answered); ok {
			settle(nil, a.err)
			return struct{}{}, nil
		}
		return struct{}{}, err
	})
	mu.Lock()
	defer mu.Unlock()
	if err == nil && answer != nil {
		return answer
	}
	return c.result(err)
}

// unhedged returns r without its Hedge, made once per Recovery.
func (c *Client) unhedged(r *middleware.Recovery) *middleware.Recovery {
	if v, ok := c.plain.Load(r); ok {
		return v.(*middleware.Recovery)
	}
	p := *r
	p.Hedge = nil
	v, _ := c.plain.LoadOrStore(r, &p)
	return v.(*middleware.Recovery)
}

// answered is a server answer that is not a failure: the breaker counts a
// success and the call ends with it.
type answered struct{ err error }

func (a answered) Error() string { return a.err.Error() }

// classify reads a failed attempt's status: a failure becomes a *callError
// (permanent unless ClientConfig.Retryable allows a retry), anything else is
// the backend's answer.
func (c *Client) classify(r *middleware.Recovery, err error, trailer metadata.MD) error {
	st, ok := status.FromError(err)
	if !ok {
		return err // not from a server: the layers see it as it is
	}
	code := st.Code()
	if !c.cfg.IsFailure(code) {
		if r.Tracker != nil {
			r.Tracker.Track(err)
		}
		return answered{err}
	}
	wait, has := parsePushback(trailer, maxRetryAfter(r))
	ce := &callError{err: err, wait: max(wait, 0)}
	if r.Retry != nil && !c.cfg.Retryable(code, wait, has) {
		return retry.Permanent(ce)
	}
	return ce
}

// result turns the stack's error into what a gRPC caller expects.
func (c *Client) result(err error) error {
	if err == nil {
		return nil
	}
	var ce *callError
	if errors.As(err, &ce) && err == error(ce) {
		return ce.err // the server's answer, nothing else to tell
	}
	return wrap(err)
}

// StreamInterceptor returns the stream client interceptor.
//
// A server-streaming call (one request, a stream of responses) is retried
// only until its first response message arrives: until then the request,
// kept by the interceptor, can be sent again and the caller has seen
// nothing, so a retry is invisible; after it the caller has acted on part
// of the stream, and replaying it would hand over messages twice. The
// stream is opened when the caller first reads from it (RecvMsg or Header),
// through Retry and Breaker, and the breaker hears the outcome of that first
// read. Client-streaming and bidirectional calls are retried only when
// opening the stream fails, since their messages are the caller's to send.
//
// The Bulkhead bounds open streams: a slot is held from the call until the
// stream ends (RecvMsg returns an error, io.EOF included, or the context
// ends). Timeout and Total do not apply to streams, which live as long as
// their caller reads them (give the context a deadline instead), nor do
// Hedge and the adaptive Limit, whose latency samples a stream's life
// would distort.
func (c *Client) StreamInterceptor() grpc.StreamClientInterceptor {
	return c.stream
}

func (c *Client) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	base := c.recovery(cc.Target(), method)
	r := *base // streams: no per-attempt or total timeout, no hedges or limit; the bulkhead is held below
	r.Timeout, r.Total, r.Bulkhead, r.Limit, r.Hedge = 0, 0, nil, nil, nil
	var release func()
	if bh := base.Bulkhead; bh != nil {
		if err := bh.Acquire(ctx); err != nil {
			if base.Tracker != nil {
				base.Tracker.Track(err)
			}
			return nil, wrap(err)
		}
		var once sync.Once
		free := func() { once.Do(bh.Release) }
		stop := context.AfterFunc(ctx, free) // a stream abandoned by its context
		release = func() { stop(); free() }
	}
	s := &clientStream{c: c, r: &r, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts, release: release}
	if desc.ClientStreams || !desc.ServerStreams {
		o, err := s.open(establish, nil)
		if err != nil {
			s.end()
			return nil, err
		}
		s.cur, s.committed = o.cs, true
	}
	return s, nil
}

// clientStream is a stream opened lazily, so that a server-streaming call
// can be retried until its first response.
type clientStream struct {
	c        *Client
	r        *middleware.Recovery
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	release  func() // frees the bulkhead slot, once; nil without a bulkhead

	mu        sync.Mutex
	cur       grpc.ClientStream // the open stream, nil until the first read
	committed bool              // the first response arrived (or streams are not retried)
	req       any               // the request of a server-streaming call, until committed
	sent      bool              // req was given
	closeSend bool              // CloseSend was called
	openErr   error             // opening failed for good
}

// How much of a server-streaming call open does.
type openMode int

const (
	establish openMode = iota // open the stream only
	sendOnly                  // open it and send the kept request
	firstRead                 // and read the first response
)

// opening is what one attempt of open achieved.
type opening struct {
	cs  grpc.ClientStream
	eof bool // the first read found the stream ended (io.EOF)
}

// open opens the stream through Retry and Breaker; how far it goes is mode.
// firstRead reads the first response into m.
func (s *clientStream) open(mode openMode, m any) (opening, error) {
	n := 0
	o, err := middleware.Do(s.ctx, s.r, func(context.Context) (opening, error) {
		n++
		ctx := s.ctx // not the attempt's: the stream outlives the attempt
		if n > 1 {
			ctx = metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.Itoa(n-1))
		}
		cs, err := s.streamer(ctx, s.desc, s.cc, s.method, s.opts...)
		if err != nil {
			return opening{}, s.c.classify(s.r, err, nil)
		}
		if mode == establish {
			return opening{cs: cs}, nil
		}
		if s.sent {
			if err := cs.SendMsg(s.req); err != nil && err != io.EOF {
				return opening{}, s.c.classify(s.r, err, nil)
			}
		}
		if s.closeSend {
			cs.CloseSend()
		}
		if mode == sendOnly {
			return opening{cs: cs}, nil
		}
		switch err := cs.RecvMsg(m); err {
		case nil:
			return opening{cs: cs}, nil
		case io.EOF:
			return opening{cs: cs, eof: true}, nil
		default:
			return opening{}, s.c.classify(s.r, err, cs.Trailer())
		}
	})
	if err != nil {
		var a answered
		if errors.As(err, &a) {
			err = a.err
		} else {
			err = s.c.result(err)
		}
		return opening{}, err
	}
	return o, nil
}

// end releases the bulkhead slot, once.
func (s *clientStream) end() {
	if s.release != nil {
		s.release()
	}
}

// commit opens a lazily opened stream as far as mode says and makes it the
// stream for good. It requires s.mu.
func (s *clientStream) commit(mode openMode, m any) error {
	if s.openErr != nil {
		return s.openErr
	}
	o, err := s.open(mode, m)
	if err != nil {
		s.openErr = err
		s.end()
		return err
	}
	s.cur, s.committed, s.req = o.cs, true, nil
	if o.eof {
		s.end()
		return io.EOF
	}
	return nil
}

// RecvMsg reads the next response. For a server-streaming call the first
// read opens the stream (see Client.StreamInterceptor).
func (s *clientStream) RecvMsg(m any) error {
	s.mu.Lock()
	if !s.committed {
		defer s.mu.Unlock()
		return s.commit(firstRead, m)
	}
	cs := s.cur
	s.mu.Unlock()
	err := cs.RecvMsg(m)
	if err != nil {
		s.end()
	}
	return err
}

// SendMsg sends m, or, for a server-streaming call not yet opened, keeps it
// to send when the stream opens.
func (s *clientStream) SendMsg(m any) error {
	s.mu.Lock()
	if !s.committed {
		defer s.mu.Unlock()
		if s.sent {
			return status.Error(codes.Internal, "resgrpc: more than one request on a server-streaming call")
		}
		s.req, s.sent = m, true
		return nil
	}
	cs := s.cur
	s.mu.Unlock()
	return cs.SendMsg(m)
}

// CloseSend closes the sending side (at once, or when a lazily opened
// stream opens).
func (s *clientStream) CloseSend() error {
	s.mu.Lock()
	if !s.committed {
		defer s.mu.Unlock()
		s.closeSend = true
		return nil
	}
	cs := s.cur
	s.mu.Unlock()
	return cs.CloseSend()
}

// Header returns the response header. On a server-streaming call not yet
// read from, it opens the stream and sends the request first, which ends
// the chance of a retry.
func (s *clientStream) Header() (metadata.MD, error) {
	s.mu.Lock()
	if !s.committed {
		if err := s.commit(sendOnly, nil); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	cs := s.cur
	s.mu.Unlock()
	return cs.Header()
}

// Trailer returns the trailer; only meaningful once the stream has ended.
func (s *clientStream) Trailer() metadata.MD {
	s.mu.Lock()
	cs := s.cur
	s.mu.Unlock()
	if cs == nil {
		return nil
	}
	return cs.Trailer()
}

// Context returns the stream's context (the caller's until it opens).
func (s *clientStream) Context() context.Context {
	s.mu.Lock()
	cs := s.cur
	s.mu.Unlock()
	if cs == nil {
		return s.ctx
	}
	return cs.Context()
}
