// Package throttle provides client-side adaptive throttling, as described in
// the "Handling Overload" chapter of Google's SRE book: a client that sees
// its backend refuse work starts refusing requests itself, locally and at
// no cost to the backend, in proportion to how far its demand exceeds what
// the backend accepts.
//
//	th := throttle.New(throttle.Config{})
//	user, err := throttle.Do(ctx, th, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//	if errors.Is(err, throttle.ErrThrottled) {
//		// not sent: the backend is overloaded
//	}
//
// # The formula
//
// Over a sliding window the throttle counts requests (every request the
// application asked to send, rejected ones included) and accepts (requests
// the backend accepted). Allow rejects a request with probability
//
//	p = max(0, (requests − K·accepts) / (requests + 1)), capped at MaxRejectionRate
//
// While the backend accepts everything, p is 0. When it accepts only a part,
// the client settles where it sends about K times what the backend accepts:
// enough extra for the backend to show that it has recovered, never the
// whole demand. The cap keeps some requests flowing however bad it gets.
// Because rejected requests count as requests that were not accepted, the
// probability falls only as the window turns over after recovery: the
// admitted share roughly doubles (for K = 2) with each window, so a shorter
// window recovers sooner and forgets an outage sooner.
//
// # Defaults
//
// The zero Config is usable: K = 2, a 2 minute window kept in 10 buckets of
// 12 seconds, MaxRejectionRate 0.9, fresh randomness from math/rand/v2.
// Config.Validate reports an out-of-range field by name; New panics with the
// same message.
//
// # Outcomes
//
// A nil error is an accept. An error is ignored (counts as nothing) if
// Config.IsIgnored says so, by default when it is context.Canceled: the
// caller gave up, which says nothing about the backend. Any other error is
// an accept if Config.IsAccepted says so: by default every error the backend
// produced, except overload signals, which are not accepts: an HTTP 429 or
// 503 (an error with StatusCode() 429 or 503), a timeout
// (context.DeadlineExceeded or Timeout() true) or an ErrorClass() of
// "timeout", "rate_limit", "rate_limited" or "service_unavailable". A panic
// inside Do counts as nothing and keeps unwinding.
//
// # Errors
//
// A rejection matches ErrThrottled with errors.Is, has ErrorClass()
// "throttled" and Probability() (the rejection probability, reached with
// errors.As to interface{ Probability() float64 }), so retry, errtrack and middleware treat
// it like other rejections. It has no RetryAfter: a throttled request may
// pass on the next try, and a retry budget is the tool that keeps such
// retries from adding load.
//
// # Cost and concurrency
//
// A Throttle is safe for concurrent use. Allow and Done allocate nothing,
// take no lock and read no clock: they read three words, add to one and
// draw a random number only when p is above zero. A runtime timer moves
// the window on every bucket; it is armed only while the window holds
// counts, so an idle Throttle holds no timer and can be collected.
//
// # Observing
//
// Config.OnReject is the throttle's own hook; Config.Observers attaches
// any number of observers next to it, each receiving an EventReject with
// the rejection and the probability the request drew against.
package throttle
