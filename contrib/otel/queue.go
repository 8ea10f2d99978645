package resotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/limit"
)

// Bulkhead returns a bulkhead.Observer that records, in
// resilience.bulkhead.queue.wait, how long each caller that queued
// waited, by outcome (acquired|rejected). Attach it through
// bulkhead.Config.Observers; callers that got a slot at once cost one
// comparison.
func (o *Observer) Bulkhead() bulkhead.Observer {
	return bulkhead.ObserverFunc(func(e bulkhead.Event) {
		o.wait(e.Ctx, o.bhWait, e.Wait, e.Kind == bulkhead.EventAcquire)
	})
}

// Limit returns a limit.Observer that records, in
// resilience.limit.queue.wait, how long each caller that queued for the
// adaptive limit waited, by outcome (acquired|rejected). Attach it through
// limit.Config.Observers.
func (o *Observer) Limit() limit.Observer {
	return limit.ObserverFunc(func(e limit.Event) {
		if e.Kind == limit.EventAcquire || e.Kind == limit.EventReject {
			o.wait(e.Ctx, o.limWait, e.Wait, e.Kind == limit.EventAcquire)
		}
	})
}

func (o *Observer) wait(ctx context.Context, h metric.Float64Histogram, d time.Duration, acquired bool) {
	if d <= 0 {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	opts := o.waitRejected
	if acquired {
		opts = o.waitAcquired
	}
	h.Record(ctx, d.Seconds(), opts...)
}
