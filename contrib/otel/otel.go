package resotel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
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

// attrs returns the attribute set {name, key=value, host} (key "" for
// none), bounding the number of distinct values and hosts.
func (o *Observer) attrs(key, value, host string) attribute.Set {
	if !o.hosts {
		host = ""
	}
	k := setKey{key, value, host}
	o.mu.RLock()
	s, ok := o.sets[k]
	o.mu.RUnlock()
	if ok {
		return s
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.sets[k]; ok {
		return s
	}
	// Bound: a new value or host beyond the limit becomes "other".
	if key != "" && o.nsets[0] >= MaxClasses && !o.known(setKey{key: key, value: value}) {
		k.value = "other"
	}
	if host != "" && o.nsets[1] >= MaxHosts && !o.known(setKey{host: host}) {
		k.host = "other"
	}
	if s, ok := o.sets[k]; ok {
		return s
	}
	kvs := []attribute.KeyValue{o.nameKV}
	if k.key != "" {
		kvs = append(kvs, attribute.String(k.key, k.value))
	}
	if k.host != "" {
		kvs = append(kvs, attribute.String(KeyHost, k.host))
	}
	s = attribute.NewSet(kvs...)
	if key != "" && !o.known(setKey{key: key, value: k.value}) {
		o.sets[setKey{key: key, value: k.value}] = attribute.NewSet(o.nameKV, attribute.String(key, k.value))
		o.nsets[0]++
	}
	if k.host != "" && !o.known(setKey{host: k.host}) {
		o.sets[setKey{host: k.host}] = attribute.NewSet(o.nameKV, attribute.String(KeyHost, k.host))
		o.nsets[1]++
	}
	if len(o.sets) < 4*(MaxClasses+MaxHosts) || o.known(k) {
		o.sets[k] = s
	}
	return s
}

func (o *Observer) known(k setKey) bool { _, ok := o.sets[k]; return ok }

func (o *Observer) add(ctx context.Context, c metric.Int64Counter, key, value, host string) {
	c.Add(ctx, 1, metric.WithAttributeSet(o.attrs(key, value, host)))
}

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
	ctx := e.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	bg := context.Background()
	span := trace.SpanFromContext(ctx)
	rec := o.events && span.IsRecording()
	switch e.Kind {
	case middleware.EventRetry:
		c := classOf(e.Err)
		o.add(bg, o.retries, KeyReason, c, e.Host)
		if rec {
			span.AddEvent("resilience.retry", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt),
				attribute.String(KeyReason, c), attribute.Float64("resilience.delay", e.Delay.Seconds())))
		}
	case middleware.EventReject:
		c := classOf(e.Err)
		o.add(bg, o.rejections, KeyClass, c, e.Host)
		o.add(bg, o.errs, KeyClass, c, e.Host)
		if rec {
			span.AddEvent("resilience.rejected", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt), attribute.String(KeyClass, c)))
		}
	case middleware.EventTimeout:
		scope := e.Scope
		if scope == "" {
			scope = "attempt"
		}
		o.add(bg, o.timeouts, KeyScope, scope, e.Host)
	case middleware.EventFallback:
		o.fallbacks.Add(bg, 1, o.fallbackOpt...)
		if rec {
			span.AddEvent("resilience.fallback", trace.WithAttributes(o.nameKV, attribute.String(KeyClass, classOf(e.Err)), attribute.Int("resilience.fallback.step", e.Step)))
		}
	case middleware.EventExhausted:
		if rec {
			span.AddEvent("resilience.exhausted", trace.WithAttributes(o.nameKV, attribute.Int(KeyAttempt, e.Attempt)))
		}
	case middleware.EventRequest:
		o.add(bg, o.requests, KeyOutcome, requestOutcome(e), e.Host)
	case middleware.EventStateChange:
		o.transition(e.Host, e.To)
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

// classOf is the class attribute of err: its errtrack class.
func classOf(err error) string {
	if c := errtrack.Classify(err); c != "" {
		return string(c)
	}
	return string(errtrack.Unknown)
}

// Instrument attaches o to r and registers the
// gauges of r's Breaker, Bulkhead and Limit, those that are set. Call it
// before r is first used, as a Recovery must not change once in use. Give
// each Recovery its own Observer (and Name): the gauges of two Recoveries
// instrumented by one Observer would report the same series. Close
// unregisters the gauges.
//
// With Durations or SpanEvents, o joins r.Observers, whose events carry
// durations and contexts. Otherwise o chains its counting into r.Hooks
// (the caller's hooks still run first): an observed Recovery builds its
// events at a cost of its own on every call (see BenchmarkDo), hooks cost
// nothing when they only count. Through the hooks, timeouts are told by
// the attempt's *timeout.Error and Handler's requests are counted only
// when shed or panicking (resilience.handler.requests has no success or
// failure outcome).
func (o *Observer) Instrument(r *middleware.Recovery) error {
	if o.timed || o.events {
		r.Observers = append(r.Observers[:len(r.Observers):len(r.Observers)], o)
	} else {
		r.Hooks = o.hooks(r.Hooks)
	}
	var insts []metric.Observable
	if r.Breaker != nil {
		insts = append(insts, o.bState)
	}
	if r.Bulkhead != nil {
		insts = append(insts, o.bhInFlight, o.bhQueued)
	}
	if r.Limit != nil {
		insts = append(insts, o.limInFlight, o.limQueued, o.limCurrent)
	}
	if len(insts) == 0 {
		return nil
	}
	br, bh, lim := r.Breaker, r.Bulkhead, r.Limit
	reg, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		if br != nil {
			cur := br.State()
			for s := breaker.Closed; s <= breaker.HalfOpen; s++ {
				v := int64(0)
				if s == cur {
					v = 1
				}
				ob.ObserveInt64(o.bState, v, o.stateOpts[s]...)
			}
		}
		if bh != nil {
			st := bh.Stats()
			ob.ObserveInt64(o.bhInFlight, int64(st.InFlight), o.plainObs...)
			ob.ObserveInt64(o.bhQueued, int64(st.Queued), o.plainObs...)
		}
		if lim != nil {
			st := lim.Stats()
			ob.ObserveInt64(o.limInFlight, int64(st.InFlight), o.plainObs...)
			ob.ObserveInt64(o.limQueued, int64(st.Queued), o.plainObs...)
			ob.ObserveInt64(o.limCurrent, int64(st.Limit), o.plainObs...)
		}
		return nil
	}, insts...)
	if err != nil {
		return fmt.Errorf("resotel: %w", err)
	}
	o.regMu.Lock()
	o.regs = append(o.regs, reg)
	o.regMu.Unlock()
	return nil
}

// Close unregisters the gauges and the attempt counter's callback. The
// Observer keeps counting, but attempts are no longer exported.
func (o *Observer) Close() error {
	o.regMu.Lock()
	regs := o.regs
	o.regs = nil
	o.regMu.Unlock()
	var errs []error
	for _, r := range regs {
		errs = append(errs, r.Unregister())
	}
	return errors.Join(errs...)
}
