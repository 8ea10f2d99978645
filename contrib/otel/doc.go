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
//	o.Instrument(r) // before r is first used: chains r.Hooks, registers gauges
//	defer o.Close()
//	v, err := resotel.Do(ctx, o, r, fetch) // or middleware.Do: no durations, no span events
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
//	resilience.attempt.duration   Float64Histogram s             outcome (Do only)
//	resilience.retries            Int64Counter     {retry}       reason (errtrack class of the error retried)
//	resilience.rejections         Int64Counter     {call}        class (circuit_open, bulkhead_full, limit_exceeded, throttled, rate_limited, ...)
//	resilience.errors             Int64Counter     {error}       class (errtrack class of every failed attempt and rejection)
//	resilience.timeouts           Int64Counter     {timeout}     scope ("attempt", "total", or a timeout.DoNamed name)
//	resilience.fallbacks          Int64Counter     {fallback}
//	resilience.handler.requests   Int64Counter     {request}     outcome (shed|panic)
//	resilience.breaker.transitions Int64Counter    {transition}  state (the new state: closed|open|half_open)
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
// Do adds events to the span of the caller's context, when it is
// recording: resilience.retry before every retried attempt (with
// resilience.attempt and reason), resilience.hedge for an attempt started
// while another of the same call is in flight, resilience.rejected when
// the call ends on a rejection (class), and resilience.fallback when the
// fallbacks take over. With Config.AttemptSpans each attempt that reaches
// fn runs in a child span "resilience.attempt", ended with an error status
// when it fails.
//
// # Cost
//
// On the success path Instrument's hooks add one counter increment with a
// precomputed attribute set; Do adds two clock reads, one histogram record
// and one allocation (the per-call closure). See BenchmarkDo.
package resotel
