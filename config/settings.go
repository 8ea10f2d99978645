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
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
)

// The pforge defaults, filled into Settings so that they can be read.
const (
	defaultFailureThreshold = 5
	defaultOpenTimeout      = 60 * time.Second
	defaultSuccessThreshold = 2
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
	s.Breaker, s.PerHost = p.CircuitBreaker.settings()
	s.Retry, s.RetryBudget = p.Retry.settings()
	s.Bulkhead = p.Bulkhead.settings()
	s.ErrorTracking = p.ErrorTracking.settings()
	s.Limit, s.LimitPerHost = p.AdaptiveLimit.settings()
	s.Throttle, s.ThrottlePerHost = p.Throttle.settings()
	s.RateLimit = p.RateLimit.settings()
	s.Hedge, s.HedgeBudget = p.Hedge.settings(s.RetryBudget != nil)
	if p.Timeout != nil {
		s.Timeout = p.Timeout.Std()
	}
	if p.TotalTimeout != nil {
		s.Total = p.TotalTimeout.Std()
	}
	return s
}

// The settings methods of the sections return what Settings holds of
// them: nil for a section that is not set or not enabled, else its
// package's config with the pforge defaults filled in.

func (b *Breaker) settings() (cfg *breaker.Config, perHost bool) {
	if b == nil || !enabled(b.Enabled) {
		return nil, false
	}
	c := b.config()
	c.FailureThreshold = or(c.FailureThreshold, defaultFailureThreshold)
	c.OpenTimeout = or(c.OpenTimeout, defaultOpenTimeout)
	c.SuccessThreshold = or(c.SuccessThreshold, defaultSuccessThreshold)
	return &c, isTrue(b.PerHost)
}

func (r *Retry) settings() (*retry.Policy, *retry.BudgetConfig) {
	if r == nil || !enabled(r.Enabled) {
		return nil, nil
	}
	pol := r.policy()
	pol.MaxAttempts = or(pol.MaxAttempts, retry.DefaultMaxAttempts)
	pol.Backoff.Initial = or(pol.Backoff.Initial, defaultInitialDelay)
	pol.Backoff.Max = or(pol.Backoff.Max, defaultMaxDelay)
	pol.Backoff.Multiplier = or(pol.Backoff.Multiplier, defaultMultiplier)
	if r.Budget == nil {
		return &pol, nil
	}
	budget := r.Budget.config()
	return &pol, &budget
}

func (b *Bulkhead) settings() *bulkhead.Config {
	if b == nil || !enabled(b.Enabled) {
		return nil
	}
	c := b.config()
	c.MaxConcurrent = or(c.MaxConcurrent, defaultMaxConcurrent)
	c.MaxQueued = or(c.MaxQueued, defaultMaxQueued)
	c.QueueTimeout = or(c.QueueTimeout, defaultQueueTimeout)
	return &c
}

func (e *ErrorTracking) settings() *errtrack.Config {
	if e == nil || !enabled(e.Enabled) {
		return nil
	}
	c := e.config()
	c.Size = or(c.Size, errtrack.DefaultSize)
	return &c
}

func (l *AdaptiveLimit) settings() (cfg *limit.Config, perHost bool) {
	if l == nil || !enabled(l.Enabled) {
		return nil, false
	}
	c := l.config()
	return &c, isTrue(l.PerHost)
}

func (t *Throttle) settings() (cfg *throttle.Config, perHost bool) {
	if t == nil || !enabled(t.Enabled) {
		return nil, false
	}
	c := t.config()
	return &c, isTrue(t.PerHost)
}

func (r *RateLimit) settings() *ratelimit.GroupConfig {
	if r == nil || !enabled(r.Enabled) {
		return nil
	}
	c := r.config()
	return &c
}

// settings of a hedge section: hedges spend the retry budget only if the
// section says so and there is one.
func (h *Hedge) settings(budget bool) (pol *hedge.Policy, spendsBudget bool) {
	if h == nil || !enabled(h.Enabled) {
		return nil, false
	}
	return h.policy(), isTrue(h.RetryBudget) && budget
}

func isTrue(b *bool) bool { return b != nil && *b }

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
