// Package hedge sends hedged requests: when a call has not answered after
// a delay, it sends the same request again, to another replica, and takes
// whichever answers first. Dean and Barroso ("The Tail at Scale", CACM
// 2013) show that hedging at about the 95th-percentile latency cuts the
// 99.9th percentile by an order of magnitude for a few percent more
// requests: examples/tailsim reproduces that with this package.
//
//	p := &hedge.Policy{} // one hedge after the p95 of recent latencies
//	user, err := hedge.Do(ctx, p, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id) // must be safe to send twice
//	})
//
// Only hedge operations that are safe to run more than once at the same
// time (reads, idempotent writes).
//
// # Delay
//
// With Policy.Delay set, hedges are sent that long after the first
// attempt started, and each further one (MaxHedges, default 1) that long
// after the one before. Left zero, the delay adapts: it is the Quantile
// (default 0.95) of the latencies of recent attempts, kept between
// MinDelay (1ms) and MaxDelay (1s). The latencies recorded are those of
// attempts that succeeded and of attempts that lost to another (their
// time until they were ended, a lower bound that keeps the slow ones
// ranked as slow); failures are not recorded, so fast errors do not pull
// the delay down.
//
// The estimate is a histogram of the last Window to 2×Window latencies
// (Window default 1000), in buckets 1/16 of their value wide: the delay is
// never below the exact quantile of those samples and at most 6.25% above
// it. It takes about 4 KiB per Policy whatever the traffic, and is
// recomputed every Window/16 samples. Cold start: until ⌈10/(1−Quantile)⌉
// latencies (200 for p95, fewer if Window is smaller) have been recorded,
// the delay is MaxDelay, so a new Policy hedges only calls slower than
// that.
//
// # What ends a call
//
// The first success wins: its value is returned and every other attempt's
// context ends. A failure lets the other attempts go on, unless it is not
// worth hedging (see Policy.Hedgeable: by default a 4xx StatusCode(), a
// retry.Permanent error, or any failure once the caller's context has
// ended), which ends the call at once with that error. A failure never
// sends a hedge early, so when every attempt sent has failed the call
// ends, with an error that matches all of theirs. Hedging cuts slow calls;
// trying again after failures is the business of package retry, which
// can wrap a hedged call as a whole.
//
// # Budget
//
// During an outage every call is slow, and hedging would double the load
// on a backend that is already struggling. Policy.Budget bounds it: each
// call deposits, each hedge withdraws, and a hedge the budget refuses is
// not sent. A *retry.Budget fits; give the same one to the retry.Policy of
// the same backend, as gRPC and failsafe-go do, so retries and hedges
// together stay within one bound (10% of calls by default, plus a small
// floor).
//
// # Goroutines and cost
//
// The first attempt runs on the caller's goroutine, so a call that answers
// before the delay, the common case, starts no goroutine. It costs one
// allocation (the call's state, which is also the first attempt's
// context), a pooled timer armed and stopped, and with an adaptive delay
// two clock reads and a short lock to record the latency. The first
// attempt's context derives a context.WithCancel from the caller's only if
// fn asks for its Done channel.
//
// When the delay expires, the timer's goroutine coordinates the call:
// it sends each hedge on a goroutine of its own, collects outcomes, and
// ends the losers. Running the first attempt on a goroutine too would let
// Do return the moment a hedge wins, even if the first attempt ignores its
// context; but it would cost a goroutine and more on every call to save
// time only for attempts that do not honour cancellation, which hedging
// cannot help much anyway. So Do returns once every attempt has returned:
// attempts must end promptly when their context does. No goroutine
// outlives Do, and every attempt's context, the winner's included, has
// ended when Do returns; a result that must outlive Do on its context (an
// HTTP response body) needs a context of its own.
//
// A panic in any attempt is re-raised on the caller's goroutine with the
// same value, after the other attempts have been ended and have returned.
//
// A Policy is safe for concurrent use and must not be copied once used.
// OnHedge runs on the hedge's goroutine, outside any lock. Stats reads the
// counters and the current delay. With testing/synctest, create the Policy
// inside the bubble that uses it: its pooled timers belong to a bubble.
//
// # Observing
//
// Policy.OnHedge is the policy's own hook; Policy.Observers attaches any
// number of observers next to it, each receiving EventHedge as each hedge
// starts (on the hedge's goroutine) and EventRefused when the Budget
// refuses one, with the attempt number, the delay the call used and the
// caller's context.
package hedge
