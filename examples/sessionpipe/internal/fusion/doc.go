// Package fusion is the server side of the session pipe: it speaks the wire
// protocol of the Fustor V2 reliability guide over HTTP and keeps, per pipe,
// a consistent view of the latest version of every key.
//
// # Protocol
//
//	POST /api/v1/pipe/sessions/               {"pipe_id":"p","agent_id":"a1"}
//	  201 {"session_id":"…","role":"leader"|"follower",
//	       "heartbeat_interval_seconds":10,"session_timeout_seconds":30}
//	POST /api/v1/pipe/sessions/{id}/heartbeat
//	  200 {"role":"leader"|"follower"}   unknown or expired session: 410 {"error":"session obsolete"}
//	POST /api/v1/pipe/sessions/{id}/events   {"events":[{"key":"/a","mtime":1.5,"seq":7,"payload":"…"}]}
//	  200 {"acked":N}                     unknown or expired session: 410
//	GET  /api/v1/pipe/view?pipe_id=p
//	  200 {"entries":{"/a":{"mtime":1.5,"seq":7,"payload":"…"}}}
//
// Malformed JSON or a missing field answers 400 with {"error":"…"} naming the
// problem; a body over [Config.MaxBodyBytes] answers 413.
//
// # Sessions and roles
//
// The [SessionManager] records last_active_at for every session; heartbeats
// and event pushes both refresh it. A session idle for longer than
// [Config.SessionTimeout] is expired, lazily by the request that finds it
// stale and in the background by a sweeper goroutine that stops on
// [Server.Close]. The first live session of a pipe is its leader and a pipe
// never has two; when the leader expires, the next heartbeat of a follower
// is answered "leader".
//
// # Arbitration
//
// Every pipe keeps a [View]: per key, the entry with the greatest
// (mtime, seq), compared lexicographically. An equal or older event is
// acknowledged and changes nothing, so duplicates, re-deliveries and
// out-of-order arrivals from several agents never move the view backwards.
//
// # Fault injection
//
// [Server.FailFor], [Server.SlowFor], [Server.HangFor] and [Server.Restart]
// make the server answer 503, answer late, hang until the client gives up,
// or forget every session, so agents can be watched recovering.
//
// # Concurrency
//
// A Server is safe for concurrent use; hooks run outside its lock.
package fusion
