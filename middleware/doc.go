// Package middleware composes retry, breaker, bulkhead, timeout, fallback and
// errtrack into one configuration, Recovery, with three adapters: Do for any
// func(context.Context) (T, error), Transport for HTTP clients and Handler
// for HTTP servers.
//
// # The stack
//
// Do and Transport apply, outermost first:
//
//	fallbacks → RateLimit → Total → Retry → Throttle → Breaker → Bulkhead → Limit → Timeout → fn
//
// Handler applies RateLimit, Breaker, Bulkhead, Limit and its request
// timeout, in that order. Each layer is where it is for a reason:
//
//   - The rate limit is outermost: Do and Transport wait for a token (Handler
//     refuses with 429) before any budget starts, so pacing does not eat
//     into Total, and a refused call costs nothing more: it is never
//     retried and never reaches the breaker.
//   - The total timeout bounds every attempt and every wait.
//   - Retry is outside the throttle, the breaker and the limits, so each
//     attempt asks each of them again. Their refusals are local decisions,
//     not the backend's answers, and retrying them would fight the very
//     mechanism that sheds the load: a throttled attempt, a limit rejection
//     and a full bulkhead are returned at once unless Retry.Retryable
//     accepts them.
//   - The throttle sits outside the breaker: a throttled attempt never takes
//     a breaker permit, so it is neither a success nor a failure, while the
//     breaker still trips on a backend that is down. The throttle hears only
//     of attempts that reached the backend.
//   - The breaker sits outside the bulkhead and the limit, so calls it
//     rejects never take a slot, and a full bulkhead or a limit rejection is
//     a local condition: neither a success nor a failure to the breaker (nor
//     is a Handler request aborted with http.ErrAbortHandler), whatever its
//     IsIgnored says.
//   - The adaptive limit sits inside the bulkhead, so the RTT its token
//     measures is the backend's, without time queued for a bulkhead slot;
//     only attempts that reached the backend while the caller still waited
//     feed it.
//   - The per-attempt timeout is innermost, so a slow call counts against
//     the breaker and, as a drop, against the limit.
//
// The tracker records every failed attempt, rate-limit, throttle, breaker,
// bulkhead and limit rejections included (errtrack classifies them by
// their ErrorClass), and fallbacks run only when the whole stack has
// failed.
//
// An open breaker's rejection says when it will half-open (RetryAfter). With
// a retry policy, an attempt waits that long once, if the wait fits within
// the context's deadline, Retry.MaxElapsed and MaxRetryAfter, instead of
// spending the attempt; otherwise the rejection is returned to the retry
// policy, which honours the same hint, bounded by MaxRetryAfter.
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
// reports an invalid Retry, HostBreaker, HostThrottle or HostLimit by field
// name, and Transport panics at once (not at the first request) if one of
// the last three is invalid.
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
// Handler recovers panics into 500s, answers 429 with Retry-After to a
// client over its rate limit, sheds load with 503 and Retry-After when the
// breaker, the bulkhead or the adaptive limit refuses a request, answers
// 503 when a request times out before its handler wrote anything, and
// tracks each failed request once. Its timeout is cooperative: the handler
// runs on the serving goroutine, and a mutex orders its writes against the
// timeout response.
//
// # Concurrency
//
// A Recovery, its Transport and its Handler are safe for concurrent use.
// Hooks run synchronously on the goroutine of the call they describe,
// outside every lock. Do starts no goroutine; Handler starts none either,
// except the runtime timer's when a request reaches its deadline.
//
// # Cost
//
// A successful Do through Retry, Breaker and Bulkhead allocates nothing and
// reads the clock only for Retry.MaxElapsed or the breaker's slow-call
// detection (tested with testing.AllocsPerRun); Limit adds no allocation
// and reads the clock for the calls it samples; a per-attempt Timeout
// or a Total budget costs what context.WithTimeout costs. Transport adds to
// each request a shallow copy of it and a body wrapper when a timeout is set,
// and two small allocations for the call's state.
//
// # Errors
//
// Do returns what its layers return: retry's *retry.ExhaustedError, the
// breaker's ErrOpen and ErrTooManyCalls, the bulkhead's ErrFull and
// ErrQueueTimeout, limit.ErrLimitExceeded and limit.ErrQueueTimeout,
// throttle.ErrThrottled, ratelimit.ErrLimited, a *timeout.Error, or fn's
// own error; each wraps its cause,
// so errors.Is finds both. Failure statuses are *StatusError (ErrStatus),
// panics recovered by Handler are *PanicError (ErrPanic).
package middleware
