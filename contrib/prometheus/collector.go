package resprom

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
)

// Label names.
const (
	LabelName    = "resilience_name"
	LabelOutcome = "outcome"
	LabelState   = "state"
	LabelReason  = "reason"
	LabelClass   = "class"
	LabelScope   = "scope"
	LabelHost    = "server_address"
)

// Bounds on label values.
const (
	// MaxClasses is the number of distinct values a counter keeps per
	// label; further values are counted as "other".
	MaxClasses = 64
	// MaxHosts is the number of distinct hosts kept when Config.Hosts is
	// set; further hosts are counted as "other".
	MaxHosts = 256
)

// Config configures a Collector. The zero value is usable.
type Config struct {
	// Name is the value of the resilience_name label. Default: "default".
	Name string

	// Hosts adds the server_address label (the event's Host: Transport and
	// Handler). Default: off.
	Hosts bool

	// Durations makes the Collector observe each attempt's duration in
	// resilience_attempt_duration_seconds (a histogram observation per
	// attempt). Default: off.
	Durations bool

	// Buckets are the duration histogram's upper bounds in seconds.
	// Default: 1ms to 10s (prometheus.ExponentialBucketsRange(0.001, 10, 14)).
	Buckets []float64
}

// Collector is a prometheus.Collector of one Recovery's metrics. It is safe
// for concurrent use.
type Collector struct {
	name  string
	hosts bool
	timed bool

	attempts, retries, rejections, errs, timeouts, fallbacks, requests, transitions *counter
	duration                                                                        *prometheus.HistogramVec
	durSuccess, durFailure                                                          prometheus.Observer

	bhWait, limWait *queueWait

	bState, bhInFlight, bhQueued, limInFlight, limQueued, limCurrent *prometheus.Desc

	mu   sync.Mutex
	srcs []source
}

type source struct {
	b   *breaker.Breaker
	bh  *bulkhead.Bulkhead
	lim *limit.Limiter
}

// New returns a Collector; register it with a prometheus.Registerer.
func New(cfg Config) *Collector {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if len(cfg.Buckets) == 0 {
		cfg.Buckets = prometheus.ExponentialBucketsRange(0.001, 10, 14)
	}
	c := &Collector{name: cfg.Name, hosts: cfg.Hosts, timed: cfg.Durations}
	c.attempts = newCounter("resilience_attempts_total", "Attempts that ran, by outcome.", LabelOutcome, cfg)
	c.retries = newCounter("resilience_retries_total", "Attempts after the first, by the class of the error retried.", LabelReason, cfg)
	c.rejections = newCounter("resilience_rejections_total", "Attempts or requests refused by a rate limit, throttle, breaker, bulkhead or adaptive limit, by class.", LabelClass, cfg)
	c.errs = newCounter("resilience_errors_total", "Failed attempts and rejections, by error class.", LabelClass, cfg)
	c.timeouts = newCounter("resilience_timeouts_total", "Attempts cut short by a timeout, by the scope that expired.", LabelScope, cfg)
	c.fallbacks = newCounter("resilience_fallbacks_total", "Calls that turned to their fallbacks.", "", Config{Name: cfg.Name})
	c.requests = newCounter("resilience_handler_requests_total", "Requests Handler shed or recovered from a panic, by outcome.", LabelOutcome, cfg)
	c.transitions = newCounter("resilience_breaker_transitions_total", "Breaker state changes, by the new state.", LabelState, cfg)
	c.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "resilience_attempt_duration_seconds",
		Help:        "Duration of the attempts that reached the operation, by outcome.",
		ConstLabels: prometheus.Labels{LabelName: cfg.Name},
		Buckets:     cfg.Buckets,
	}, []string{LabelOutcome})
	c.durSuccess = c.duration.WithLabelValues("success")
	c.durFailure = c.duration.WithLabelValues("failure")
	c.bhWait = newQueueWait("resilience_bulkhead_queue_wait_seconds", "Time callers spent queued for a bulkhead slot, by outcome.", cfg)
	c.limWait = newQueueWait("resilience_limit_queue_wait_seconds", "Time callers spent queued for an adaptive limit slot, by outcome.", cfg)
	gauge := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, prometheus.Labels{LabelName: cfg.Name})
	}
	c.bState = gauge("resilience_breaker_state", "1 for the breaker's current state, 0 for the others.", LabelState)
	c.bhInFlight = gauge("resilience_bulkhead_in_flight", "Bulkhead slots held now.")
	c.bhQueued = gauge("resilience_bulkhead_queued", "Callers waiting for a bulkhead slot now.")
	c.limInFlight = gauge("resilience_limit_in_flight", "Adaptive limit slots held now.")
	c.limQueued = gauge("resilience_limit_queued", "Callers waiting for an adaptive limit slot now.")
	c.limCurrent = gauge("resilience_limit_current", "The adaptive limit now.")
	return c
}

func (c *Collector) counters() []*counter {
	return []*counter{c.attempts, c.retries, c.rejections, c.errs, c.timeouts, c.fallbacks, c.requests, c.transitions}
}

// Describe sends the descriptors of every metric c exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, k := range c.counters() {
		ch <- k.desc
	}
	c.duration.Describe(ch)
	c.bhWait.vec.Describe(ch)
	c.limWait.vec.Describe(ch)
	for _, d := range []*prometheus.Desc{c.bState, c.bhInFlight, c.bhQueued, c.limInFlight, c.limQueued, c.limCurrent} {
		ch <- d
	}
}

// Collect sends the current values: the counters, the duration histogram
// (if Durations), and the gauges of every Recovery Instrument was given.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range c.counters() {
		k.collect(ch)
	}
	if c.timed {
		c.duration.Collect(ch)
	}
	for _, q := range []*queueWait{c.bhWait, c.limWait} {
		if q.used.Load() {
			q.vec.Collect(ch)
		}
	}
	c.mu.Lock()
	srcs := c.srcs
	c.mu.Unlock()
	for _, s := range srcs {
		if s.b != nil {
			cur := s.b.State()
			for st := breaker.Closed; st <= breaker.HalfOpen; st++ {
				v := 0.0
				if st == cur {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(c.bState, prometheus.GaugeValue, v, StateName(st))
			}
		}
		if s.bh != nil {
			st := s.bh.Stats()
			ch <- prometheus.MustNewConstMetric(c.bhInFlight, prometheus.GaugeValue, float64(st.InFlight))
			ch <- prometheus.MustNewConstMetric(c.bhQueued, prometheus.GaugeValue, float64(st.Queued))
		}
		if s.lim != nil {
			st := s.lim.Stats()
			ch <- prometheus.MustNewConstMetric(c.limInFlight, prometheus.GaugeValue, float64(st.InFlight))
			ch <- prometheus.MustNewConstMetric(c.limQueued, prometheus.GaugeValue, float64(st.Queued))
			ch <- prometheus.MustNewConstMetric(c.limCurrent, prometheus.GaugeValue, float64(st.Limit))
		}
	}
}

// StateName is the state label's value for s: "closed", "open" or
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

// Instrument appends c to r.Observers and makes Collect
// report the gauges of r's Breaker, Bulkhead and Limit. Call it before r is
// first used, once per Recovery; a Collector instrumenting several
// Recoveries reports one set of gauges per Recovery, which a registry
// refuses as duplicates: give each Recovery its own Collector.
func (c *Collector) Instrument(r *middleware.Recovery) {
	r.Observers = append(r.Observers[:len(r.Observers):len(r.Observers)], c)
	s := source{b: r.Breaker, bh: r.Bulkhead, lim: r.Limit}
	if s.b == nil && s.bh == nil && s.lim == nil {
		return
	}
	c.mu.Lock()
	c.srcs = append(c.srcs[:len(c.srcs):len(c.srcs)], s)
	c.mu.Unlock()
}

// Observe counts e: it makes *Collector a middleware.Observer, which
// Instrument attaches to a Recovery.
func (c *Collector) Observe(e middleware.Event) {
	switch e.Kind {
	case middleware.EventAttempt:
		c.attempt(e)
	case middleware.EventRetry:
		c.retries.inc(classOf(e.Err), e.Host)
	case middleware.EventReject:
		cl := classOf(e.Err)
		c.rejections.inc(cl, e.Host)
		c.errs.inc(cl, e.Host)
	case middleware.EventTimeout:
		scope := e.Scope
		if scope == "" {
			scope = "attempt"
		}
		c.timeouts.inc(scope, e.Host)
	case middleware.EventFallback:
		c.fallbacks.inc("", "")
	case middleware.EventRequest:
		c.requests.inc(requestOutcome(e), e.Host)
	case middleware.EventStateChange:
		c.transitions.inc(StateName(e.To), e.Host)
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

// OnStateChange counts a transition of a breaker; set it as the
// breaker.Config.OnStateChange of the Recovery's Breaker.
func (c *Collector) OnStateChange(from, to breaker.State) { c.transitions.inc(StateName(to), "") }

func (c *Collector) attempt(e middleware.Event) {
	if c.timed {
		c.ObserveDuration(e.Duration, e.Err)
	}
	if e.Err == nil {
		c.attempts.inc("success", e.Host)
		return
	}
	c.attempts.inc("failure", e.Host)
	c.errs.inc(classOf(e.Err), e.Host)
}

func classOf(err error) string {
	if cl := errtrack.Classify(err); cl != "" {
		return string(cl)
	}
	return string(errtrack.Unknown)
}

// ObserveDuration records one attempt's duration d and outcome in
// resilience_attempt_duration_seconds; the Collector does it itself for
// the attempts of the Recoveries it instruments, with Config.Durations.
func (c *Collector) ObserveDuration(d time.Duration, err error) {
	if err == nil {
		c.durSuccess.Observe(d.Seconds())
	} else {
		c.durFailure.Observe(d.Seconds())
	}
}
