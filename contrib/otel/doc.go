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
//	o.Instrument(r) // before r is first used: chains r.Hooks (or joins r.Observers), registers gauges
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
//	resilience.handler.requests   Int64Counter     {request}     outcome (success|failure with observers; shed|panic)
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
// With Config.SpanEvents the Observer adds events to the span of the
// event's context (the call's, or the request's for Handler) when it is
// recording: resilience.retry
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
// By default Instrument counts through the Recovery's hooks: on the success
// path that is one atomic increment, no allocation. Durations and
// SpanEvents need the Recovery's observers, whose events carry the
// attempt's duration and context; an observed Recovery pays for building
// them on every call (about 250 ns and 3 allocations with Retry, on this
// machine), and Durations add one histogram record. handler.requests has
// success and failure outcomes only through the observers. See BenchmarkDo.
package resotel
