package config

import (
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
	p := parts{
		bulkhead: reuse(s.Bulkhead, kept.bulkhead, bulkhead.New),
		tracker:  reuse(s.ErrorTracking, kept.tracker, errtrack.New),
		budget:   reuse(s.RetryBudget, kept.budget, retry.NewBudget),
		limiter:  reuse(s.Limit, kept.limiter, limit.New),
		throttle: reuse(s.Throttle, kept.throttle, throttle.New),
		rate:     reuse(s.RateLimit, kept.rate, ratelimit.NewGroup),
	}
	if s.Breaker != nil {
		p.breaker, p.host = kept.breaker, kept.host
		if p.breaker == nil {
			p.breaker, p.host = newBreaker(name, s, opts)
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

// reuse returns nil if cfg is nil (the part is not used), else kept if
// set, else a new part made of cfg.
func reuse[C, P any](cfg *C, kept *P, newPart func(C) *P) *P {
	switch {
	case cfg == nil:
		return nil
	case kept != nil:
		return kept
	}
	return newPart(*cfg)
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
