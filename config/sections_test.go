package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/throttle"
)

// overload sets every key of the adaptive_limit, throttle, rate_limit and
// hedge sections, globally and per tool.
const overload = `
fault_tolerance:
  retry:
    max_attempts: 2
    budget: {ratio: 0.2}
  adaptive_limit:
    algorithm: vegas
    initial_limit: 30
    min_limit: 2
    max_limit: 200
    max_queued: 5
    max_wait: -1s
    tolerance: 2
    smoothing: 0.5
    window: 1s
    window_samples: 20
    long_window: 100
    probe_interval: -1s
    probe_limit: 4
    alpha: 2
    beta: 4
    backoff: 0.5
    per_host: true
  throttle: {k: 1.5, window: 1m, buckets: 6, max_rejection_rate: 0.5, per_host: true}
  rate_limit: {rate: 100, burst: 20, max_wait: 50ms, max_keys: 64}
  hedge: {delay: 20ms, quantile: 0.9, min_delay: 2ms, max_delay: 500ms, window: 100, max_hedges: 2, retry_budget: true}
tools:
  - name: a
    adaptive_limit: {algorithm: aimd, per_host: false}
    throttle: {k: 3}
    rate_limit: {rate: 5}
    hedge: {max_hedges: 3}
  - name: off
    adaptive_limit: {enabled: false}
    throttle: {enabled: false}
    rate_limit: {enabled: false}
    hedge: {enabled: false}
`

func TestOverloadSectionsSettings(t *testing.T) {
	c := load(t, overload)
	s, err := c.Settings("")
	if err != nil {
		t.Fatal(err)
	}
	wantLimit := &limit.Config{Algorithm: limit.Vegas, InitialLimit: 30, MinLimit: 2, MaxLimit: 200, MaxQueued: 5,
		MaxWait: limit.NoMaxWait, Tolerance: 2, Smoothing: 0.5, Window: time.Second, WindowSamples: 20, LongWindow: 100,
		ProbeInterval: limit.NoProbe, ProbeLimit: 4, Alpha: 2, Beta: 4, Backoff: 0.5}
	wantThrottle := &throttle.Config{K: 1.5, Window: time.Minute, Buckets: 6, MaxRejectionRate: 0.5}
	wantRate := &ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 100, Burst: 20, MaxWait: 50 * time.Millisecond}, MaxKeys: 64}
	wantHedge := &hedge.Policy{Delay: 20 * time.Millisecond, Quantile: 0.9, MinDelay: 2 * time.Millisecond,
		MaxDelay: 500 * time.Millisecond, Window: 100, MaxHedges: 2}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"limit", s.Limit, wantLimit},
		{"limit per host", s.LimitPerHost, true},
		{"throttle", s.Throttle, wantThrottle},
		{"throttle per host", s.ThrottlePerHost, true},
		{"rate limit", s.RateLimit, wantRate},
		{"hedge", s.Hedge, wantHedge},
		{"hedge budget", s.HedgeBudget, true},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}

	// A tool overrides field by field.
	a, err := c.Settings("a")
	if err != nil {
		t.Fatal(err)
	}
	wantLimit.Algorithm = limit.AIMD
	wantThrottle.K = 3
	wantRate.Config.Rate = 5
	wantHedge.MaxHedges = 3
	if !reflect.DeepEqual(a.Limit, wantLimit) || a.LimitPerHost || !reflect.DeepEqual(a.Throttle, wantThrottle) ||
		!a.ThrottlePerHost || !reflect.DeepEqual(a.RateLimit, wantRate) || !reflect.DeepEqual(a.Hedge, wantHedge) {
		t.Errorf("tool a: %+v", a)
	}

	// enabled: false turns each inherited section off.
	off, err := c.Settings("off")
	if err != nil {
		t.Fatal(err)
	}
	if off.Limit != nil || off.Throttle != nil || off.RateLimit != nil || off.Hedge != nil || off.LimitPerHost || off.ThrottlePerHost || off.HedgeBudget {
		t.Errorf("tool off: %+v", off)
	}
}

func TestOverloadSectionsBuild(t *testing.T) {
	c := load(t, overload)
	tests := []struct {
		tool                           string
		limit, hostLimit, thr, hostThr bool
		rate, hedge, hedgeBudget       bool
	}{
		{"", true, true, true, true, true, true, true},
		{"a", true, false, true, true, true, true, true},
		{"off", false, false, false, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			r, err := c.Build(tt.tool)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			got := []bool{r.Limit != nil, r.HostLimit != nil, r.Throttle != nil, r.HostThrottle != nil,
				r.RateLimit != nil, r.Hedge != nil, r.Hedge != nil && r.Hedge.Budget != nil}
			want := []bool{tt.limit, tt.hostLimit, tt.thr, tt.hostThr, tt.rate, tt.hedge, tt.hedgeBudget}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Limit, HostLimit, Throttle, HostThrottle, RateLimit, Hedge, Hedge.Budget set: %v, want %v", got, want)
			}
			if tt.hedgeBudget && r.Hedge.Budget != hedge.Budget(r.Retry.Budget) {
				t.Error("the hedge does not spend the retry budget")
			}
			if tt.limit {
				if got := r.Limit.Stats().Limit; got != 30 {
					t.Errorf("limit %d, want initial_limit 30", got)
				}
			}
		})
	}
}

// TestRateLimitRefusesOverItsRate: the rate_limit a config builds is the
// one Do goes through.
func TestRateLimitRefusesOverItsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := load(t, "tools:\n- name: a\n  rate_limit: {rate: 1, burst: 2, max_wait: 10ms}\n")
		reg, err := config.NewRegistry(c, config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		ok := func(context.Context) (int, error) { return 1, nil }
		for i := range 2 {
			if _, err := config.Do(context.Background(), reg, "a", ok); err != nil {
				t.Fatalf("call %d within the burst: %v", i, err)
			}
		}
		if _, err := config.Do(context.Background(), reg, "a", ok); !errors.Is(err, ratelimit.ErrLimited) {
			t.Fatalf("call over the rate: %v, want ratelimit.ErrLimited", err)
		}
		time.Sleep(time.Second)
		if _, err := config.Do(context.Background(), reg, "a", ok); err != nil {
			t.Fatalf("call a second later: %v", err)
		}
	})
}

func TestOverloadSectionsRoundTrip(t *testing.T) {
	c := load(t, overload)
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.Load(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("reloading\n%s: %v", out, err)
	}
	if !reflect.DeepEqual(c, again) {
		t.Errorf("YAML round trip changed the config:\n%s", out)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON config.Config
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if !reflect.DeepEqual(c, &fromJSON) {
		t.Errorf("JSON round trip changed the config:\n%s", js)
	}
	if err := fromJSON.Validate(); err != nil {
		t.Errorf("Validate of the JSON form: %v", err)
	}
	viaLoad, err := config.Load(bytes.NewReader(js))
	if err != nil || !reflect.DeepEqual(c, viaLoad) {
		t.Errorf("Load of the JSON form: %v", err)
	}
}

// TestValidateOverloadSectionsMadeInCode: a Config made in code is checked
// by the same rules, with the same key paths.
func TestValidateOverloadSectionsMadeInCode(t *testing.T) {
	yes := true
	c := &config.Config{
		FaultTolerance: config.Policies{
			AdaptiveLimit: &config.AdaptiveLimit{Algorithm: "bbr", MinLimit: 9, MaxLimit: 3},
			Throttle:      &config.Throttle{Buckets: 2000},
			RateLimit:     &config.RateLimit{MaxKeys: -1},
			Hedge:         &config.Hedge{RetryBudget: &yes},
		},
	}
	// The rules about one field first; those tying fields together once
	// these pass.
	want := []string{
		"fault_tolerance.rate_limit.max_keys: must be at least 1, got -1",
		`fault_tolerance.adaptive_limit.algorithm: want "gradient2", "vegas" or "aimd", got "bbr"`,
		"fault_tolerance.throttle.buckets: must be in [0, 1000], got 2000",
	}
	checkErrors(t, c, want)
	c.FaultTolerance.AdaptiveLimit.Algorithm = "vegas"
	c.FaultTolerance.Throttle.Buckets = 100
	c.FaultTolerance.RateLimit.MaxKeys = 100
	checkErrors(t, c, []string{
		"fault_tolerance.adaptive_limit: min_limit must not exceed max_limit (3), got 9",
		"fault_tolerance.hedge.retry_budget: needs retry.budget, and the retry it belongs to enabled",
	})
}

func checkErrors(t *testing.T, c *config.Config, want []string) {
	t.Helper()
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid config")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestRegistryKeepsOverloadParts: a reload keeps a tool's adaptive
// limiter, throttle, rate-limit group and hedge policy while their
// settings stay the same, and replaces each one whose settings changed.
func TestRegistryKeepsOverloadParts(t *testing.T) {
	reg, err := config.NewRegistry(load(t, overload), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	a := reg.Recovery("a")
	type parts struct {
		limit    *limit.Limiter
		throttle *throttle.Throttle
		rate     *ratelimit.Group
		hedge    *hedge.Policy
	}
	of := func(name string) parts {
		r := reg.Recovery(name)
		return parts{r.Limit, r.Throttle, r.RateLimit, r.Hedge}
	}
	before := of("a")

	tests := []struct {
		name, old, new string
		want           func(p parts) parts // the parts that stay, from before
	}{
		{"another section", "max_attempts: 2", "max_attempts: 3",
			func(p parts) parts { return p }},
		{"adaptive limit", "algorithm: aimd", "algorithm: gradient2",
			func(p parts) parts { p.limit = nil; return p }},
		{"throttle", "k: 3", "k: 4",
			func(p parts) parts { p.throttle = nil; return p }},
		{"rate limit", "rate: 5", "rate: 6",
			func(p parts) parts { p.rate = nil; return p }},
		{"hedge", "max_hedges: 3", "max_hedges: 4",
			func(p parts) parts { p.hedge = nil; return p }},
		{"the retry budget the hedges spend", "ratio: 0.2", "ratio: 0.3",
			func(p parts) parts { p.hedge = nil; return p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := reg.Update(load(t, overload)); err != nil {
				t.Fatal(err)
			}
			if got := of("a"); got != before {
				t.Fatalf("reloading the same config replaced parts: %+v, want %+v", got, before)
			}
			if reg.Recovery("a") != a {
				t.Fatal("reloading the same config replaced the Recovery")
			}
			if !strings.Contains(overload, tt.old) {
				t.Fatalf("%q is not in the config", tt.old)
			}
			if err := reg.Update(load(t, strings.Replace(overload, tt.old, tt.new, 1))); err != nil {
				t.Fatal(err)
			}
			got, want := of("a"), tt.want(before)
			check := []struct {
				name       string
				kept, keep bool
				built      bool
			}{
				{"limiter", got.limit == before.limit, want.limit != nil, got.limit != nil},
				{"throttle", got.throttle == before.throttle, want.throttle != nil, got.throttle != nil},
				{"rate-limit group", got.rate == before.rate, want.rate != nil, got.rate != nil},
				{"hedge policy", got.hedge == before.hedge, want.hedge != nil, got.hedge != nil},
			}
			for _, c := range check {
				if c.kept != c.keep || !c.built {
					t.Errorf("%s kept %v, want %v (built %v)", c.name, c.kept, c.keep, c.built)
				}
			}
			if r := reg.Recovery("a"); r.Hedge.Budget != hedge.Budget(r.Retry.Budget) {
				t.Error("the hedge does not spend the current retry budget")
			}
			// Back to the first config: parts of it are built anew where they changed.
			if err := reg.Update(load(t, overload)); err != nil {
				t.Fatal(err)
			}
			before, a = of("a"), reg.Recovery("a")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestRegistryTransportOverload: a tool's Transport applies its rate limit
// per host, and builds its per-host limiters and throttles.
func TestRegistryTransportOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, err := config.NewRegistry(load(t, `
tools:
  - name: api
    rate_limit: {rate: 1, burst: 1, max_wait: 1ms}
    adaptive_limit: {per_host: true}
    throttle: {per_host: true}
`), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		var sent atomic.Int64
		base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			sent.Add(1)
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
		})
		client := &http.Client{Transport: reg.Transport("api", base)}
		tests := []struct {
			url     string
			limited bool
		}{
			{"http://a.example/", false},
			{"http://b.example/", false}, // another host, another bucket
			{"http://a.example/", true},
		}
		for _, tt := range tests {
			resp, err := client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, ratelimit.ErrLimited); got != tt.limited {
				t.Errorf("GET %s: %v, want limited %v", tt.url, err, tt.limited)
			}
		}
		if sent.Load() != 2 {
			t.Errorf("%d requests sent, want 2", sent.Load())
		}
	})
}
