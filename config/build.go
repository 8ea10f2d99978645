package config

import (
	"fmt"
	"reflect"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
)

// The pforge defaults, filled into Settings so that they can be read.
const (
	defaultFailureThreshold = 5
	defaultOpenTimeout      = 60 * time.Second
	defaultSuccessThreshold = 2
	defaultMaxAttempts      = 3
	defaultInitialDelay     = 100 * time.Millisecond
	defaultMaxDelay         = 5 * time.Second
	defaultMultiplier       = 2.0
	defaultMaxConcurrent    = 10
	defaultMaxQueued        = 100
	defaultQueueTimeout     = 5 * time.Second
)

// Settings are the effective settings of one tool, as the packages take
// them: the global block, the recovery middleware and the tool's own
// settings merged field by field, with defaults filled in. A nil section is
// not used. The sections pforge has no defaults for (adaptive_limit,
// throttle, rate_limit, hedge) keep their unset fields zero: the defaults
// of their own packages.
type Settings struct {
	Breaker         *breaker.Config        // circuit_breaker
	PerHost         bool                   // Breaker is also the per-host breaker of a Transport
	Retry           *retry.Policy          // retry, without its Budget
	RetryBudget     *retry.BudgetConfig    // retry.budget, if any
	Bulkhead        *bulkhead.Config       // bulkhead
	ErrorTracking   *errtrack.Config       // error_tracking
	Limit           *limit.Config          // adaptive_limit
	LimitPerHost    bool                   // Limit is also the per-host limit of a Transport
	Throttle        *throttle.Config       // throttle
	ThrottlePerHost bool                   // Throttle is also the per-host throttle of a Transport
	RateLimit       *ratelimit.GroupConfig // rate_limit
	Hedge           *hedge.Policy          // hedge: the fields to build one from, never used itself
	HedgeBudget     bool                   // hedges spend the retry budget (hedge.retry_budget)
	Timeout         time.Duration          // timeout_ms: per attempt; 0: none
	Total           time.Duration          // total_timeout_ms: per call; 0: none
}

// Options adjust what Build makes. The zero Options add nothing.
type Options struct {
	// OnStateChange, if set, is called with the tool's name when its
	// breaker (or, with per_host, one of its per-host breakers) changes
	// state.
	OnStateChange func(tool string, from, to breaker.State)

	// Hooks, if set, returns the middleware hooks of a tool.
	Hooks func(tool string) middleware.Hooks

	// OnReload, if set, is called by a Registry's poller after each
	// attempt to load a changed file: nil when the new config is served,
	// else why the old one stays.
	OnReload func(err error)
}

// Policies returns the merged, unresolved settings of the named tool: the
// global block, then every recovery middleware in order, then the tool's
// own settings, each set field overriding the one before. The name ""
// means the global settings alone. The result shares nothing with c.
func (c *Config) Policies(name string) (Policies, error) {
	var p Policies
	merge(valueOf(&p), reflect.ValueOf(c.FaultTolerance))
	for _, m := range c.Middleware {
		merge(valueOf(&p), reflect.ValueOf(m.Policies))
	}
	if name == "" {
		return p, nil
	}
	t := c.Tool(name)
	if t == nil {
		return Policies{}, fmt.Errorf("%w %q", ErrUnknownTool, name)
	}
	merge(valueOf(&p), reflect.ValueOf(t.Policies))
	return p, nil
}

// Tool returns the tool of that name, or nil.
func (c *Config) Tool(name string) *Tool {
	for i := range c.Tools {
		if c.Tools[i].Name == name {
			return &c.Tools[i]
		}
	}
	return nil
}

// merge copies every set (non-zero) field of src over dst, recursing into
// sections that both hold, and copying what it takes so that dst shares no
// memory with src.
func merge(dst, src reflect.Value) {
	for i := range src.NumField() {
		s, d := src.Field(i), dst.Field(i)
		switch {
		case s.IsZero():
		case s.Kind() == reflect.Pointer && s.Elem().Kind() == reflect.Struct:
			if d.IsNil() {
				d.Set(reflect.New(s.Type().Elem()))
			}
			merge(d.Elem(), s.Elem())
		case s.Kind() == reflect.Pointer:
			p := reflect.New(s.Type().Elem())
			p.Elem().Set(s.Elem())
			d.Set(p)
		case s.Kind() == reflect.Struct:
			merge(d, s)
		default:
			d.Set(s)
		}
	}
}

func enabled(b *bool) bool { return b == nil || *b }

// Settings returns the effective settings of the named tool ("" for the
// global settings), with the pforge defaults filled in.
func (c *Config) Settings(name string) (Settings, error) {
	p, err := c.Policies(name)
	if err != nil {
		return Settings{}, err
	}
	return p.settings(), nil
}

func (p Policies) settings() Settings {
	var s Settings
	if b := p.CircuitBreaker; b != nil && enabled(b.Enabled) {
		cfg := b.config()
		cfg.FailureThreshold = or(cfg.FailureThreshold, defaultFailureThreshold)
		cfg.OpenTimeout = or(cfg.OpenTimeout, defaultOpenTimeout)
		cfg.SuccessThreshold = or(cfg.SuccessThreshold, defaultSuccessThreshold)
		s.Breaker = &cfg
		s.PerHost = b.PerHost != nil && *b.PerHost
	}
	if r := p.Retry; r != nil && enabled(r.Enabled) {
		pol := r.policy()
		pol.MaxAttempts = or(pol.MaxAttempts, defaultMaxAttempts)
		pol.Backoff.Initial = or(pol.Backoff.Initial, defaultInitialDelay)
		pol.Backoff.Max = or(pol.Backoff.Max, defaultMaxDelay)
		pol.Backoff.Multiplier = or(pol.Backoff.Multiplier, defaultMultiplier)
		s.Retry = &pol
		if r.Budget != nil {
			bc := r.Budget.config()
			s.RetryBudget = &bc
		}
	}
	if b := p.Bulkhead; b != nil && enabled(b.Enabled) {
		cfg := b.config()
		cfg.MaxConcurrent = or(cfg.MaxConcurrent, defaultMaxConcurrent)
		cfg.MaxQueued = or(cfg.MaxQueued, defaultMaxQueued)
		cfg.QueueTimeout = or(cfg.QueueTimeout, defaultQueueTimeout)
		s.Bulkhead = &cfg
	}
	if e := p.ErrorTracking; e != nil && enabled(e.Enabled) {
		cfg := e.config()
		cfg.Size = or(cfg.Size, errtrack.DefaultSize)
		s.ErrorTracking = &cfg
	}
	if l := p.AdaptiveLimit; l != nil && enabled(l.Enabled) {
		cfg := l.config()
		s.Limit = &cfg
		s.LimitPerHost = l.PerHost != nil && *l.PerHost
	}
	if t := p.Throttle; t != nil && enabled(t.Enabled) {
		cfg := t.config()
		s.Throttle = &cfg
		s.ThrottlePerHost = t.PerHost != nil && *t.PerHost
	}
	if r := p.RateLimit; r != nil && enabled(r.Enabled) {
		cfg := r.config()
		s.RateLimit = &cfg
	}
	if h := p.Hedge; h != nil && enabled(h.Enabled) {
		s.Hedge = h.policy()
		s.HedgeBudget = h.RetryBudget != nil && *h.RetryBudget && s.RetryBudget != nil
	}
	if p.Timeout != nil {
		s.Timeout = p.Timeout.Std()
	}
	if p.TotalTimeout != nil {
		s.Total = p.TotalTimeout.Std()
	}
	return s
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// config returns b as a breaker.Config; unset fields stay zero (the
// breaker's defaults).
func (b *Breaker) config() breaker.Config {
	return breaker.Config{
		FailureThreshold:      b.FailureThreshold,
		SuccessThreshold:      b.SuccessThreshold,
		OpenTimeout:           b.Timeout.Std(),
		WindowSize:            b.WindowSize,
		WindowDuration:        b.WindowDuration.Std(),
		MinimumCalls:          b.MinimumCalls,
		FailureRateThreshold:  b.FailureRateThreshold,
		SlowCallDuration:      b.SlowCallDuration.Std(),
		SlowCallRateThreshold: b.SlowCallRateThreshold,
	}
}

func (r *Retry) policy() retry.Policy {
	p := retry.Policy{MaxAttempts: r.MaxAttempts, MaxRetryAfter: r.MaxRetryAfter.Std(), MaxOpenWait: r.MaxOpenWait.Std()}
	p.Backoff.Initial = r.InitialDelay.Std()
	p.Backoff.Max = r.MaxDelay.Std()
	p.Backoff.Multiplier = r.Multiplier
	p.Backoff.Jitter = r.Jitter.Mode()
	return p
}

func (b *Budget) config() retry.BudgetConfig {
	return retry.BudgetConfig{Ratio: b.Ratio, MinPerSecond: b.MinPerSecond, MaxTokens: b.MaxTokens}
}

func (b *Bulkhead) config() bulkhead.Config {
	c := bulkhead.Config{MaxConcurrent: b.MaxConcurrent, QueueTimeout: b.Timeout.Std()}
	if b.MaxQueued != nil {
		c.MaxQueued = *b.MaxQueued
		if c.MaxQueued == 0 {
			c.MaxQueued = bulkhead.NoQueue
		}
	}
	return c
}

func (e *ErrorTracking) config() errtrack.Config {
	return errtrack.Config{Size: e.MaxErrors}
}

// limitAlgorithms are the adaptive_limit.algorithm names.
var limitAlgorithms = map[string]limit.Algorithm{
	"gradient2": limit.Gradient2,
	"vegas":     limit.Vegas,
	"aimd":      limit.AIMD,
}

// config returns l as a limit.Config; unset fields stay zero (the limit
// package's defaults), and a negative max_wait or probe_interval is
// limit.NoMaxWait or limit.NoProbe.
func (l *AdaptiveLimit) config() limit.Config {
	c := limit.Config{
		Algorithm:     limitAlgorithms[l.Algorithm], // Gradient2 for "", and for names Load refused
		InitialLimit:  l.InitialLimit,
		MinLimit:      l.MinLimit,
		MaxLimit:      l.MaxLimit,
		MaxQueued:     l.MaxQueued,
		MaxWait:       l.MaxWait.Std(),
		Tolerance:     l.Tolerance,
		Smoothing:     l.Smoothing,
		Window:        l.Window.Std(),
		WindowSamples: l.WindowSamples,
		LongWindow:    l.LongWindow,
		ProbeInterval: l.ProbeInterval.Std(),
		ProbeLimit:    l.ProbeLimit,
		Alpha:         l.Alpha,
		Beta:          l.Beta,
		Backoff:       l.Backoff,
	}
	if c.MaxWait < 0 {
		c.MaxWait = limit.NoMaxWait
	}
	if c.ProbeInterval < 0 {
		c.ProbeInterval = limit.NoProbe
	}
	return c
}

func (t *Throttle) config() throttle.Config {
	return throttle.Config{K: t.K, Window: t.Window.Std(), Buckets: t.Buckets, MaxRejectionRate: t.MaxRejectionRate}
}

func (r *RateLimit) config() ratelimit.GroupConfig {
	return ratelimit.GroupConfig{
		Config:  ratelimit.Config{Rate: r.Rate, Burst: r.Burst, MaxWait: r.MaxWait.Std()},
		MaxKeys: r.MaxKeys,
	}
}

func (h *Hedge) policy() *hedge.Policy {
	return &hedge.Policy{
		Delay:     h.Delay.Std(),
		Quantile:  h.Quantile,
		MinDelay:  h.MinDelay.Std(),
		MaxDelay:  h.MaxDelay.Std(),
		Window:    h.Window,
		MaxHedges: h.MaxHedges,
	}
}

// Build returns a new *middleware.Recovery for the named tool ("" for the
// global settings): a new breaker, bulkhead, tracker, retry budget, adaptive
// limiter, throttle, rate-limit group and hedge policy for
// the sections that are used. Each call makes new ones; a Registry keeps
// them across reloads.
func (c *Config) Build(name string) (*middleware.Recovery, error) {
	return c.BuildWith(name, Options{})
}

// BuildWith is Build with Options.
func (c *Config) BuildWith(name string, opts Options) (*middleware.Recovery, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, err := c.Settings(name)
	if err != nil {
		return nil, err
	}
	return newParts(name, s, opts, parts{}).recovery(s, opts.hooks(name)), nil
}

func (o Options) hooks(name string) middleware.Hooks {
	if o.Hooks == nil {
		return middleware.Hooks{}
	}
	return o.Hooks(name)
}

// parts are the stateful values of a Recovery, kept by a Registry across
// reloads while their settings stay the same.
type parts struct {
	breaker  *breaker.Breaker
	host     *breaker.Config
	bulkhead *bulkhead.Bulkhead
	tracker  *errtrack.Tracker
	budget   *retry.Budget
	limiter  *limit.Limiter
	throttle *throttle.Throttle
	rate     *ratelimit.Group
	hedge    *hedge.Policy
}

// newParts returns the parts s needs: those of kept, where set, and new
// ones for the rest.
func newParts(name string, s Settings, opts Options, kept parts) parts {
	var p parts
	if s.Breaker != nil {
		p.breaker, p.host = kept.breaker, kept.host
		if p.breaker == nil {
			p.breaker, p.host = newBreaker(name, s, opts)
		}
	}
	if s.Bulkhead != nil {
		p.bulkhead = kept.bulkhead
		if p.bulkhead == nil {
			p.bulkhead = bulkhead.New(*s.Bulkhead)
		}
	}
	if s.ErrorTracking != nil {
		p.tracker = kept.tracker
		if p.tracker == nil {
			p.tracker = errtrack.New(*s.ErrorTracking)
		}
	}
	if s.RetryBudget != nil {
		p.budget = kept.budget
		if p.budget == nil {
			p.budget = retry.NewBudget(*s.RetryBudget)
		}
	}
	if s.Limit != nil {
		p.limiter = kept.limiter
		if p.limiter == nil {
			p.limiter = limit.New(*s.Limit)
		}
	}
	if s.Throttle != nil {
		p.throttle = kept.throttle
		if p.throttle == nil {
			p.throttle = throttle.New(*s.Throttle)
		}
	}
	if s.RateLimit != nil {
		p.rate = kept.rate
		if p.rate == nil {
			p.rate = ratelimit.NewGroup(*s.RateLimit)
		}
	}
	if s.Hedge != nil {
		p.hedge = kept.hedge
		if p.hedge == nil {
			p.hedge = newHedge(s, p.budget)
		}
	}
	return p
}

// newHedge returns a new policy of the fields of s.Hedge, spending budget
// if s says so.
func newHedge(s Settings, budget *retry.Budget) *hedge.Policy {
	t := s.Hedge
	h := &hedge.Policy{Delay: t.Delay, Quantile: t.Quantile, MinDelay: t.MinDelay, MaxDelay: t.MaxDelay, Window: t.Window, MaxHedges: t.MaxHedges}
	if s.HedgeBudget && budget != nil {
		h.Budget = budget
	}
	return h
}

func newBreaker(name string, s Settings, opts Options) (*breaker.Breaker, *breaker.Config) {
	cfg := *s.Breaker
	if f := opts.OnStateChange; f != nil {
		cfg.OnStateChange = func(from, to breaker.State) { f(name, from, to) }
	}
	var host *breaker.Config
	if s.PerHost {
		h := cfg
		host = &h
	}
	return breaker.New(cfg), host
}

func (p parts) recovery(s Settings, hooks middleware.Hooks) *middleware.Recovery {
	r := &middleware.Recovery{
		Breaker:     p.breaker,
		HostBreaker: p.host,
		Bulkhead:    p.bulkhead,
		Tracker:     p.tracker,
		Limit:       p.limiter,
		Throttle:    p.throttle,
		RateLimit:   p.rate,
		Hedge:       p.hedge,
		Timeout:     s.Timeout,
		Total:       s.Total,
		Hooks:       hooks,
	}
	if s.Limit != nil && s.LimitPerHost {
		cfg := *s.Limit
		r.HostLimit = &cfg
	}
	if s.Throttle != nil && s.ThrottlePerHost {
		cfg := *s.Throttle
		r.HostThrottle = &cfg
	}
	if s.Retry != nil {
		pol := *s.Retry
		pol.Budget = p.budget
		r.Retry = &pol
	}
	return r
}
