package config

import (
	"reflect"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
)

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
		StuckAfter:            b.StuckAfter.Std(),
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

// The Go field names of the package configs and the keys they come from.
var (
	breakerKeys = map[string]string{
		"FailureThreshold": "failure_threshold", "SuccessThreshold": "success_threshold",
		"OpenTimeout": "timeout", "WindowSize": "window_size", "WindowDuration": "window_duration",
		"MinimumCalls": "minimum_calls", "FailureRateThreshold": "failure_rate_threshold",
		"SlowCallDuration": "slow_call_duration", "SlowCallRateThreshold": "slow_call_rate_threshold", "StuckAfter": "stuck_after",
	}
	retryKeys = map[string]string{
		"MaxAttempts": "max_attempts", "MaxRetryAfter": "max_retry_after", "MaxOpenWait": "max_open_wait",
		"Initial": "initial_delay", "Max": "max_delay", "Multiplier": "multiplier", "Jitter": "jitter",
	}
	bulkheadKeys = map[string]string{
		"MaxConcurrent": "max_concurrent", "MaxQueued": "max_queued", "QueueTimeout": "timeout",
	}
	trackerKeys = map[string]string{"Size": "max_errors"}
	limitKeys   = map[string]string{
		"Algorithm": "algorithm", "InitialLimit": "initial_limit", "MinLimit": "min_limit",
		"MaxLimit": "max_limit", "MaxQueued": "max_queued", "MaxWait": "max_wait",
		"Tolerance": "tolerance", "Smoothing": "smoothing", "Window": "window",
		"WindowSamples": "window_samples", "LongWindow": "long_window",
		"ProbeInterval": "probe_interval", "ProbeLimit": "probe_limit",
		"Alpha": "alpha", "Beta": "beta", "Backoff": "backoff",
	}
	throttleKeys = map[string]string{
		"K": "k", "Window": "window", "Buckets": "buckets", "MaxRejectionRate": "max_rejection_rate",
	}
	rateLimitKeys = map[string]string{
		"Rate": "rate", "Burst": "burst", "MaxWait": "max_wait", "MaxKeys": "max_keys",
	}
	hedgeKeys = map[string]string{
		"Delay": "delay", "Quantile": "quantile", "MinDelay": "min_delay", "MaxDelay": "max_delay",
		"Window": "window", "MaxHedges": "max_hedges",
	}
)

// packageCheck is one section of a Policies as its package's config, to
// be checked by that package's own Validate.
type packageCheck struct {
	key      string            // the section's key
	keys     map[string]string // the package's field names and their keys
	enabled  *bool             // the section's enabled key
	cfg      reflect.Value     // the config, addressable: each clears the fields it blamed
	validate func() error      // the package's Validate of cfg
}

// checkOf returns a copy of cfg, addressable, and validate bound to it.
func checkOf[C any](cfg C, validate func(C) error) (reflect.Value, func() error) {
	c := &cfg
	return reflect.ValueOf(c).Elem(), func() error { return validate(*c) }
}

// packageChecks returns the sections p holds, in the order of the key
// table, as their packages' configs.
func (p Policies) packageChecks() []packageCheck {
	var checks []packageCheck
	add := func(key string, keys map[string]string, enabled *bool, cfg reflect.Value, validate func() error) {
		checks = append(checks, packageCheck{key, keys, enabled, cfg, validate})
	}
	if b := p.CircuitBreaker; b != nil {
		cfg, validate := checkOf(b.config(), breaker.Config.Validate)
		add("circuit_breaker", breakerKeys, b.Enabled, cfg, validate)
	}
	if r := p.Retry; r != nil {
		cfg, validate := checkOf(r.policy(), retry.Policy.Validate)
		add("retry", retryKeys, r.Enabled, cfg, validate)
	}
	if b := p.Bulkhead; b != nil {
		cfg, validate := checkOf(b.config(), bulkhead.Config.Validate)
		add("bulkhead", bulkheadKeys, b.Enabled, cfg, validate)
	}
	if e := p.ErrorTracking; e != nil {
		cfg, validate := checkOf(e.config(), errtrack.Config.Validate)
		add("error_tracking", trackerKeys, e.Enabled, cfg, validate)
	}
	if l := p.AdaptiveLimit; l != nil {
		cfg, validate := checkOf(l.config(), limit.Config.Validate)
		add("adaptive_limit", limitKeys, l.Enabled, cfg, validate)
	}
	if t := p.Throttle; t != nil {
		cfg, validate := checkOf(t.config(), throttle.Config.Validate)
		add("throttle", throttleKeys, t.Enabled, cfg, validate)
	}
	if r := p.RateLimit; r != nil {
		cfg, validate := checkOf(r.config(), ratelimit.GroupConfig.Validate)
		add("rate_limit", rateLimitKeys, r.Enabled, cfg, validate)
	}
	if h := p.Hedge; h != nil {
		pol := h.policy() // a Policy holds its estimate's state: not copied
		add("hedge", hedgeKeys, h.Enabled, reflect.ValueOf(pol).Elem(), pol.Validate)
	}
	return checks
}
