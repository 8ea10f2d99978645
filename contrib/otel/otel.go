package resotel

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed94f50169/resilience/breaker"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/seed94f50169/resilience/contrib/otel"

// Attribute keys.
const (
	KeyName    = "resilience.name"
	KeyOutcome = "outcome"
	KeyState   = "state"
	KeyReason  = "reason"
	KeyClass   = "class"
	KeyScope   = "scope"
	KeyHost    = "server.address"
	KeyAttempt = "resilience.attempt"
)

// Bounds on attribute values, so that a metric's cardinality stays bounded
// whatever errors and hosts it sees.
const (
	// MaxClasses is the number of distinct class, reason and scope values
	// kept per Observer; further values are reported as "other".
	MaxClasses = 64
	// MaxHosts is the number of distinct hosts kept when Config.Hosts is
	// set; further hosts are reported as "other".
	MaxHosts = 256
)

// Config configures an Observer. The zero value is usable.
type Config struct {
	// Name is the value of the resilience.name attribute on every
	// instrument. Default: "default".
	Name string

	// MeterProvider provides the meter. Default: otel.GetMeterProvider().
	MeterProvider metric.MeterProvider

	// TracerProvider provides the tracer of attempt spans. Default:
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider

	// Durations makes Do record each attempt's duration in
	// resilience.attempt.duration: two clock reads and a histogram record
	// per attempt, a few hundred nanoseconds with the OpenTelemetry SDK.
	// Default: off.
	Durations bool

	// SpanEvents adds the retry, rejection, exhaustion and fallback events
	// to the span of each event's context. Default: off.
	SpanEvents bool

	// AttemptSpans makes Do run each attempt in a child span. Default: off.
	AttemptSpans bool

	// Hosts adds server.address (the event's Host: Transport and Handler)
	// to the attributes. Default: off, the host is not reported.
	Hosts bool
}

// Observer turns a Recovery's events into OpenTelemetry measurements. It is
// safe for concurrent use.
type Observer struct {
	name   string
	hosts  bool
	spans  bool
	timed  bool
	events bool
	tracer trace.Tracer
	meter  metric.Meter
	nameKV attribute.KeyValue

	attempts                                                              metric.Int64ObservableCounter
	retries, rejections, errs, timeouts, fallbacks, requests, transitions metric.Int64Counter
	duration, bhWait, limWait                                             metric.Float64Histogram
	waitAcquired, waitRejected                                            []metric.RecordOption

	bState, bhInFlight, bhQueued, limInFlight, limQueued, limCurrent metric.Int64ObservableGauge

	// Precomputed options of the common cases.
	successObs, failureObs []metric.ObserveOption
	durSuccess, durFailure []metric.RecordOption
	fallbackOpt            []metric.AddOption
	stateOpts              [3][]metric.ObserveOption // by breaker.State
	transOpts              [3][]metric.AddOption
	plainObs               []metric.ObserveOption

	// Attempt outcomes, counted with atomics (the success path's only
	// cost) and reported when the reader collects.
	total      outcomes
	hostCounts map[string]*outcomes // Config.Hosts: by host, at most MaxHosts+1

	mu    sync.RWMutex
	sets  map[setKey]attribute.Set
	nsets [2]int // distinct values, distinct hosts

	regMu sync.Mutex
	regs  []metric.Registration
}

type outcomes struct {
	success, failure atomic.Int64
}

type setKey struct {
	key, value, host string
}

// New returns an Observer whose instruments come from cfg.MeterProvider.
// It fails only if the meter refuses an instrument.
func New(cfg Config) (*Observer, error) {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &Observer{
		name:   cfg.Name,
		hosts:  cfg.Hosts,
		spans:  cfg.AttemptSpans,
		timed:  cfg.Durations,
		events: cfg.SpanEvents,
		meter:  mp.Meter(ScopeName),
		tracer: tp.Tracer(ScopeName),
		nameKV: attribute.String(KeyName, cfg.Name),
		sets:   make(map[setKey]attribute.Set),
	}
	m := o.meter
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	a, err := m.Int64ObservableCounter("resilience.attempts", metric.WithUnit("{attempt}"), metric.WithDescription("Attempts that ran, by outcome."))
	errs = append(errs, err)
	o.attempts = a
	o.retries = counter("resilience.retries", "{retry}", "Attempts after the first, by the class of the error retried.")
	o.rejections = counter("resilience.rejections", "{call}", "Attempts or requests refused by a rate limit, throttle, breaker, bulkhead or adaptive limit, by class.")
	o.errs = counter("resilience.errors", "{error}", "Failed attempts and rejections, by error class.")
	o.timeouts = counter("resilience.timeouts", "{timeout}", "Attempts cut short by a timeout, by the scope that expired.")
	o.fallbacks = counter("resilience.fallbacks", "{fallback}", "Calls that turned to their fallbacks.")
	o.requests = counter("resilience.handler.requests", "{request}", "Requests Handler shed or recovered from a panic, by outcome.")
	o.transitions = counter("resilience.breaker.transitions", "{transition}", "Breaker state changes, by the new state.")
	d, err := m.Float64Histogram("resilience.attempt.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the attempts that reached the operation, by outcome."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = append(errs, err)
	o.duration = d
	waitHist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
		errs = append(errs, err)
		return h
	}
	o.bhWait = waitHist("resilience.bulkhead.queue.wait", "Time callers spent queued for a bulkhead slot, by outcome.")
	o.limWait = waitHist("resilience.limit.queue.wait", "Time callers spent queued for an adaptive limit slot, by outcome.")
	o.bState = gauge("resilience.breaker.state", "{state}", "1 for the breaker's current state, 0 for the others.")
	o.bhInFlight = gauge("resilience.bulkhead.in_flight", "{call}", "Bulkhead slots held now.")
	o.bhQueued = gauge("resilience.bulkhead.queued", "{call}", "Callers waiting for a bulkhead slot now.")
	o.limInFlight = gauge("resilience.limit.in_flight", "{call}", "Adaptive limit slots held now.")
	o.limQueued = gauge("resilience.limit.queued", "{call}", "Callers waiting for an adaptive limit slot now.")
	o.limCurrent = gauge("resilience.limit.current", "{call}", "The adaptive limit now.")
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("resotel: %w", err)
	}
	set := func(kv ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append([]attribute.KeyValue{o.nameKV}, kv...)...)
	}
	o.durSuccess = []metric.RecordOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "success")))}
	o.durFailure = []metric.RecordOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "failure")))}
	o.successObs = []metric.ObserveOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "success")))}
	o.failureObs = []metric.ObserveOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "failure")))}
	o.hostCounts = make(map[string]*outcomes)
	reg, err := m.RegisterCallback(o.observeAttempts, o.attempts)
	if err != nil {
		return nil, fmt.Errorf("resotel: %w", err)
	}
	o.regs = append(o.regs, reg)
	o.waitAcquired = []metric.RecordOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "acquired")))}
	o.waitRejected = []metric.RecordOption{metric.WithAttributeSet(set(attribute.String(KeyOutcome, "rejected")))}
	o.fallbackOpt = []metric.AddOption{metric.WithAttributeSet(set())}
	o.plainObs = []metric.ObserveOption{metric.WithAttributeSet(set())}
	for s := breaker.Closed; s <= breaker.HalfOpen; s++ {
		as := set(attribute.String(KeyState, StateName(s)))
		o.stateOpts[s] = []metric.ObserveOption{metric.WithAttributeSet(as)}
		o.transOpts[s] = []metric.AddOption{metric.WithAttributeSet(as)}
	}
	return o, nil
}

// StateName is the state attribute's value for s: "closed", "open" or
// "half_open".
func StateName(s breaker.State) string {
	switch s {
	case breaker.Closed:
		return "closed"
	case breaker.Open:
		return "open"
	case breaker.HalfOpen:
		return "half_open"
	}
	return "other"
}
