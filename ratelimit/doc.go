// Package ratelimit limits the rate of events with a token bucket, built on
// golang.org/x/time/rate, and adds what that package leaves to its callers:
// typed refusals that say when to try again, a Wait that refuses at once
// instead of sleeping past a deadline, and a keyed group with a bounded
// number of keys for servers that limit each client separately.
//
//	l := ratelimit.New(ratelimit.Config{Rate: 100, Burst: 20})
//	if err := l.Allow(); err != nil {
//		// refused: err matches ErrLimited and has RetryAfter()
//	}
//
// # The bucket
//
// A bucket holds at most Burst tokens and refills at Rate tokens a second;
// each event takes one. Allow takes a token if there is one and refuses
// otherwise. Wait reserves the next token and sleeps until it is due,
// unless it is due after MaxWait or after ctx's deadline: then it cancels
// the reservation, so that the token stays with others, and refuses at
// once. Over any interval T the limiter admits at most Burst + Rate·T
// events.
//
// # Defaults
//
// The zero Config is usable: Rate 10 a second, Burst Rate rounded up (10),
// no MaxWait. math.Inf(1) as Rate disables the limit. Config.Validate
// reports an out-of-range field by name; New and NewGroup panic with the
// same message.
//
// # Errors
//
// Every refusal matches ErrLimited with errors.Is, and has ErrorClass()
// "rate_limited" and RetryAfter() (reached with errors.As to
// interface{ RetryAfter() time.Duration }), so retry waits for the
// token instead of retrying into a refusal, and errtrack and middleware
// treat it like other rejections. A Wait whose ctx ends returns ctx.Err().
//
// # Keyed groups
//
// A Group holds one Limiter per key (a client address, an API key, a
// host), created with a full bucket on the key's first use. It tracks at
// most MaxKeys keys (default 10000) and evicts the least recently used
// when a new one arrives; an evicted key that comes back starts full
// again, so MaxKeys should exceed the clients active at once.
//
// # Cost
//
// Allow and a Wait that finds a token cost one rate.Limiter.Allow (a mutex
// and a clock read) and allocate nothing; so does a refusal by Allow. A
// Wait that waits allocates its reservation and timer. A Group adds a mutex,
// a map lookup and a move to the front of its recency list per call, and
// two allocations per new key.
//
// # Observing
//
// Config.OnReject is the limiter's own hook; Config.Observers attaches any
// number of observers next to it (a Group's limiters share those of
// GroupConfig.Config), each receiving EventReject for every refusal and
// EventWait with the time Wait waited for its token, with the caller's
// context (none for Allow).
package ratelimit
