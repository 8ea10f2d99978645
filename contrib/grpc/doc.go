// Package resgrpc protects gRPC clients and servers with the same
// middleware.Recovery that protects HTTP ones.
//
// It lives in its own module (github.com/seed94f50169/resilience/contrib/grpc)
// so that users of the core packages never download gRPC.
//
// # Client
//
//	rec := &middleware.Recovery{
//		Retry:   &retry.Policy{MaxAttempts: 3},
//		Breaker: breaker.New(breaker.Config{}),
//		Timeout: time.Second, // each attempt; sent to the server as grpc-timeout
//	}
//	c := resgrpc.NewClient(rec, resgrpc.ClientConfig{})
//	conn, err := grpc.NewClient(target,
//		grpc.WithUnaryInterceptor(c.UnaryInterceptor()),
//		grpc.WithStreamInterceptor(c.StreamInterceptor()))
//
// A unary call runs through the Recovery's stack exactly as middleware.Do
// runs a function: RateLimit, Total, Retry, Hedge, Throttle, Breaker,
// Bulkhead, adaptive Limit, per-attempt Timeout, and the Tracker. gRPC status codes are read as gRFC A6 reads them: only
// UNAVAILABLE is retried by default, and RESOURCE_EXHAUSTED when the
// server sent a pushback (grpc-retry-pushback-ms); INVALID_ARGUMENT,
// NOT_FOUND, PERMISSION_DENIED and the like never are. The breaker counts
// UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN and RESOURCE_EXHAUSTED
// as failures; any other code is the backend answering, a success to the
// breaker. Both rules are ClientConfig fields. A pushback is honoured as a
// Retry-After is, bounded by Recovery.MaxRetryAfter; a negative one stops
// the retries. Every retry carries grpc-previous-rpc-attempts. Breakers may
// be kept per method or per target (ClientConfig.BreakerKey, from
// Recovery.HostBreaker) and are reachable with Client.Breaker.
//
// Errors keep their gRPC meaning: status.Code of what a call returns is the
// last server answer's code, or the code of the local decision (an open
// breaker is UNAVAILABLE, a full bulkhead RESOURCE_EXHAUSTED, a timeout
// DEADLINE_EXCEEDED), while errors.Is still finds breaker.ErrOpen,
// retry.ErrExhausted or timeout.ErrTimeout (see Error and StatusOf).
//
// Streams are retried only before their first response message: see
// Client.StreamInterceptor for why and how.
//
// # Server
//
//	s := resgrpc.NewServer(&middleware.Recovery{
//		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 100}),
//		Timeout:  2 * time.Second,
//		Tracker:  tracker,
//	}, resgrpc.ServerConfig{})
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(s.UnaryInterceptor()),
//		grpc.ChainStreamInterceptor(s.StreamInterceptor()))
//
// A panic becomes INTERNAL (tracked once, and logged through grpclog or
// handed to ServerConfig.OnPanic); a request over its peer's rate limit, or
// refused by a full bulkhead or the adaptive limit, answers
// RESOURCE_EXHAUSTED with a pushback trailer, which this package's client
// (and gRPC's own retry) honours; the request timeout bounds the handler's
// context and a handler cut short by it answers DEADLINE_EXCEEDED.
//
// Use one Recovery per direction: the server's protects the server from
// its callers, each client's protects the service from one dependency.
package resgrpc
