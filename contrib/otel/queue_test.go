package resotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/seed94f50169/resilience/bulkhead"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
)

// TestBulkheadQueueWait: a caller that times out in the queue after 80ms
// and one that gets the slot after 20ms are recorded with their waits; one
// that got a slot at once is not.
func TestBulkheadQueueWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, resotel.Config{})
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1, QueueTimeout: 80 * time.Millisecond,
			Observers: []bulkhead.Observer{g.o.Bulkhead()}})
		ctx := context.Background()
		if err := b.Acquire(ctx); err != nil { // at once: not recorded
			t.Fatal(err)
		}
		go func() {
			time.Sleep(100 * time.Millisecond)
			b.Release()
		}()
		if err := b.Acquire(ctx); !errors.Is(err, bulkhead.ErrQueueTimeout) { // waits 80ms, rejected
			t.Fatalf("second Acquire: %v, want ErrQueueTimeout", err)
		}
		if err := b.Acquire(ctx); err != nil { // waits 20ms, acquired
			t.Fatal(err)
		}
		b.Release()

		var rm metricdata.ResourceMetrics
		if err := g.reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string][2]float64{}
		for _, m := range rm.ScopeMetrics[0].Metrics {
			if m.Name != "resilience.bulkhead.queue.wait" {
				continue
			}
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				v, _ := p.Attributes.Value(resotel.KeyOutcome)
				got[v.AsString()] = [2]float64{float64(p.Count), p.Sum}
			}
		}
		want := map[string][2]float64{"acquired": {1, 0.02}, "rejected": {1, 0.08}}
		if len(got) != len(want) || got["acquired"] != want["acquired"] || got["rejected"] != want["rejected"] {
			t.Errorf("queue waits (count, sum) = %v, want %v", got, want)
		}
	})
}
