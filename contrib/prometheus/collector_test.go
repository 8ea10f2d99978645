package resprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	resprom "github.com/seed94f50169/resilience/contrib/prometheus"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

var errRefused = errors.New("dial tcp: connection refused")

func newRecovery(c *resprom.Collector) *middleware.Recovery {
	r := &middleware.Recovery{
		Retry:    &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: time.Millisecond, Jitter: backoff.NoJitter}},
		Breaker:  breaker.New(breaker.Config{FailureThreshold: 3, OnStateChange: c.OnStateChange}),
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue}),
		Timeout:  10 * time.Millisecond,
	}
	c.Instrument(r)
	return r
}

// TestCollector drives retries, a bulkhead rejection, timeouts, a breaker
// trip, a breaker rejection and a fallback through middleware.Recovery and
// compares the whole exposition.
func TestCollector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resprom.New(resprom.Config{Name: "payments", Durations: true, Buckets: []float64{0.005, 1}})
		r := newRecovery(c)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		ctx := context.Background()

		n := 0
		var inFlight float64
		if _, err := middleware.Do(ctx, r, func(ctx context.Context) (int, error) {
			n++
			if n < 3 {
				time.Sleep(2 * time.Millisecond)
				return 0, errRefused
			}
			if _, err := middleware.Do(ctx, r, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, bulkhead.ErrFull) {
				t.Errorf("nested call: %v, want bulkhead.ErrFull", err)
			}
			inFlight = testutil.ToFloat64(gaugeOf(t, reg, "resilience_bulkhead_in_flight"))
			return n, nil
		}); err != nil {
			t.Fatal(err)
		}
		if inFlight != 1 {
			t.Errorf("in flight during the call = %v, want 1", inFlight)
		}
		if _, err := middleware.Do(ctx, r, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }); err == nil {
			t.Fatal("call B succeeded")
		}
		if v, err := middleware.Do(ctx, r, func(context.Context) (int, error) { return 1, nil }, fallback.Value(7)); v != 7 || err != nil {
			t.Fatalf("call C = %v, %v", v, err)
		}

		want := `
# HELP resilience_attempt_duration_seconds Duration of the attempts that reached the operation, by outcome.
# TYPE resilience_attempt_duration_seconds histogram
resilience_attempt_duration_seconds_bucket{outcome="failure",resilience_name="payments",le="0.005"} 2
resilience_attempt_duration_seconds_bucket{outcome="failure",resilience_name="payments",le="1"} 5
resilience_attempt_duration_seconds_bucket{outcome="failure",resilience_name="payments",le="+Inf"} 5
resilience_attempt_duration_seconds_sum{outcome="failure",resilience_name="payments"} 0.034
resilience_attempt_duration_seconds_count{outcome="failure",resilience_name="payments"} 5
resilience_attempt_duration_seconds_bucket{outcome="success",resilience_name="payments",le="0.005"} 1
resilience_attempt_duration_seconds_bucket{outcome="success",resilience_name="payments",le="1"} 1
resilience_attempt_duration_seconds_bucket{outcome="success",resilience_name="payments",le="+Inf"} 1
resilience_attempt_duration_seconds_sum{outcome="success",resilience_name="payments"} 0
resilience_attempt_duration_seconds_count{outcome="success",resilience_name="payments"} 1
# HELP resilience_attempts_total Attempts that ran, by outcome.
# TYPE resilience_attempts_total counter
resilience_attempts_total{outcome="failure",resilience_name="payments"} 5
resilience_attempts_total{outcome="success",resilience_name="payments"} 1
# HELP resilience_breaker_state 1 for the breaker's current state, 0 for the others.
# TYPE resilience_breaker_state gauge
resilience_breaker_state{resilience_name="payments",state="closed"} 0
resilience_breaker_state{resilience_name="payments",state="half_open"} 0
resilience_breaker_state{resilience_name="payments",state="open"} 1
# HELP resilience_breaker_transitions_total Breaker state changes, by the new state.
# TYPE resilience_breaker_transitions_total counter
resilience_breaker_transitions_total{resilience_name="payments",state="open"} 1
# HELP resilience_bulkhead_in_flight Bulkhead slots held now.
# TYPE resilience_bulkhead_in_flight gauge
resilience_bulkhead_in_flight{resilience_name="payments"} 0
# HELP resilience_bulkhead_queued Callers waiting for a bulkhead slot now.
# TYPE resilience_bulkhead_queued gauge
resilience_bulkhead_queued{resilience_name="payments"} 0
# HELP resilience_errors_total Failed attempts and rejections, by error class.
# TYPE resilience_errors_total counter
resilience_errors_total{class="bulkhead_full",resilience_name="payments"} 1
resilience_errors_total{class="circuit_open",resilience_name="payments"} 1
resilience_errors_total{class="connection",resilience_name="payments"} 2
resilience_errors_total{class="timeout",resilience_name="payments"} 3
# HELP resilience_fallbacks_total Calls that turned to their fallbacks.
# TYPE resilience_fallbacks_total counter
resilience_fallbacks_total{resilience_name="payments"} 1
# HELP resilience_rejections_total Attempts or requests refused by a rate limit, throttle, breaker, bulkhead or adaptive limit, by class.
# TYPE resilience_rejections_total counter
resilience_rejections_total{class="bulkhead_full",resilience_name="payments"} 1
resilience_rejections_total{class="circuit_open",resilience_name="payments"} 1
# HELP resilience_retries_total Attempts after the first, by the class of the error retried.
# TYPE resilience_retries_total counter
resilience_retries_total{reason="connection",resilience_name="payments"} 2
resilience_retries_total{reason="timeout",resilience_name="payments"} 2
# HELP resilience_timeouts_total Attempts cut short by a timeout, by the scope that expired.
# TYPE resilience_timeouts_total counter
resilience_timeouts_total{resilience_name="payments",scope="attempt"} 3
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
	})
}

// gaugeOf gathers reg and returns the single gauge called name.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: "copy"}, func() float64 { return mf.GetMetric()[0].GetGauge().GetValue() })
		}
	}
	t.Fatalf("no single gauge %s", name)
	return nil
}

// TestCardinalityBounded: arbitrary error classes and hosts end up in at
// most MaxClasses+1 and MaxHosts+1 series, and hosts appear only when
// asked for.
func TestCardinalityBounded(t *testing.T) {
	for _, hosts := range []bool{false, true} {
		c := resprom.New(resprom.Config{Hosts: hosts})
		for i := range 1000 {
			c.Observe(middleware.Event{Kind: middleware.EventReject, Err: classErr(strings.Repeat("x", i%200) + "c"), Host: "h" + strings.Repeat("y", i)})
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		n, err := testutil.GatherAndCount(reg, "resilience_rejections_total")
		if err != nil {
			t.Fatal(err)
		}
		limit := resprom.MaxClasses + 1
		if hosts {
			limit = (resprom.MaxClasses + 1) * (resprom.MaxHosts + 1)
		}
		if n > limit || n < resprom.MaxClasses {
			t.Errorf("hosts %v: %d series, want between %d and %d", hosts, n, resprom.MaxClasses, limit)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == resprom.LabelHost && !hosts {
						t.Fatalf("host label without Config.Hosts: %v", m)
					}
				}
			}
		}
	}
}

type classErr string

func (e classErr) Error() string      { return string(e) }
func (e classErr) ErrorClass() string { return string(e) }
