package resotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
)

// Observe records e: it makes *Observer a middleware.Observer, which
// Instrument attaches to a Recovery. It adds the span events of the
// package documentation to the span of e.Ctx when that span is recording.
func (o *Observer) Observe(e middleware.Event) {
	switch e.Kind {
	case middleware.EventAttempt:
		o.attempt(e)
		return
	case middleware.EventUnknown:
		return
	}
	o.count(e)
	if o.events {
		o.spanEvent(e)
	}
}

// count adds e, an event other than an attempt, to its counter.
func (o *Observer) count(e middleware.Event) {
	bg := context.Background()
	switch e.Kind {
	case middleware.EventRetry:
		o.add(bg, o.retries, KeyReason, classOf(e.Err), e.Host)
	case middleware.EventReject:
		c := classOf(e.Err)
		o.add(bg, o.rejections, KeyClass, c, e.Host)
		o.add(bg, o.errs, KeyClass, c, e.Host)
	case middleware.EventTimeout:
		scope := e.Scope
		if scope == "" {
			scope = "attempt"
		}
		o.add(bg, o.timeouts, KeyScope, scope, e.Host)
	case middleware.EventFallback:
		o.fallbacks.Add(bg, 1, o.fallbackOpt...)
	case middleware.EventRequest:
		o.add(bg, o.requests, KeyOutcome, requestOutcome(e), e.Host)
	case middleware.EventStateChange:
		o.transition(e.Host, e.To)
	}
}

// spanEvent adds the span event of e, if it has one, to the span of
// e.Ctx when that span is recording.
func (o *Observer) spanEvent(e middleware.Event) {
	ctx := e.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	switch e.Kind {
	case middleware.EventRetry:
		span.AddEvent("resilience.retry", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt),
			attribute.String(KeyReason, classOf(e.Err)), attribute.Float64("resilience.delay", e.Delay.Seconds())))
	case middleware.EventReject:
		span.AddEvent("resilience.rejected", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt), attribute.String(KeyClass, classOf(e.Err))))
	case middleware.EventFallback:
		span.AddEvent("resilience.fallback", trace.WithAttributes(o.nameKV, attribute.String(KeyClass, classOf(e.Err)), attribute.Int("resilience.fallback.step", e.Step)))
	case middleware.EventExhausted:
		span.AddEvent("resilience.exhausted", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt)))
	}
}

// requestOutcome is the outcome of a request Handler finished.
func requestOutcome(e middleware.Event) string {
	var pe *middleware.PanicError
	switch {
	case e.Shed:
		return "shed"
	case errors.As(e.Err, &pe):
		return "panic"
	case e.Err != nil:
		return "failure"
	}
	return "success"
}

func (o *Observer) attempt(e middleware.Event) {
	if o.timed {
		d := e.Duration.Seconds()
		ctx := e.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if e.Err == nil {
			o.duration.Record(ctx, d, o.durSuccess...)
		} else {
			o.duration.Record(ctx, d, o.durFailure...)
		}
	}
	c := &o.total
	if o.hosts && e.Host != "" {
		c = o.host(e.Host)
	}
	if e.Err == nil {
		c.success.Add(1)
		return
	}
	c.failure.Add(1)
	bg := context.Background()
	o.add(bg, o.errs, KeyClass, classOf(e.Err), e.Host)
}

// host returns the outcome counters of host, or of "other" beyond
// MaxHosts hosts.
func (o *Observer) host(host string) *outcomes {
	o.mu.RLock()
	c := o.hostCounts[host]
	o.mu.RUnlock()
	if c != nil {
		return c
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c = o.hostCounts[host]; c != nil {
		return c
	}
	if len(o.hostCounts) >= MaxHosts {
		host = "other"
		if c = o.hostCounts[host]; c != nil {
			return c
		}
	}
	c = new(outcomes)
	o.hostCounts[host] = c
	return c
}

func (o *Observer) observeAttempts(_ context.Context, ob metric.Observer) error {
	ob.ObserveInt64(o.attempts, o.total.success.Load(), o.successObs...)
	ob.ObserveInt64(o.attempts, o.total.failure.Load(), o.failureObs...)
	if !o.hosts {
		return nil
	}
	o.mu.RLock()
	hosts := make(map[string]*outcomes, len(o.hostCounts))
	for h, c := range o.hostCounts {
		hosts[h] = c
	}
	o.mu.RUnlock()
	for h, c := range hosts {
		ob.ObserveInt64(o.attempts, c.success.Load(), metric.WithAttributeSet(o.attrs(KeyOutcome, "success", h)))
		ob.ObserveInt64(o.attempts, c.failure.Load(), metric.WithAttributeSet(o.attrs(KeyOutcome, "failure", h)))
	}
	return nil
}

// OnStateChange records a transition of a breaker; set it as the
// breaker.Config.OnStateChange of the Recovery's Breaker (Instrument
// reports per-host breakers, whose transitions are Recovery events).
func (o *Observer) OnStateChange(from, to breaker.State) { o.transition("", to) }

func (o *Observer) transition(host string, to breaker.State) {
	if (host == "" || !o.hosts) && to >= breaker.Closed && to <= breaker.HalfOpen {
		o.transitions.Add(context.Background(), 1, o.transOpts[to]...)
		return
	}
	o.add(context.Background(), o.transitions, KeyState, StateName(to), host)
}
