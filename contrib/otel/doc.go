// Package resotel reports what a middleware.Recovery does through the
// OpenTelemetry metric and trace APIs.
//
// It lives in its own module (github.com/seed94f50169/resilience/contrib/otel)
// so that users of the core packages never download OpenTelemetry.
//
// # Use
//
//	o, err := resotel.New(resotel.Config{Name: "payments"})
//	...
//	br := breaker.New(breaker.Config{OnStateChange: o.OnStateChange})
//	r := &middleware.Recovery{Retry: &retry.Policy{}, Breaker: br}
//	o.Instrument(r) // before r is first used: appends o to r.Observers, registers gauges
//	defer o.Close()
//	v, err := middleware.Do(ctx, r, fetch) // or resotel.Do, for attempt spans
//
// # Instruments
//
// Every instrument carries resilience.name, the Config's Name, so several
// policies share one meter. No attribute takes a per-request value:
// outcome, state, reason, class and scope come from small fixed sets (an
// error's ErrorClass beyond MaxClasses distinct values is reported as
// "other"), and server.address is added only when Config.Hosts is set
// (at most MaxHosts distinct hosts, the rest as "other").
//
//	name                          kind             unit          attributes
//	resilience.attempts           Int64Counter     {attempt}     outcome (success|failure)
//	resilience.attempt.duration   Float64Histogram s             outcome (with Config.Durations)
//	resilience.retries            Int64Counter     {retry}       reason (errtrack class of the error retried)
//	resilience.rejections         Int64Counter     {call}        class (circuit_open, bulkhead_full, limit_exceeded, throttled, rate_limited, ...)
//	resilience.errors             Int64Counter     {error}       class (errtrack class of every failed attempt and rejection)
//	resilience.timeouts           Int64Counter     {timeout}     scope ("attempt", "total", or a timeout.DoNamed name)
//	resilience.fallbacks          Int64Counter     {fallback}
//	resilience.handler.requests   Int64Counter     {request}     outcome (success|failure|shed|panic)
//	resilience.breaker.transitions Int64Counter    {transition}  state (the new state: closed|open|half_open)
//	resilience.bulkhead.queue.wait Float64Histogram s            outcome (acquired|rejected; Observer.Bulkhead)
//	resilience.limit.queue.wait   Float64Histogram s             outcome (acquired|rejected; Observer.Limit)
//	resilience.breaker.state      Int64ObservableGauge {state}   state; 1 for the current state, 0 for the others
//	resilience.bulkhead.in_flight Int64ObservableGauge {call}
//	resilience.bulkhead.queued    Int64ObservableGauge {call}
//	resilience.limit.in_flight    Int64ObservableGauge {call}
//	resilience.limit.queued       Int64ObservableGauge {call}
//	resilience.limit.current      Int64ObservableGauge {call}    the adaptive limit now
//
// The gauges read the Stats() of the Recovery's Breaker, Bulkhead and Limit
// when the reader collects; they cost nothing between collections.
//
// # Tracing
//
// The Observer adds events to the span of the event's context (the call's,
// or the request's for Handler) when it is recording: resilience.retry
// before every retried attempt (resilience.attempt, reason, resilience.delay
// in seconds), resilience.rejected for every refused attempt (class),
// resilience.exhausted when retry gives up, and resilience.fallback when
// the fallbacks take over (resilience.fallback.step: the one that served,
// 0 for none). Do adds resilience.hedge for an attempt started while
// another of the same call is in flight and, with Config.AttemptSpans,
// runs each attempt that reaches fn in a child span "resilience.attempt",
// ended with an error status when it fails.
//
// # Cost
//
// On the success path the Observer adds one atomic increment to what an
// observed Recovery costs; Durations add one histogram record. See
// BenchmarkDo.
package resotel
