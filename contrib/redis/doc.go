// Package redis shares resilience state between the replicas of a service,
// through Redis: a breaker's open state, a retry budget, and rate limits.
//
// When a service runs as twenty replicas, twenty independent breakers each
// need their own failures to learn that a backend is down, twenty retry
// budgets each allow their ratio, and a per-client rate limit is twenty
// times too generous. The types here make the fleet act as one.
//
// # Fail local
//
// Redis is an optimisation, never a dependency of a call: when Redis is
// slow or down, every component falls back to its local behaviour within
// Conn.Timeout (100ms by default), reports it through Conn.OnError, and
// resynchronizes when Redis answers again. No user call fails because of
// Redis:
//
//   - SharedBreaker: the local breaker decides every call, with or without
//     Redis. Publications that fail are retried every PollInterval while
//     their state holds; a probe lease that cannot be taken lets the local
//     probe go (every replica probes for itself, as without sharing).
//   - RateLimiter: a decision that Redis cannot make in time is made by a
//     local limiter of FallbackRate (by default Rate divided by Replicas).
//   - SharedBudget: the local budget keeps deciding from its last view of the
//     fleet's counts; increments that could not be flushed are kept and sent
//     with the next flush.
//
// The client must respect the timeout: a *goredis.Client needs
// ContextTimeoutEnabled (or read and write timeouts within Conn.Timeout),
// and the constructors refuse one that has neither.
//
// # Shared breaker
//
// SharedBreaker wraps a local breaker.Breaker, which stays the only
// decision-maker on the hot path: a call in the closed state costs no Redis
// round trip and no allocation more than the local breaker. When it opens,
// the replica writes "<prefix>:breaker:{<name>}:open" with a TTL equal to
// its open period (SET NX PX, so the first opener's period holds) and
// announces it on "<prefix>:breaker:{<name>}:events"; the others open with
// breaker.OpenFor for the time left. A replica follows within the pub/sub
// delay (milliseconds), or within PollInterval if the announcement was lost.
// Each open period increments "...:epoch" (expiring after a day without
// one), and a close announcement is accepted only for the newest period: a
// command that timed out can still run when a paused Redis resumes, and
// such a late close must not close breakers that opened since. Each
// replica also numbers its publications ("...:seq:<replica>", a hash that
// also records which open period its latest opening joined): one that
// runs after a newer one of the same replica is ignored, and a replica's
// close counts for the period it opened in even if the answer naming that
// period was lost.
//
// In half-open, breaker.Config.ProbeGate asks for a probe lease (SET PX on
// "...:lease"): one replica probes, the others get breaker.ErrTooManyCalls
// until it closes (announced: all close) or reopens (announced: all
// reopen); if it dies, another takes over when its lease ends. No lock is
// ever held across a call: unlike a breaker that serializes calls behind a
// distributed lock, replicas never wait on one another.
//
// # Rate limit
//
// RateLimiter is a distributed GCRA (generic cell rate algorithm) limiter:
// one Lua script per decision, so one round trip; each key is one Redis
// string holding its theoretical arrival time, expiring when idle. Its
// rejections are *RateLimitedError, with RetryAfter and ErrorClass
// "rate_limited".
//
// # Shared retry budget
//
// SharedBudget makes replicas share one retry.Budget window: each replica
// counts requests and retries locally and flushes the counts every
// FlushInterval into per-second bucket keys that expire; in between it
// decides locally from the fleet's counts it last read plus its own.
package redis
