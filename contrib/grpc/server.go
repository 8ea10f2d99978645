package resgrpc

import (
	"context"
	"errors"
	"net"
	"runtime/debug"
	"time"

	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/timeout"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

var logger = grpclog.Component("resgrpc")

// ServerConfig says how the server interceptors treat outcomes. The zero
// value tracks the codes DefaultIsFailure reports and logs panics through
// grpclog.
type ServerConfig struct {
	// IsFailure reports whether a code a handler returned is a failed
	// request, tracked by Recovery.Tracker. Default DefaultIsFailure.
	IsFailure func(codes.Code) bool

	// OnPanic, if set, is called with the request's context and the
	// recovered panic (its value and stack), on the goroutine that
	// panicked, instead of logging it through grpclog.
	OnPanic func(ctx context.Context, method string, p *middleware.PanicError)

	// RateLimitKey picks the Recovery.RateLimit key of a request. Default:
	// the IP address of the peer.
	RateLimitKey func(ctx context.Context, fullMethod string) string
}

// Server holds the server interceptors of one Recovery. It is safe for
// concurrent use.
//
// The interceptors apply, outermost first, as middleware.Handler does: the
// RateLimit (per peer address, or ServerConfig.RateLimitKey), the Bulkhead
// and the adaptive Limit (a request any of them refuses gets
// RESOURCE_EXHAUSTED and a pushback trailer saying when to come back,
// without running the handler), the request timeout (Recovery.Timeout, or
// Total when Timeout is zero), and panic recovery (a panic becomes
// INTERNAL, is tracked once and reported through OnPanic or grpclog). The
// Limit's token hears each request's outcome: a failure when its code is
// one ServerConfig.IsFailure reports. Retry, Hedge, Throttle, Breaker and
// the Host* fields are client matters and do not apply: a server that
// trips a breaker on its own handlers' failures refuses every method
// because one of them is broken.
type Server struct {
	r     *middleware.Recovery
	cfg   ServerConfig
	limit time.Duration
	te    *timeout.Error // the request deadline's cause, shared by every request
}

// NewServer returns the server interceptors of r. r must not be modified
// afterwards.
func NewServer(r *middleware.Recovery, cfg ServerConfig) *Server {
	if r == nil {
		r = &middleware.Recovery{}
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = DefaultIsFailure
	}
	d := r.Timeout
	if d <= 0 {
		d = r.Total
	}
	return &Server{r: r, cfg: cfg, limit: d, te: &timeout.Error{Name: "request", Limit: d}}
}

// UnaryInterceptor returns the unary server interceptor.
func (s *Server) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		done, err := s.admit(ctx, info.FullMethod, func(md metadata.MD) { grpc.SetTrailer(ctx, md) })
		if err != nil {
			return nil, err
		}
		defer func() { done(err) }()
		if s.limit > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, s.limit, s.te)
			defer cancel()
		}
		defer func() {
			if p := recover(); p != nil {
				err = s.panicked(ctx, info.FullMethod, p)
				resp = nil
			}
		}()
		resp, err = handler(ctx, req)
		return resp, s.outcome(ctx, err)
	}
}

// StreamInterceptor returns the stream server interceptor. The request
// timeout bounds the whole stream.
func (s *Server) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		done, err := s.admit(ctx, info.FullMethod, ss.SetTrailer)
		if err != nil {
			return err
		}
		defer func() { done(err) }()
		if s.limit > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, s.limit, s.te)
			defer cancel()
			ss = &serverStream{ServerStream: ss, ctx: ctx}
		}
		defer func() {
			if p := recover(); p != nil {
				err = s.panicked(ctx, info.FullMethod, p)
			}
		}()
		return s.outcome(ctx, handler(srv, ss))
	}
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// admit takes a rate-limit token, a bulkhead slot and a limit token, or
// refuses the request with RESOURCE_EXHAUSTED and a pushback trailer. done
// ends the request with its outcome: it frees the slot and reports to the
// limit.
func (s *Server) admit(ctx context.Context, method string, setTrailer func(metadata.MD)) (done func(error), err error) {
	r := s.r
	if g := r.RateLimit; g != nil {
		key := peerIP(ctx)
		if s.cfg.RateLimitKey != nil {
			key = s.cfg.RateLimitKey(ctx, method)
		}
		if err := g.Get(key).Allow(); err != nil {
			return nil, s.refuse(setTrailer, err, "rate limited")
		}
	}
	bh := r.Bulkhead
	if bh != nil {
		if err := bh.Acquire(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			return nil, s.refuse(setTrailer, err, "server overloaded")
		}
	}
	var tok limit.Token
	if l := r.Limit; l != nil {
		var err error
		if tok, err = l.Acquire(ctx); err != nil {
			if bh != nil {
				bh.Release()
			}
			if ctx.Err() != nil {
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			return nil, s.refuse(setTrailer, err, "server overloaded")
		}
	}
	return func(err error) {
		if r.Limit != nil {
			switch {
			case err != nil && ctx.Err() != nil:
				tok.Ignore() // the client went away: nothing learnt
			case err != nil && s.cfg.IsFailure(status.Code(err)):
				tok.Done(err)
			default:
				tok.Done(nil)
			}
		}
		if bh != nil {
			bh.Release()
		}
	}, nil
}

// refuse reports a rejection and returns the RESOURCE_EXHAUSTED error the
// client gets, after setting the pushback trailer from its hint.
func (s *Server) refuse(setTrailer func(metadata.MD), err error, msg string) error {
	if t := s.r.Tracker; t != nil {
		t.Track(err)
	}
	if f := s.r.Hooks.OnReject; f != nil {
		f(middleware.Event{Err: err})
	}
	wait := time.Second
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		wait = ra.RetryAfter()
	}
	setTrailer(metadata.Pairs(PushbackKey, formatPushback(min(wait, maxRetryAfter(s.r)))))
	return status.Error(codes.ResourceExhausted, msg)
}

// peerIP returns the IP address of the request's peer, or "" if unknown.
func peerIP(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	addr := p.Addr.String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// outcome turns a handler's error after the request deadline fired into
// DEADLINE_EXCEEDED, and tracks failed requests.
func (s *Server) outcome(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if s.limit > 0 && context.Cause(ctx) == s.te {
		if _, ok := status.FromError(err); !ok || status.Code(err) == codes.Canceled || status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
			err = &Error{Status: status.New(codes.DeadlineExceeded, "request timed out"), Err: s.te}
		}
	}
	if t := s.r.Tracker; t != nil && s.cfg.IsFailure(status.Code(err)) {
		t.Track(err)
	}
	return err
}

// panicked reports a recovered panic and returns the INTERNAL error the
// client gets (without the panic's text, which is the server's business).
func (s *Server) panicked(ctx context.Context, method string, p any) error {
	pe := &middleware.PanicError{Value: p, Stack: debug.Stack()}
	if t := s.r.Tracker; t != nil {
		t.Track(pe)
	}
	if s.cfg.OnPanic != nil {
		s.cfg.OnPanic(ctx, method, pe)
	} else {
		logger.Errorf("panic serving %s: %v\n%s", method, p, pe.Stack)
	}
	return &Error{Status: status.New(codes.Internal, "internal error"), Err: pe}
}
