// Package middleware composes retry, breaker, bulkhead, timeout, fallback and
// errtrack into one configuration, Recovery, with three adapters: Do for any
// func(context.Context) (T, error), Transport for HTTP clients and Handler
// for HTTP servers.
//
// # The stack
//
// Do and Transport apply, outermost first:
//
//	fallbacks → RateLimit → Total → Retry → Hedge → Throttle → Breaker →
//	    Bulkhead → Limit → Timeout → fn
//
// Handler applies RateLimit, Bulkhead, Limit and its request timeout, in
// that order. Each layer is where it is for a reason:
//
//   - The rate limit is outermost: Do and Transport wait for a token (Handler
//     refuses with 429) before any budget starts, so pacing does not eat
//     into Total, and a refused call costs nothing more: it is never
//     retried and never reaches the breaker.
//   - The total timeout bounds every attempt and every wait.
//   - Retry is outside the hedge, the throttle, the breaker and the limits,
//     so each attempt asks each of them again. Their refusals are local
//     decisions, not the backend's answers, and retrying them would fight
//     the very mechanism that sheds the load: a throttled attempt, a limit
//     rejection and a full bulkhead are returned at once unless
//     Retry.Retryable accepts them.
//   - Hedge (a *hedge.Policy) makes each attempt of the retry loop a hedged
//     call: inside the total timeout, so hedges are bounded by it too, and
//     outside the throttle and the breaker, so each hedge is one breaker
//     call with its own bulkhead slot and per-attempt timeout. A hedged call
//     that fails as a whole is retried as a whole.
//   - The throttle sits outside the breaker: a throttled attempt never takes
//     a breaker permit, so it is neither a success nor a failure, while the
//     breaker still trips on a backend that is down. The throttle hears only
//     of attempts that reached the backend.
//   - The breaker sits outside the bulkhead and the limit, so calls it
//     rejects never take a slot, and a full bulkhead or a limit rejection is
//     a local condition: neither a success nor a failure to the breaker,
//     whatever its IsIgnored says.
//   - The adaptive limit sits inside the bulkhead, so the RTT its token
//     measures is the backend's, without time queued for a bulkhead slot;
//     only attempts that reached the backend while the caller still waited
//     feed it (not one that lost to a hedge).
//   - The per-attempt timeout is innermost, so a slow call counts against
//     the breaker and, as a drop, against the limit.
//
// The tracker records every failed attempt, rate-limit, throttle, breaker,
// bulkhead and limit rejections included (errtrack classifies them by
// their ErrorClass), and fallbacks run only when the whole stack has
// failed.
//
// An open breaker's rejection says when it will half-open (RetryAfter).
// Under a retry policy it is a failed attempt like any other, and retry
// alone decides what follows: another attempt after the backoff delay when
// the breaker half-opens within it; a wait until it half-opens when
// Retry.MaxOpenWait allows it (bounded also by MaxRetryAfter, Total, the
// context's deadline and Retry.MaxElapsed); otherwise, by default, the call
// fails fast with a *retry.ExhaustedError that wraps the rejection and its
// RetryAfter.
//
// A hedge is not a retry (no OnRetry, no wait for an open breaker; its
// rejection leaves the first attempt running), and an attempt that lost to
// another is neither tracked nor a breaker failure. Share one retry.Budget
// between Retry.Budget and Hedge.Budget so that the two together stay
// within it (each hedged call deposits too, so a call that is retried
// earns a little more).
//
// Transport can keep one breaker, throttle and adaptive limiter per host
// (HostBreaker, HostThrottle, HostLimit), and keys its RateLimit by host.
//
// # Zero value and defaults
//
// A zero Recovery calls fn once and adds nothing: each nil or zero field is
// left out of the stack. The defaults of each layer are those of its own
// package. Recovery has no constructor: its components validate themselves
// when built, its durations mean "off" when zero or negative, Validate
// reports an invalid Retry, HostBreaker, HostThrottle, HostLimit or Hedge
// by field name, and Transport panics at once (not at the first request) if
// HostBreaker, HostThrottle or HostLimit is invalid.
//
// # HTTP
//
// Transport retries idempotent requests only, replays bodies with GetBody,
// treats transport errors and 429/5xx as failures, honours Retry-After
// (bounded by MaxRetryAfter; see ParseRetryAfter), drains and closes every
// response it discards, and can keep one breaker, throttle and adaptive
// limiter per host. When attempts end on a failure status the caller gets
// that response, not an error.
//
// Handler recovers panics into 500s (reporting each to Hooks.OnPanic, or
// logging it to the server's ErrorLog), answers 429 with Retry-After to a
// client over its rate limit, sheds load with 503 and Retry-After when the
// bulkhead is full or the adaptive limit reached, answers 503 when a
// request times out before its handler wrote anything, and tracks each
// failed request once. Clients get
// plain status texts; the detail goes to the tracker and the hooks. Its
// timeout is cooperative: the handler runs on the serving goroutine, the
// timeout response never waits for the client under a lock nor holds the
// bulkhead slot, and a connection the handler hijacks (a websocket, a
// proxied Upgrade) is the handler's alone: the timeout stands down. Handler
// uses no breaker and no retries: those protect a caller from a dependency.
//
// Deadlines travel across hops: Transport sends the time left on a
// request's context, less DeadlineMargin, in DeadlineHeader
// ("Request-Timeout: 250m" by default, in gRPC's grpc-timeout format), and
// Handler runs the request to the nearer of that budget and its own
// Timeout, answering 504 at once when nothing is left, so a chain of
// services stops working for a caller that has given up. The format is
// gRPC's because it is compact, exact to the nanosecond and bounded by its
// own grammar (at most 8 digits), so parsing it cannot overflow, and a
// service can speak it to gRPC peers by naming the header "Grpc-Timeout".
//
// With Shed, Handler queues requests in a Shedder in front of the
// bulkhead: by priority (a function of the request), first in first out
// while the queue drains and last in first out once it stands, each waiting
// at most Interval, or Target under overload (CoDel's rule), a full queue
// shedding its lowest priority first; shed requests get 503 and
// Retry-After as bulkhead rejections do.
//
// # One Recovery per dependency and per direction
//
// A Recovery's breaker, bulkhead and tracker are state: whatever shares a
// Recovery shares them. Give each dependency a client-side Recovery of its
// own (Transport, or Do around its calls), and the server its own for
// Handler:
//
//	users := &middleware.Recovery{Retry: ..., Breaker: ..., Bulkhead: ..., Timeout: ..., Tracker: usersErrs}
//	client := &http.Client{Transport: users.Transport(http.DefaultTransport)}
//	server := &middleware.Recovery{Bulkhead: ..., Timeout: ..., Tracker: serverErrs}
//	http.ListenAndServe(addr, server.Handler(mux))
//
// Sharing one goes wrong in three ways. A breaker shared by two
// dependencies opens for both when one is down (Handler ignores Breaker,
// so a dependency's open breaker never turns the server's own routes,
// /health included, into 503s, nor one failing route all the others). A
// tracker shared by the client and the server counts one failure twice:
// the dependency's error, then the 5xx the handler answers because of it.
// And a bulkhead shared by inbound requests and their outbound calls
// starves itself: requests take every slot, then each waits for a slot for
// its own outbound call, which only a finished request can free. A breaker
// for one route, if a route needs one, belongs around the calls that route
// makes (Do with a client-side Recovery, or breaker.Do), not around the
// server.
//
// # Concurrency
//
// A Recovery, its Transport and its Handler are safe for concurrent use.
// Hooks run synchronously on the goroutine of the call they describe,
// outside every lock. Do starts no goroutine but for the hedges that Hedge
// sends; Handler starts none either, except the runtime timer's when a
// request reaches its deadline (it ends the request's context and sends the
// timeout response).
//
// # Cost
//
// A successful Do through Retry, Breaker and Bulkhead allocates nothing and
// reads the clock only for Retry.MaxElapsed or the breaker's slow-call
// detection (tested with testing.AllocsPerRun); Limit adds no allocation
// and reads the clock only for the calls it samples; a per-attempt Timeout
// or a Total budget costs what context.WithTimeout costs. Transport adds to
// each request a shallow copy of it and a body wrapper when a timeout is set,
// and two small allocations for the call's state; sending a deadline header
// adds 5 (a copy of the request and of its header map, and the value). Hedge adds what hedge.Do
// costs (one allocation while no hedge is sent) and, in Transport, a
// context and a context.AfterFunc per attempt. Handler adds one
// allocation (its ResponseWriter) to a request without a timeout; with one,
// the request's context, timer and the handler's own header map make it 7.
//
// # Errors
//
// Do returns what its layers return: retry's *retry.ExhaustedError, the
// breaker's ErrOpen and ErrTooManyCalls, the bulkhead's ErrFull and
// ErrQueueTimeout, limit.ErrLimitExceeded and limit.ErrQueueTimeout,
// throttle.ErrThrottled, ratelimit.ErrLimited, a *timeout.Error, or fn's
// own error; each wraps its cause, so errors.Is finds both. When retry
// gives up because the next wait would end past Total (not a deadline of
// the caller's), its *retry.ExhaustedError has Scope "total" and says so.
// Failure statuses are *StatusError (ErrStatus),
// panics recovered by Handler are *PanicError (ErrPanic).
//
// # Observing
//
// Hooks are the Recovery's own callbacks; Recovery.Observers attaches any
// number of observers next to them (metrics, the slogevents logger, a
// test's recorder), each an Observer (or an ObserverFunc) that receives an
// Event by value, whose Kind says what happened:
//
//	EventAttempt      an attempt ran: Duration, Err, Status (Transport)
//	EventRetry        an attempt is about to start after Delay, for Reason
//	EventReject       the rate limit, throttle, breaker, bulkhead or limit
//	                  refused an attempt, or Handler shed a request (Status)
//	EventStateChange  a per-host breaker moved From → To
//	EventTimeout      the per-attempt Timeout (Scope "") or Total ("total")
//	                  cut an attempt short
//	EventExhausted    retry gave up
//	EventFallback     Do turned to its fallbacks; Step is the one that served
//	EventPanic        Handler recovered a panic
//	EventRequest      Handler answered a request: Status, Duration, Shed
//
// Every Event carries the call's or request's context (Ctx), and for HTTP
// the Method and URL, so a trace or request id can be read and the event
// tied to its request. A Recovery without observers builds no Event and
// reads no extra clock: Do, Transport and Handler allocate what they did
// before. The breakers, bulkheads and limiters a Recovery is given report
// through their own Observers as well; per-host breakers, limiters and
// throttles are reachable through Transport.Breaker and Transport.Breakers
// for their Stats.
package middleware
