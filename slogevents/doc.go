// Package slogevents logs the events of the resilience packages with
// log/slog: the ones a person wants to read in a log, at levels that say
// how much they matter, with structured attributes, and nothing per
// successful call.
//
// One call wires a Recovery:
//
//	slogevents.Attach(r, logger) // before r is used
//
// and each package's observer can be attached on its own, where the object
// is built:
//
//	b := breaker.New(breaker.Config{Observers: []breaker.Observer{slogevents.Breaker(logger)}})
//
// # What is logged
//
//	event                                   level  message
//	breaker opens                           WARN   "breaker opened"
//	breaker half-opens, closes              INFO   "breaker half-open", "breaker closed"
//	rejection (breaker, bulkhead, limit,    WARN   "rejected"
//	  throttle, rate limit; Handler shed)
//	retries exhausted                       ERROR  "retries exhausted"
//	recovered panic (Handler)               ERROR  "panic recovered"
//	timeout (with its scope)                WARN   "timed out"
//	fallback served or all failed           INFO / ERROR "fallback served", "fallbacks failed"
//	each retry, with its delay and reason   DEBUG  "retrying"
//	adaptive limit change, hedge sent       DEBUG  "limit changed", "hedge sent"
//
// Successful attempts, acquisitions and requests are not logged: count them
// with an observer of your own or a metrics adapter.
//
// Each record is logged with the event's context (slog.Logger.LogAttrs), so
// a handler that reads a trace or request id from the context finds it.
// Attributes: "event" (the EventKind), and where they apply "host",
// "method", "url", "attempt", "err", "from", "to", "delay", "reason",
// "status", "scope", "limit", "step", "wait", "key".
//
// # Observing
//
// The functions return the Observer of each package; they compose with the
// user's own hooks and observers (see each package's "Observing" section).
// A nil *slog.Logger means slog.Default().
package slogevents
