package resotel_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func Example() {
	reader := sdkmetric.NewManualReader()
	o, _ := resotel.New(resotel.Config{
		Name:          "inventory",
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	defer o.Close()
	r := &middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Initial: time.Microsecond}},
		Breaker: breaker.New(breaker.Config{OnStateChange: o.OnStateChange}),
	}
	o.Instrument(r)

	calls := 0
	middleware.Do(context.Background(), r, func(context.Context) (string, error) {
		if calls++; calls == 1 {
			return "", errors.New("connection reset by peer")
		}
		return "ok", nil
	})

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		sum, ok := m.Data.(metricdata.Sum[int64])
		if !ok || (m.Name != "resilience.attempts" && m.Name != "resilience.retries") {
			continue
		}
		for _, p := range sum.DataPoints {
			for _, kv := range p.Attributes.ToSlice() {
				if kv.Key != resotel.KeyName {
					fmt.Printf("%s %s %s=%s: %d\n", m.Name, m.Unit, kv.Key, kv.Value.AsString(), p.Value)
				}
			}
		}
	}
	fmt.Println("breaker:", r.Breaker.State())
	// Unordered output:
	// resilience.attempts {attempt} outcome=success: 1
	// resilience.attempts {attempt} outcome=failure: 1
	// resilience.retries {retry} reason=connection: 1
	// breaker: closed
}
