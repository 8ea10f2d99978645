// Package retry calls an operation again when it fails, waiting between
// attempts on a backoff schedule, within limits on attempts, elapsed time,
// the caller's context and a retry budget shared with other calls.
//
//	user, err := retry.Do(ctx, retry.Policy{}, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//
// For an operation that returns only an error, Policy.Do reads better:
//
//	err := retry.Policy{MaxAttempts: 5}.Do(ctx, sendBatch)
//
// # Defaults
//
// The zero Policy is usable: 3 attempts in all, waits from the zero
// backoff.Policy (100ms, doubling, capped at 5s, full jitter), hints from
// RetryAfter() capped at 1 minute, no elapsed-time limit, no budget. These
// are the pforge retry defaults. Policy.Validate reports out-of-range
// fields by name; Do never fails on them, it takes the defaults.
//
// # What is retried
//
// Every error is retried unless Policy.Retryable says otherwise, with two
// exceptions that no Retryable can override: an error marked with
// Permanent, and any failure once the caller's own context has ended. An
// attempt that failed on a shorter deadline of its own (a per-attempt
// timeout) while the caller's context is still alive is retried.
//
// # Waiting
//
// The wait before attempt n+1 is the n-th delay of the policy's backoff
// Sequence. If the failed attempt's error, or an error it wraps, has a
// RetryAfter() time.Duration method (an HTTP 429 or 503 with Retry-After),
// the wait is at least that hint, capped at MaxRetryAfter. If the wait would
// end at or after the context's deadline or MaxElapsed, Do gives up at once
// instead of sleeping uselessly. Waiting uses one timer in a select on
// ctx.Done(); the timer is stopped on every path.
//
// # Open circuit breakers
//
// A rejection by an open circuit breaker (an error whose RetryAfter() comes
// with ErrorClass() "circuit_open", as breaker.ErrOpen's do) is not a
// backend's answer but a local refusal, and its hint can be a minute long.
// Do waits for it only when it fits: when the breaker will let calls
// through within the backoff delay (the next attempt then waits that delay,
// as for any error), or, as an explicit opt-in, when the hint is at most
// Policy.MaxOpenWait (and MaxRetryAfter). Otherwise, by default, Do fails
// fast: it returns at once an *ExhaustedError wrapping the rejection, whose
// RetryAfter tells the caller when to come back. A rejection uses up an
// attempt like any other failure.
//
// # Errors
//
// When Do gives up while the caller's context is alive, it returns an
// *ExhaustedError that unwraps to the last attempt's error and matches
// ErrExhausted, and also ErrBudgetExhausted or context.DeadlineExceeded when
// that was the reason. Its message says why: attempts, MaxElapsed, the
// deadline (named by ExhaustedError.Scope when its setter knows it), the
// budget, or an open circuit. When the context ends (during an attempt or a wait),
// Do returns at once with an error matching both ctx.Err() and the last
// attempt's error. A Permanent error comes back as its cause; an error that
// Retryable rejects comes back unchanged.
//
// # Budgets
//
// MaxAttempts bounds one call, but during an outage every caller retries,
// and 3 attempts each triple the load on a struggling backend. A Budget
// shared by many calls caps retries at a ratio of recent calls (10% by
// default) plus a small per-second floor; retries beyond it fail fast with
// ErrBudgetExhausted. Create one with NewBudget and put it on every Policy
// that calls the same backend. NewSharedBudget makes a Budget whose account
// is kept by a BudgetSharer, for one budget across the replicas of a service
// (contrib/redis has one on Redis).
//
// # Concurrency and cost
//
// A Policy is a value and may be shared by any number of goroutines; its
// hooks and Budget must then be safe for concurrent use (a Budget is). Do
// runs fn on the caller's goroutine and starts no goroutine. When the first
// attempt succeeds, Do allocates nothing and reads the clock only if
// MaxElapsed is set; with a Budget it adds one atomic operation. Hooks run
// on the caller's goroutine, outside any lock.
//
// # Observing
//
// Policy.OnRetry is the policy's own hook; Policy.Observers attaches any
// number of observers next to it, each an Observer (or an ObserverFunc)
// that receives an Event by value: EventRetry before each wait, with the
// failed attempt, its error, the delay chosen and its Reason
// (ReasonBackoff, or ReasonRetryAfter when the error's RetryAfter hint was
// longer), and EventExhausted with the *ExhaustedError that ends Do. Each
// Event carries the caller's context, so a trace or request id can be read
// from it. Observers cost nothing on a call whose first attempt succeeds.
package retry
