// Package agent is the client side of the session pipe: an AgentPipe that
// keeps a session with fusion and delivers events to it, following the
// Fustor V2 reliability guide.
//
// # Control loop
//
// [Agent.Run] creates a session, then heartbeats, pushes spooled events
// and, as the pipe's leader, audits the view. After any error it waits for
// the next delay of an exponential backoff (error_retry_interval 5s, ×
// backoff_multiplier 2, capped at max_backoff_seconds 60s: 5, 10, 20, 40,
// 60, 60… s) and resets the schedule after a success. After
// max_consecutive_errors (5) errors in a row its status is [Degraded] and an
// event says so; it keeps trying. A 410 answer is a
// [SessionObsoletedError]: the agent drops the session and creates a new
// one at once, without backoff and without counting an error; but if the
// new session goes obsolete too before it has served a single call, that
// counts as an error and is backed off, so that a server that obsoletes
// every session is not hammered.
//
// # Heartbeats
//
// Heartbeats go out every heartbeat interval: the server's suggestion, or
// [Config.HeartbeatInterval]. A heartbeat is skipped when a push was
// acknowledged within the interval, since fusion counts the push as
// activity; at most [Config.MaxSkippedHeartbeats] in a row, because only a
// heartbeat tells the agent its role.
//
// # Delivery
//
// [Agent.Submit] puts events into a bounded spool; they leave it only when
// fusion acknowledges them, so an outage or a restart of fusion loses
// nothing, and re-delivery is harmless because fusion keeps the newest
// version per key. When the spool is full, Submit blocks: the producer is
// slowed down, never silently dropped. An event fusion could never accept
// (empty key, NaN or infinite mtime, key or payload not valid UTF-8) is
// refused by Submit, so it cannot block the spool. Every request goes through
// [Config.Transport] (in the demo: a breaker, per-attempt timeouts and
// bounded retries); pushes and heartbeats carry an Idempotency-Key so the
// transport may retry them, session creation does not. Failed operations
// are classified by an error tracker and counted by class in [Status].
//
// # Concurrency
//
// Submit, Flush and Status are safe to call from any goroutine while Run
// runs. Config.OnEvent is called from Run's goroutine.
package agent
