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
// # Stuck calls
//
// A backend that accepts calls and never answers fails nobody until the
// calls time out, so a breaker that waits for outcomes opens only after
// FailureThreshold timeouts. With Config.StuckAfter set, each Allow first
// counts the calls admitted at least StuckAfter ago that are still in
// flight as failures, oldest first, in the generation they were admitted
// in: one consecutive failure each (closed), a failed entry in the window
// (slow too when it has been in flight for SlowCallDuration), or a failed
// probe (half-open, which reopens). Then it decides on its own call, so the
// first call after enough calls have hung for StuckAfter already finds the
// breaker open. When such a call's Done
// (or Ignore) finally runs, its outcome counts in the Stats totals only,
// never in the state a second time; Stats.Stuck counts the calls so judged.
// At most 512 calls in flight are watched at once; further calls are
// admitted and counted as usual when they report.
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
// closed state Allow and Done take no lock (but the short lock of the calls
// in flight when StuckAfter is set, and one clock read in Allow): a success costs one atomic add on
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
//
// # Observing
//
// Config.OnStateChange and Config.OnReject are the breaker's own hooks;
// Config.Observers attaches any number of observers next to them (a
// metrics exporter, the slogevents logger, a test's recorder), each an
// Observer (or an ObserverFunc) that receives an Event by value: an
// EventStateChange with From and To, or an EventReject with the error and,
// while open, the time left until half-open. A Group's breakers share the
// observers of GroupConfig.Config, and their events carry the Group key.
// Observers run synchronously, outside every lock, after the hooks. A
// breaker without observers builds no Event: Allow and Done cost the same
// as without the feature, and an observed rejection allocates nothing.
//
// Stats().Window shows what the rate rules see: the calls, failures and
// slow calls of the current window (count- or time-based, emptied at each
// transition) and the failure and slow-call rates that FailureRateThreshold
// and SlowCallRateThreshold are compared with.
package breaker
