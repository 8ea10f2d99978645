// Package breaker provides a circuit breaker: after a backend keeps failing,
// calls are rejected at once for a while instead of piling onto it, then a
// few probe calls test whether it has recovered.
//
// # States
//
//	         FailureThreshold consecutive failures, or a rate rule
//	Closed ─────────────────────────────────────────────────────▶ Open
//	  ▲                                                          │  ▲
//	  │ SuccessThreshold             first call once OpenTimeout │  │ any probe
//	  │ consecutive successes                        has elapsed ▼  │ failure
//	  └──────────────────────────────────────────────────────── HalfOpen
//
// Closed lets every call through. Open rejects every call with an error
// matching ErrOpen. Once OpenTimeout (plus optional jitter) has elapsed
// since the breaker opened (elapsed ≥ OpenTimeout), the next call moves it
// to HalfOpen and is its first probe; no timer is involved, so a call made
// exactly when the period ends is admitted. From that moment State and Stats
// report HalfOpen too, although the transition itself (a new generation,
// the OnStateChange hook) happens on that next call. HalfOpen admits at
// most HalfOpenMaxCalls probes at once and rejects the rest with
// ErrTooManyCalls. A probe permit that never reports is reclaimed after
// ProbeTimeout, so a lost probe cannot freeze the breaker half-open.
//
// # Outcomes
//
// Each admitted call ends as a success, a failure or ignored. A nil error is a
// success; a non-nil error is ignored if Config.IsIgnored says so (default:
// context.Canceled), a failure if Config.IsFailure says so (default: yes), and
// otherwise a success. Ignored calls change no state. A panic inside Do counts
// as a failure.
//
// Every transition starts a new generation. An outcome reported for a call
// admitted in an earlier generation is stale: it counts in the Stats totals
// but not in the state, window or thresholds of the new generation.
//
// # Consecutive and rate rules
//
// In the closed state every counted outcome is applied in this order:
//
//  1. A failure increments the consecutive-failure count (a success resets
//     it). If the count reaches FailureThreshold, the breaker opens and the
//     outcome goes no further.
//  2. If a rate rule is configured, the outcome is added to the sliding
//     window (the last WindowSize calls, or the last WindowDuration in 10
//     buckets). Once the window holds at least MinimumCalls calls, a failure
//     opens the breaker when the window's failure rate is at least
//     FailureRateThreshold, and a slow call (one that took at least
//     SlowCallDuration) opens it when the slow-call rate is at least
//     SlowCallRateThreshold.
//
// So either rule alone opens the breaker, whichever condition an outcome
// completes first; a negative FailureThreshold leaves only the rate rules.
// Rate rules are checked only in the closed state: in half-open, probe
// outcomes alone decide (slow successes count as successes). The window
// starts empty after every transition.
//
// # Defaults
//
// The zero Config is valid: 5 consecutive failures open the breaker, it stays
// open 60s, 1 probe at a time, 2 consecutive probe successes close it, no
// rate rules, no jitter.
//
// # Errors
//
// Rejections while open return an error that matches ErrOpen with errors.Is
// and has RetryAfter() time.Duration (time left until a probe is allowed) and
// ErrorClass() string ("circuit_open"), so a retry loop can tell when to come
// back instead of hammering (package retry fails fast on it unless the wait
// fits its backoff or its MaxOpenWait) and an error tracker can classify it.
// ErrTooManyCalls has ErrorClass "circuit_open" as well. Both are
// preallocated: rejecting a call allocates nothing. New panics, and
// Config.Validate returns an error, naming the offending field ("breaker:
// OpenTimeout ...").
//
// # Concurrency and cost
//
// A Breaker is safe for concurrent use and never allocates after New. In the
// closed state Allow and Done take no lock: a success costs one atomic add on
// a counter shard chosen per goroutine stack plus one atomic load, and reads
// the clock only for slow-call detection or a time window. A failure is a
// compare-and-swap. With a rate rule configured, each closed-state outcome
// also takes the window's own short lock (not the breaker's mutex).
//
// A rejection while open is two loads, one monotonic clock read (compared
// with the end of the open period, so that the rule above holds exactly)
// and one add; the breaker has no timer and starts no goroutine. Half-open
// admission and transitions take the breaker's mutex. Hooks run outside
// every lock. In tests with testing/synctest, create the breaker inside the
// bubble, so that its clock readings follow the bubble's clock.
//
// A Breaker must be created with New: every method of the zero Breaker
// panics with "breaker: Breaker must be created with New".
//
// Group keeps one breaker per key (host, endpoint), created lazily, up to a
// bound on the number of keys, with a state-change hook that names the key.
//
// Reset closes the breaker and clears its consecutive counts and window;
// ForceOpen rejects every call until Reset. Both are for operators.
//
// # Sharing state between breakers
//
// Replicas of a service that protect the same backend can share what their
// breakers learn (contrib/redis does, through Redis): OpenFor opens a breaker
// for a period decided elsewhere, OpenRemaining gives the period a breaker
// that opened has left, to publish it, and Config.ProbeGate lets a
// coordinator allow one probe for the whole fleet in half-open. A breaker
// stays the only decision-maker for its calls: nothing of this runs on the
// closed-state path.
package breaker
