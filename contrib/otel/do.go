package resotel

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
)

// rejectionClasses are the classes of the errors with which the layers of
// a Recovery refuse a call.
var rejectionClasses = map[string]bool{
	"circuit_open": true, "bulkhead_full": true, "limit_exceeded": true,
	"throttled": true, "rate_limited": true,
}

// call is the state of one Do shared by its attempts.
type call[T any] struct {
	o        *Observer
	fn       func(context.Context) (T, error)
	span     trace.Span
	hedging  bool
	n        atomic.Int32 // attempts that reached fn
	inFlight atomic.Int32
}

// Do is middleware.Do(ctx, r, fn, fallbacks...) that also records, with
// Config.Durations, each attempt's duration in
// resilience.attempt.duration, adds the retry, hedge,
// rejection and fallback events to the span of ctx when it is recording,
// and, with Config.AttemptSpans, runs each attempt in a child span. r's
// counters come from the hooks Instrument chained in. A nil o is plain
// middleware.Do.
func Do[T any](ctx context.Context, o *Observer, r *middleware.Recovery, fn func(context.Context) (T, error), fallbacks ...fallback.Func[T]) (T, error) {
	if o == nil {
		return middleware.Do(ctx, r, fn, fallbacks...)
	}
	span := trace.SpanFromContext(ctx)
	if !o.spans && !span.IsRecording() {
		if !o.timed {
			return middleware.Do(ctx, r, fn, fallbacks...)
		}
		// Nothing to trace: time the attempts, nothing else.
		return middleware.Do(ctx, r, func(ctx context.Context) (T, error) {
			start := time.Now()
			v, err := fn(ctx)
			o.record(ctx, start, err)
			return v, err
		}, fallbacks...)
	}
	c := &call[T]{o: o, fn: fn, span: span, hedging: r != nil && r.Hedge != nil}
	ended := false // the primary's end was reported to the span
	if len(fallbacks) > 0 && c.span.IsRecording() {
		fb := make([]fallback.Func[T], 0, len(fallbacks)+1)
		fb = append(fb, func(_ context.Context, err error) (T, error) {
			var zero T
			ended = true
			c.rejected(err)
			c.span.AddEvent("resilience.fallback", trace.WithAttributes(o.nameKV, attribute.String(KeyClass, classOf(err))))
			return zero, err
		})
		fallbacks = append(fb, fallbacks...)
	}
	v, err := middleware.Do(ctx, r, c.attempt, fallbacks...)
	if err != nil && !ended && c.span.IsRecording() {
		c.rejected(err)
	}
	return v, err
}

// rejected adds resilience.rejected to the call's span if err is a
// rejection.
func (c *call[T]) rejected(err error) {
	if cl := classOf(err); rejectionClasses[cl] {
		c.span.AddEvent("resilience.rejected", trace.WithAttributes(c.o.nameKV, attribute.String(KeyClass, cl)))
	}
}

func (c *call[T]) attempt(ctx context.Context) (T, error) {
	n := c.n.Add(1)
	busy := c.inFlight.Add(1) > 1
	defer c.inFlight.Add(-1)
	o := c.o
	if n > 1 && c.span.IsRecording() {
		ev := "resilience.retry"
		if c.hedging && busy {
			ev = "resilience.hedge"
		}
		c.span.AddEvent(ev, trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, int(n))))
	}
	var span trace.Span
	if o.spans {
		ctx, span = o.tracer.Start(ctx, "resilience.attempt", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, int(n))))
	}
	var start time.Time
	if o.timed {
		start = time.Now()
	}
	v, err := c.fn(ctx)
	if o.timed {
		o.record(ctx, start, err)
	}
	if span != nil {
		if err != nil && !errors.Is(err, context.Canceled) {
			span.RecordError(err)
			span.SetStatus(codes.Error, classOf(err))
		}
		span.End()
	}
	return v, err
}

// record records the duration of an attempt that started at start.
func (o *Observer) record(ctx context.Context, start time.Time, err error) {
	d := time.Since(start).Seconds()
	if err == nil {
		o.duration.Record(ctx, d, o.durSuccess...)
	} else {
		o.duration.Record(ctx, d, o.durFailure...)
	}
}
