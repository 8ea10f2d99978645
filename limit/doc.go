// Package limit bounds how many calls run against a dependency at once, by
// a limit that follows the dependency's measured latency and drops instead
// of a number fixed in a config file. A static limit is wrong after every
// deploy, every change of hardware and every shift of traffic; this one
// finds the concurrency at which the latency starts to rise, and stays
// there.
//
// # Use
//
//	l := limit.New(limit.Config{})
//	v, err := limit.Do(ctx, l, fetch)
//
// or, when the work does not fit a function, Acquire and a Token:
//
//	t, err := l.Acquire(ctx)
//	if err != nil {
//		return err
//	}
//	resp, err := call(ctx)
//	t.Done(err)
//
// The token reads the clock: the RTT of a call runs from Acquire to Done,
// and the caller never passes times. Ignore ends a call without a sample.
//
// # Algorithms
//
// Samples (a call's RTT, the calls in flight when it ended, whether it was
// a drop) are gathered in windows: a window closes once it spans Window
// (default 100ms) and holds WindowSamples samples (default 10), and only
// calls that started after it opened count in it, so each window judges
// the limit it ran under. Each closed window moves a limit L, kept in
// [MinLimit, MaxLimit], from its mean RTT (short), the most calls in
// flight it saw and whether any sample was a drop. The slots are ⌊L⌋.
//
// Gradient2 (the default, after Netflix concurrency-limits) compares short
// with a long-term average of the windows (long: a plain mean over the
// first 10 windows, then an exponential moving average over LongWindow,
// default 600, each window weighted 2/(LongWindow+1)):
//
//	gradient = clamp(Tolerance · long / short, 0.5, 1)
//	L' = L·(1 − Smoothing) + Smoothing·(L·gradient + √L)
//
// While latency is steady the gradient is 1 and L grows by √L of headroom
// (smoothed); when short exceeds Tolerance times long, L shrinks by up to
// a tenth per window. It settles where the RTT is about Tolerance times
// the unloaded one. A window whose short exceeds Tolerance·long is not
// folded into long, or long would follow the queue up and the limit with
// it; when long is more than twice short it decays by 5% per window, so it
// follows a lasting improvement quickly. Defaults: Tolerance 1.5,
// Smoothing 0.2.
//
// Vegas (after TCP Vegas and Netflix's VegasLimit) takes the least window
// mean as the no-load RTT and estimates the queue at the backend as
//
//	queue = ⌈L · (1 − minRTT / short)⌉
//
// With s = max(1, log10 L): queue ≤ s gives L + Beta·s (fast growth),
// queue < Alpha·s gives L + s, queue > Beta·s gives L − s, a drop gives
// L − s. Defaults: Alpha 3, Beta 6.
//
// AIMD: L' = L·Backoff after a window with a drop, L + 1 after one
// without. Latency is not used, which suits callers that only see errors
// and rejections. Default Backoff 0.9.
//
// None of them raises the limit while less than half of it is in use (and
// Gradient2 then leaves it alone entirely): a limit the application does
// not reach says nothing about the backend, and must not drift up to
// MaxLimit while traffic is low. A drop still lowers Vegas and AIMD.
//
// # Probes
//
// An algorithm that compares RTTs cannot tell a backend that got slower
// for good from one it overloads, and one that starts above the backend's
// capacity never sees the unloaded RTT. So every ProbeInterval (default
// 30s) Gradient2 and Vegas run one window at ProbeLimit (default 3) and
// take its mean RTT as their reference afresh (long, minRTT), as Envoy's
// adaptive concurrency filter does with its minimum RTT. Calls over the
// probe's limit wait or are rejected for that window, which lasts at
// least Window and WindowSamples samples: against a slow backend (an RTT
// of seconds) raise ProbeLimit or ProbeInterval, or turn probes off with
// NoProbe.
//
// # Outcomes
//
// Done(nil) is a success. Done(err) asks Config.IsIgnored first (default:
// context.Canceled), so a caller that gives up feeds nothing, then
// Config.IsDrop (default: every other error is a drop). Rejected and
// canceled Acquires feed nothing either. Do ignores an error that comes
// after its ctx ended, and a panic in fn releases the slot, samples
// nothing and goes on.
//
// # Sampling
//
// Reading the clock costs more than the rest of a call through the
// limiter, so at high call rates (more than one call per 4µs) only one
// call in n, n a power of two up to 1024 moved with the observed rate, is
// measured. The measured calls are picked by a hash of their admission
// sequence number, not every n-th one, so a periodic pattern in the
// traffic is not aliased; successes and drops are thinned alike, and the
// algorithms see the same proportions. Below that rate, and from 1ms after
// a burst ends, every call is a sample.
//
// # Queueing
//
// With MaxQueued > 0, callers that find the limit reached wait in a FIFO
// queue for up to MaxWait (default 1s): a released slot goes straight to
// the longest-waiting caller, and newcomers never overtake it. A caller
// leaves the queue when its slot comes, when its context ends (Acquire
// returns ctx.Err()), or after MaxWait (ErrQueueTimeout). When the limit
// falls below the calls in flight, running calls go on; their slots are
// not handed on until fewer than the limit run.
//
// # Errors
//
// Rejections match ErrLimitExceeded or ErrQueueTimeout with errors.Is.
// Both report ErrorClass "limit_exceeded" and a RetryAfter hint (the last
// window's mean RTT, in [1ms, 1m]), reached with errors.As to
// interface{ RetryAfter() time.Duration }, which retry loops and HTTP
// servers can use. A zero Config field takes its Default<Field>
// constant; New panics, with a message naming the field, on a Config that
// Validate rejects (a negative count, a negative MaxWait or ProbeInterval
// other than NoMaxWait or NoProbe, a ratio out of its range, a MinLimit
// above MaxLimit). A zero Limiter, not made by
// New, has no slots and no queue: it rejects every call.
//
// # Concurrency and cost
//
// A Limiter is safe for concurrent use. When a slot is free and nobody is
// queued, Acquire and Done are an atomic compare-and-swap each plus, for a
// sampled call, two clock reads and a short critical section under a
// mutex: no allocation. Without a queue, a rejection takes no lock
// either, so shedding load stays cheap. Queue entries and their timers
// are pooled. As with package bulkhead, create a Limiter inside the
// testing/synctest bubble that uses it. OnLimitChange is called outside
// any lock, after the slot of the call that changed the limit is
// released.
//
// Done or Ignore when no slot is held panics. An extra one while other
// calls hold slots cannot be told from theirs and silently lets one call
// too many in, so end every Token exactly once, or use Do.
//
// # Observing
//
// Config.OnLimitChange is the limiter's own hook; Config.Observers
// attaches any number of observers next to it, each an Observer (or an
// ObserverFunc) that receives an Event by value: EventAcquire with the
// time spent queued (0 when a slot was free), EventReject with the
// rejection and the time queued, and EventLimitChange with the old and new
// limit. Acquire events carry the caller's context. Without observers
// Acquire takes its usual path; with them the clock is read only when the
// caller may have to queue, and nothing allocates.
package limit
