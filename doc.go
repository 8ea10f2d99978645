// Package resilience is the front page of a set of small fault-tolerance
// packages for Go. This package holds no code; it explains how the others fit.
//
// Each package stands alone, has one primary type or function, and can be
// used without the others:
//
//	backoff     delay schedules: exponential, capped, with full, equal,
//	            decorrelated or spread jitter; stateless Delay(n) and a
//	            stateful Sequence for control loops
//	retry       retry policy: attempts, elapsed budget, classification,
//	            Retry-After hints, a shared retry budget
//	breaker     circuit breaker: closed, open, half-open; consecutive and
//	            rate-based tripping, slow-call detection
//	bulkhead    concurrency isolation: a bounded number of calls in flight,
//	            a bounded FIFO queue, a queue timeout
//	limit       an adaptive concurrency limit that follows the measured
//	            latency and drops (Gradient2, Vegas, AIMD)
//	timeout     per-call timeouts and cascading budgets whose error names the
//	            scope that expired
//	fallback    ordered alternatives, predicates, last-known-good values
//	errtrack    a bounded ring of recent errors, classified and counted
//	throttle    client-side adaptive throttling: reject locally the share
//	            of calls the backend is refusing anyway
//	ratelimit   a token-bucket rate limit, one per key with a bounded
//	            number of keys
//	hedge       hedged requests: a second attempt after a latency
//	            percentile, the first answer wins
//	middleware  Recovery: one config composing all of the above for plain
//	            calls, http.RoundTripper and http.Handler, with server-side
//	            priority shedding and deadlines carried across hops
//	config      the YAML keys of a tool's fault-tolerance settings, loaded
//	            into Recovery values, validated and reloadable
//	slogevents  log/slog records for the events a person wants in a log
//
// # Composition
//
// The packages never import one another (except retry, which uses backoff,
// and middleware, config and slogevents, which compose the others). They cooperate through small
// interfaces that any error may implement:
//
//	interface{ RetryAfter() time.Duration } // retry waits at least this long
//	interface{ ErrorClass() string }        // errtrack classifies by it
//	interface{ Temporary() bool }           // honoured by classification
//
// An open breaker's rejection reports the time left until it half-opens, so a
// retry loop around it fails fast with that hint instead of sleeping through
// the open period or burning attempts (it waits only when the breaker
// half-opens within its own backoff, or within a retry.Policy.MaxOpenWait it
// was given); a full bulkhead reports "bulkhead_full", so the error tracker
// counts shed load as such.
//
// When the patterns are stacked, the order matters. middleware.Recovery uses,
// outermost first:
//
//	fallback → rate limit → total timeout → retry → hedge → throttle →
//	    breaker → bulkhead → adaptive limit → attempt timeout → fn
//
// Each layer is where it is for a reason:
//
//   - Fallbacks wrap everything: they run only when the whole stack failed.
//   - The rate limit paces calls before any budget starts; a refused call is
//     never retried.
//   - The total timeout bounds every attempt and every wait between attempts.
//   - Retry sits outside the breaker, so each attempt asks the breaker and an
//     open breaker stops the retries at once (they wait for half-open only
//     within their backoff, or when retry.Policy.MaxOpenWait allows it). A
//     throttled or limited attempt is not retried unless the policy says so:
//     retrying it would fight the layer that sheds the load.
//   - Hedging sits inside retry and outside the throttle and the breaker, so
//     each hedge is one breaker call and a hedged call is retried as a
//     whole.
//   - The throttle sits outside the breaker, so a throttled attempt is
//     neither a success nor a failure to it.
//   - The breaker sits outside the bulkhead and the adaptive limit, so calls
//     it rejects never take a slot, and a refusal by either is a local
//     condition, not a backend failure.
//   - The adaptive limit sits inside the bulkhead, so the RTT it measures is
//     the backend's, without time queued for a bulkhead slot.
//   - The per-attempt timeout is innermost, so it bounds one call to the
//     backend and a slow call counts against the breaker.
//
// # When to use which
//
// Retry transient failures of idempotent operations, with jitter, under a
// budget. Break the circuit to a dependency that is down, so callers fail in
// microseconds instead of timing out, and the dependency can recover. Bound
// concurrency with a bulkhead where one slow dependency could otherwise take
// every goroutine or connection. Put a timeout on every call that crosses a
// network, and a total budget on every request that makes several. Fall back
// where a degraded answer beats none. Track errors by class to see which of
// these is happening.
//
// # Conventions
//
// Every operation is a func(context.Context) (T, error) and every package
// offers a generic Do.
//
// Configuration is a plain struct whose zero fields mean the documented
// defaults; a default a caller may want to name is an exported
// Default<Field> constant of the package that owns the field. A value that
// means nothing (a negative duration or count, NaN, a ratio outside its
// range, a maximum below its minimum) is the programmer's error. Every
// config type has a Validate method whose error names the first bad field
// ("bulkhead: MaxConcurrent must be in [0, 2147483647], got -1"), and the
// first call that uses a bad value reports it with that message:
// constructors (New, NewGroup) panic with it, and timeout.Do and hedge.Do
// return it without running the operation. Package config turns the same
// checks into errors that name the YAML key.
//
// Errors are sentinels matched with errors.Is. A rejection is returned as
// an unexported type that unwraps to its sentinel and carries ErrorClass()
// and, where waiting makes sense, RetryAfter(), reached with errors.As to
// the interfaces above. Error types are exported when they carry detail in
// exported fields (*retry.ExhaustedError, *timeout.Error, *fallback.Error,
// *middleware.StatusError), matched with errors.As; every error wraps its
// cause. Every wait
// selects on ctx.Done(). No package starts a goroutine per call, nor one that
// outlives the call that started it, unless its type has a Close method. The
// success paths of breaker, bulkhead and retry allocate nothing.
//
// # Observing
//
// Every stateful type keeps its hooks (OnStateChange, OnReject, OnRetry...)
// and takes any number of observers beside them, through an Observers
// field of its Config or Policy (middleware.Recovery.Observers for the
// composed stack; timeout.WithObserver and fallback.WithObserver on the
// context for the two packages made of functions). Each package defines
// the same small shapes: an Observer interface with one method,
// Observe(Event); an ObserverFunc adapter; an Event passed by value whose
// Kind is an EventKind. Hooks and observers compose: none overwrites
// another. Without observers nothing is built and no clock is read, so the
// hot paths cost what they did.
//
// Events carry what correlation needs: the call's context (a trace or
// request id), the HTTP method and URL, the attempt's duration, the delay
// chosen before a retry and its reason (backoff or Retry-After), the
// scope of a timeout, the fallback step that served. Stats() snapshots
// show the current state, including a breaker's window as its rate rules
// see it. Library code logs nothing unless the user attaches the
// slogevents adapter (slogevents.Attach(r, logger)); middleware.Handler's
// default log of recovered panics is the one exception, and Attach turns
// it into a structured record instead.

package resilience
