package resotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// rig is a Recovery instrumented by an Observer that exports to a
// ManualReader and a span recorder.
type rig struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	o      *resotel.Observer
	r      *middleware.Recovery
}

func newRig(t *testing.T, cfg resotel.Config) *rig {
	t.Helper()
	g := &rig{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	g.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(g.spans))
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(g.reader))
	cfg.TracerProvider = g.tp
	o, err := resotel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.o = o
	g.r = &middleware.Recovery{
		Retry:    &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: time.Millisecond, Jitter: backoff.NoJitter}},
		Breaker:  breaker.New(breaker.Config{FailureThreshold: 3, OnStateChange: o.OnStateChange}),
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue}),
		Timeout:  10 * time.Millisecond,
	}
	if err := o.Instrument(g.r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// values collects the reader and flattens every data point to
// "instrument{k=v,...}" → value (histograms: their count).
func (g *rig) values(t *testing.T) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := g.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		var kv []string
		for _, a := range set.ToSlice() {
			if a.Key == resotel.KeyName {
				continue
			}
			kv = append(kv, fmt.Sprintf("%s=%s", a.Key, a.Value.String()))
		}
		sort.Strings(kv)
		return name + "{" + strings.Join(kv, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func assertValues(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			t.Errorf("unexpected %s = %v", k, g)
		}
	}
}

var errRefused = errors.New("dial tcp: connection refused")

// TestMetrics drives retries, a bulkhead rejection, timeouts, a breaker
// trip, a breaker rejection and a fallback through middleware.Recovery and
// checks every exported value.
// It runs through the Recovery's hooks (the default) and through its
// observers (Durations); both count the same, only the latter times.
func TestMetrics(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(map[bool]string{false: "hooks", true: "observer"}[observed], func(t *testing.T) {
			metrics(t, observed)
		})
	}
}

func metrics(t *testing.T, observed bool) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, resotel.Config{Name: "payments", Durations: observed})
		ctx := context.Background()

		// Call A: two refused attempts, then a success during which the
		// bulkhead slot is held, a nested call is refused by the
		// bulkhead and the gauges are read.
		var inside map[string]float64
		n := 0
		v, err := resotel.Do(ctx, g.o, g.r, func(ctx context.Context) (string, error) {
			n++
			if n < 3 {
				return "", errRefused
			}
			_, nerr := middleware.Do(ctx, g.r, func(context.Context) (string, error) { return "nested", nil })
			if !errors.Is(nerr, bulkhead.ErrFull) {
				t.Errorf("nested call: %v, want bulkhead.ErrFull", nerr)
			}
			inside = g.values(t)
			return "ok", nil
		})
		if v != "ok" || err != nil {
			t.Fatalf("call A = %q, %v", v, err)
		}
		if got := inside["resilience.bulkhead.in_flight{}"]; got != 1 {
			t.Errorf("in_flight during the call = %v, want 1", got)
		}

		// Call B: every attempt outlives the 10ms per-attempt timeout;
		// the third failure opens the breaker.
		_, err = resotel.Do(ctx, g.o, g.r, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if err == nil || g.r.Breaker.State() != breaker.Open {
			t.Fatalf("call B: %v, breaker %v", err, g.r.Breaker.State())
		}

		// Call C: the open breaker refuses it; the fallback answers.
		v, err = resotel.Do(ctx, g.o, g.r, func(context.Context) (string, error) { return "unreached", nil },
			fallback.Value("cached"))
		if v != "cached" || err != nil {
			t.Fatalf("call C = %q, %v", v, err)
		}

		want := map[string]float64{
			"resilience.attempts{outcome=success}":       1,
			"resilience.attempts{outcome=failure}":       5,
			"resilience.retries{reason=connection}":      2,
			"resilience.retries{reason=timeout}":         2,
			"resilience.errors{class=connection}":        2,
			"resilience.errors{class=timeout}":           3,
			"resilience.errors{class=bulkhead_full}":     1,
			"resilience.errors{class=circuit_open}":      1,
			"resilience.rejections{class=bulkhead_full}": 1,
			"resilience.rejections{class=circuit_open}":  1,
			"resilience.timeouts{scope=attempt}":         3,
			"resilience.fallbacks{}":                     1,
			"resilience.breaker.transitions{state=open}": 1,
			"resilience.breaker.state{state=closed}":     0,
			"resilience.breaker.state{state=open}":       1,
			"resilience.breaker.state{state=half_open}":  0,
			"resilience.bulkhead.in_flight{}":            0,
			"resilience.bulkhead.queued{}":               0,
		}
		if observed {
			want["resilience.attempt.duration{outcome=success}"] = 1
			want["resilience.attempt.duration{outcome=failure}"] = 5
		}
		assertValues(t, g.values(t), want)
	})
}
