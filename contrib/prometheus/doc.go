// Package resprom exports what a middleware.Recovery does as Prometheus
// metrics: a prometheus.Collector fed by the Recovery's hooks and by the
// Stats() of its Breaker, Bulkhead and Limit.
//
// It lives in its own module
// (github.com/seed94f50169/resilience/contrib/prometheus) so that users of
// the core packages never download the Prometheus client.
//
// # Use
//
//	c := resprom.New(resprom.Config{Name: "payments"})
//	br := breaker.New(breaker.Config{OnStateChange: c.OnStateChange})
//	r := &middleware.Recovery{Retry: &retry.Policy{}, Breaker: br}
//	c.Instrument(r) // before r is first used
//	prometheus.MustRegister(c)
//
// Several Collectors, one per Recovery, may be registered together: the
// name is a constant label.
//
// # Metrics
//
// The same instruments as the OpenTelemetry adapter (contrib/otel), with
// Prometheus names: base units, counters ending in _total. Every metric has
// the label resilience_name; no label takes a per-request value. Class,
// reason and scope values beyond MaxClasses distinct ones, and hosts beyond
// MaxHosts, are reported as "other"; the server_address label exists only
// when Config.Hosts is set.
//
//	name                                    type       labels
//	resilience_attempts_total               counter    outcome (success|failure)
//	resilience_attempt_duration_seconds     histogram  outcome (with Config.Durations)
//	resilience_retries_total                counter    reason (errtrack class of the error retried)
//	resilience_rejections_total             counter    class (circuit_open, bulkhead_full, limit_exceeded, throttled, rate_limited, ...)
//	resilience_errors_total                 counter    class (every failed attempt and rejection)
//	resilience_timeouts_total               counter    scope (attempt, total, or a timeout.DoNamed name)
//	resilience_fallbacks_total              counter
//	resilience_handler_requests_total       counter    outcome (success|failure|shed|panic)
//	resilience_breaker_transitions_total    counter    state (the new state)
//	resilience_bulkhead_queue_wait_seconds  histogram  outcome (acquired|rejected; Collector.Bulkhead)
//	resilience_limit_queue_wait_seconds     histogram  outcome (acquired|rejected; Collector.Limit)
//	resilience_breaker_state                gauge      state (closed|open|half_open): 1 for the current state
//	resilience_bulkhead_in_flight           gauge
//	resilience_bulkhead_queued              gauge
//	resilience_limit_in_flight              gauge
//	resilience_limit_queued                 gauge
//	resilience_limit_current                gauge      the adaptive limit now
//
// A Grafana dashboard over these metrics is in dashboard/resilience.json,
// and examples/service is a runnable service that exports them.
package resprom
