package resotel

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
)

// call is the state of one Do shared by its attempts.
type call[T any] struct {
	o        *Observer
	fn       func(context.Context) (T, error)
	span     trace.Span
	hedging  bool
	n        atomic.Int32 // attempts that reached fn
	inFlight atomic.Int32
}

// Do is middleware.Do(ctx, r, fn, fallbacks...) that also, with
// Config.AttemptSpans, runs each attempt that reaches fn in a child span
// "resilience.attempt", and adds resilience.hedge to the span of ctx for
// an attempt started while another of the same call is in flight (r.Hedge).
// Metrics and the other span events come from the Observer Instrument
// attached, with middleware.Do as well. A nil o is plain middleware.Do.
func Do[T any](ctx context.Context, o *Observer, r *middleware.Recovery, fn func(context.Context) (T, error), fallbacks ...fallback.Func[T]) (T, error) {
	hedging := r != nil && r.Hedge != nil
	if o == nil || !o.spans && !hedging {
		return middleware.Do(ctx, r, fn, fallbacks...)
	}
	c := &call[T]{o: o, fn: fn, span: trace.SpanFromContext(ctx), hedging: hedging}
	return middleware.Do(ctx, r, c.attempt, fallbacks...)
}

func (c *call[T]) attempt(ctx context.Context) (T, error) {
	n := c.n.Add(1)
	busy := c.inFlight.Add(1) > 1
	defer c.inFlight.Add(-1)
	o := c.o
	if c.hedging && busy && c.span.IsRecording() {
		c.span.AddEvent("resilience.hedge", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, int(n))))
	}
	if !o.spans {
		return c.fn(ctx)
	}
	ctx, span := o.tracer.Start(ctx, "resilience.attempt", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, int(n))))
	defer span.End()
	v, err := c.fn(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		span.RecordError(err)
		span.SetStatus(codes.Error, classOf(err))
	}
	return v, err
}
