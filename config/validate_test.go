package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed94f50169/resilience/config"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every error, in order
	}{
		{"retry attempts zero", "tools:\n- name: a\n- name: b\n- name: c\n  retry: {max_attempts: 0}\n",
			[]string{"tools[2].retry.max_attempts: must be at least 1, got 0"}},
		{"retry attempts huge", "tools:\n- name: a\n  retry: {max_attempts: 10000000}\n",
			[]string{"tools[0].retry.max_attempts: must be at most 1048576, got 10000000"}},
		{"retry attempts not a number", "fault_tolerance:\n  retry: {max_attempts: three}\n",
			[]string{`fault_tolerance.retry.max_attempts: want a whole number, got "three"`}},
		{"retry attempts fractional", "fault_tolerance:\n  retry: {max_attempts: 2.5}\n",
			[]string{`fault_tolerance.retry.max_attempts: want a whole number, got "2.5"`}},
		{"int overflow", "fault_tolerance:\n  retry: {max_attempts: 99999999999999999999}\n",
			[]string{`fault_tolerance.retry.max_attempts: want a whole number, got "99999999999999999999"`}},
		{"int beyond int32", "fault_tolerance:\n  bulkhead: {max_concurrent: 4294967296}\n",
			[]string{"fault_tolerance.bulkhead.max_concurrent: must be within [-2147483648, 2147483647], got 4294967296"}},
		{"delay negative", "fault_tolerance:\n  retry: {initial_delay: -1s}\n",
			[]string{"fault_tolerance.retry.initial_delay: must be positive, got -1s"}},
		{"delay without unit", "fault_tolerance:\n  retry: {initial_delay: 100}\n",
			[]string{"fault_tolerance.retry.initial_delay: want a duration with a unit such as 60s or 100ms, got 100"}},
		{"delay garbage", "fault_tolerance:\n  retry: {max_delay: soon}\n",
			[]string{`fault_tolerance.retry.max_delay: want a duration such as 60s or 100ms, got "soon"`}},
		{"delay huge", "fault_tolerance:\n  retry: {max_delay: 9000000h}\n",
			[]string{"fault_tolerance.retry.max_delay: want a duration such as 60s or 100ms, got \"9000000h\""}},
		{"delay beyond bound", "fault_tolerance:\n  circuit_breaker: {timeout: 2000000h}\n",
			[]string{"fault_tolerance.circuit_breaker.timeout: must be at most 320255h58m24.606846976s, got 2000000h0m0s"}},
		{"multiplier below one", "fault_tolerance:\n  retry: {multiplier: 0.5}\n",
			[]string{"fault_tolerance.retry.multiplier: must be at least 1, got 0.5"}},
		{"multiplier NaN", "fault_tolerance:\n  retry: {multiplier: .nan}\n",
			[]string{"fault_tolerance.retry.multiplier: must be a finite number, got .nan"}},
		{"multiplier infinite", "fault_tolerance:\n  retry: {multiplier: .inf}\n",
			[]string{"fault_tolerance.retry.multiplier: must be a finite number, got .inf"}},
		{"max below initial", "fault_tolerance:\n  retry: {initial_delay: 10s, max_delay: 1s}\n",
			[]string{"fault_tolerance.retry: max_delay (1s) must not be less than initial_delay (10s)"}},
		{"max below initial by default", "tools:\n- name: a\n  retry: {initial_delay: 10s}\n",
			[]string{"tools[0].retry: max_delay (5s) must not be less than initial_delay (10s)"}},
		{"jitter unknown", "fault_tolerance:\n  retry: {jitter: lots}\n",
			[]string{`fault_tolerance.retry.jitter: want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"; got "lots"`}},
		{"jitter a number", "fault_tolerance:\n  retry: {jitter: 1}\n",
			[]string{`fault_tolerance.retry.jitter: want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"`}},
		{"retry after zero", "fault_tolerance:\n  retry: {max_retry_after: 0s}\n",
			[]string{"fault_tolerance.retry.max_retry_after: must be positive, got 0s"}},
		{"budget negative", "fault_tolerance:\n  retry:\n    budget: {ratio: -0.1, max_tokens: 0}\n",
			[]string{"fault_tolerance.retry.budget.ratio: must be positive, got -0.1", "fault_tolerance.retry.budget.max_tokens: must be positive, got 0"}},
		{"budget unknown key", "fault_tolerance:\n  retry:\n    budget: {percent: 10}\n",
			[]string{`fault_tolerance.retry.budget: unknown key "percent"`}},
		{"breaker threshold zero", "fault_tolerance:\n  circuit_breaker: {failure_threshold: 0, success_threshold: 0}\n",
			[]string{"fault_tolerance.circuit_breaker.failure_threshold: must not be 0 (-1 turns this rule off)", "fault_tolerance.circuit_breaker.success_threshold: must be at least 1, got 0"}},
		{"breaker threshold huge", "fault_tolerance:\n  circuit_breaker: {failure_threshold: 2000000, success_threshold: 3000000}\n",
			[]string{"fault_tolerance.circuit_breaker.failure_threshold: must be in [0, 1048576], got 2000000", "fault_tolerance.circuit_breaker.success_threshold: must be in [0, 1048576], got 3000000"}},
		{"breaker timeout zero", "fault_tolerance:\n  circuit_breaker: {timeout: 0}\n",
			[]string{"fault_tolerance.circuit_breaker.timeout: must be positive, got 0s"}},
		{"breaker rate above one", "fault_tolerance:\n  circuit_breaker: {failure_rate_threshold: 50, slow_call_rate_threshold: -1}\n",
			[]string{"fault_tolerance.circuit_breaker.failure_rate_threshold: must be in [0, 1], got 50", "fault_tolerance.circuit_breaker.slow_call_rate_threshold: must be in [0, 1], got -1"}},
		{"breaker two windows", "fault_tolerance:\n  circuit_breaker: {window_size: 10, window_duration: 10s}\n",
			[]string{"fault_tolerance.circuit_breaker: window_size and window_duration are mutually exclusive"}},
		{"breaker slow rate without duration", "tools:\n- name: a\n  circuit_breaker: {slow_call_rate_threshold: 0.5}\n",
			[]string{"tools[0].circuit_breaker: slow_call_rate_threshold needs slow_call_duration"}},
		{"breaker minimum above window", "tools:\n- name: a\n  circuit_breaker: {window_size: 10, minimum_calls: 20}\n",
			[]string{"tools[0].circuit_breaker: minimum_calls (20) must not exceed window_size (10)"}},
		{"breaker window from global, minimum from tool", "fault_tolerance:\n  circuit_breaker: {window_size: 10, failure_rate_threshold: 0.5}\ntools:\n- name: a\n  circuit_breaker: {minimum_calls: 20}\n",
			[]string{"tools[0].circuit_breaker: minimum_calls (20) must not exceed window_size (10)"}},
		{"breaker enabled not a bool", "fault_tolerance:\n  circuit_breaker: {enabled: maybe}\n",
			[]string{`fault_tolerance.circuit_breaker.enabled: want true or false, got "maybe"`}},
		{"bulkhead zero", "fault_tolerance:\n  bulkhead: {max_concurrent: 0, max_queued: -1, timeout: -5s}\n",
			[]string{"fault_tolerance.bulkhead.max_concurrent: must be at least 1, got 0", "fault_tolerance.bulkhead.max_queued: must not be negative, got -1", "fault_tolerance.bulkhead.timeout: must be positive, got -5s"}},
		{"error tracking zero", "fault_tolerance:\n  error_tracking: {max_errors: 0, classify_by: message}\n",
			[]string{"fault_tolerance.error_tracking.max_errors: must be at least 1, got 0", `fault_tolerance.error_tracking.classify_by: only "type" is known, got "message"`}},
		{"timeout negative", "tools:\n- name: a\n  timeout_ms: -1\n  total_timeout_ms: 1.5\n",
			[]string{"tools[0].timeout_ms: must not be negative, got -1ms", "tools[0].total_timeout_ms: want a whole number of milliseconds, got 1.5"}},
		{"timeout huge", "tools:\n- name: a\n  timeout_ms: 9223372036854775807\n",
			[]string{"tools[0].timeout_ms: must be at most 1152921504606, got 9223372036854775807"}},
		{"step timeout", "tools:\n- name: p\n  steps:\n  - tool: x\n    timeout_ms: -5\n",
			[]string{"tools[0].steps[0].timeout_ms: must not be negative, got -5ms"}},
		{"typo in a key", "fault_tolerance:\n  circuit_breaker:\n    enabled: true\n    failure_treshold: 5\n",
			[]string{`fault_tolerance.circuit_breaker: unknown key "failure_treshold" (did you mean "failure_threshold"?)`}},
		{"unknown section", "fault_tolerance:\n  rate_limits: {rate: 10}\n",
			[]string{`fault_tolerance: unknown key "rate_limits" (did you mean "rate_limit"?)`}},
		{"rate limit unknown key", "fault_tolerance:\n  rate_limit: {rps: 10}\n",
			[]string{`fault_tolerance.rate_limit: unknown key "rps"`}},

		{"limit algorithm unknown", "fault_tolerance:\n  adaptive_limit: {algorithm: bbr}\n",
			[]string{`fault_tolerance.adaptive_limit.algorithm: want "gradient2", "vegas" or "aimd", got "bbr"`}},
		{"limit counts zero", "fault_tolerance:\n  adaptive_limit: {initial_limit: 0, min_limit: 0, max_limit: 0, window_samples: 0, long_window: 0, probe_limit: 0}\n",
			[]string{"fault_tolerance.adaptive_limit.initial_limit: must be at least 1, got 0", "fault_tolerance.adaptive_limit.min_limit: must be at least 1, got 0",
				"fault_tolerance.adaptive_limit.max_limit: must be at least 1, got 0", "fault_tolerance.adaptive_limit.window_samples: must be at least 1, got 0",
				"fault_tolerance.adaptive_limit.long_window: must be at least 1, got 0", "fault_tolerance.adaptive_limit.probe_limit: must be at least 1, got 0"}},
		{"limit counts huge", "fault_tolerance:\n  adaptive_limit: {max_limit: 20000000, max_queued: 20000000, window_samples: 2000000, long_window: 2000000}\n",
			[]string{"fault_tolerance.adaptive_limit.max_limit: must be in [0, 16777215], got 20000000", "fault_tolerance.adaptive_limit.max_queued: must be in [0, 16777215], got 20000000",
				"fault_tolerance.adaptive_limit.window_samples: must be in [0, 1048576], got 2000000", "fault_tolerance.adaptive_limit.long_window: must be in [0, 1048576], got 2000000"}},
		{"limit queue negative", "fault_tolerance:\n  adaptive_limit: {max_queued: -1}\n",
			[]string{"fault_tolerance.adaptive_limit.max_queued: must not be negative, got -1"}},
		{"limit waits zero", "fault_tolerance:\n  adaptive_limit: {max_wait: 0s, probe_interval: 0}\n",
			[]string{"fault_tolerance.adaptive_limit.max_wait: must not be 0s (a negative duration means none)", "fault_tolerance.adaptive_limit.probe_interval: must not be 0s (a negative duration means none)"}},
		{"limit windows too long", "fault_tolerance:\n  adaptive_limit: {window: 2h, probe_interval: 90m}\n",
			[]string{"fault_tolerance.adaptive_limit.window: must be in [0, 1h], got 2h0m0s", "fault_tolerance.adaptive_limit.probe_interval: must be NoProbe (-1ns) or in [0, 1h], got 1h30m0s"}},
		{"limit tuning out of range", "fault_tolerance:\n  adaptive_limit: {tolerance: 0.5, smoothing: 1.5, alpha: -1, beta: 0, backoff: 1}\n",
			[]string{"fault_tolerance.adaptive_limit.tolerance: must be at least 1, got 0.5", "fault_tolerance.adaptive_limit.smoothing: must be at most 1, got 1.5",
				"fault_tolerance.adaptive_limit.alpha: must be positive, got -1", "fault_tolerance.adaptive_limit.beta: must be positive, got 0",
				"fault_tolerance.adaptive_limit.backoff: must be below 1, got 1"}},
		{"limit min above max", "fault_tolerance:\n  adaptive_limit: {min_limit: 50, max_limit: 10}\n",
			[]string{"fault_tolerance.adaptive_limit: min_limit must not exceed max_limit (10), got 50"}},
		{"limit initial above max from global", "fault_tolerance:\n  adaptive_limit: {max_limit: 10}\ntools:\n- name: a\n  adaptive_limit: {initial_limit: 20}\n",
			[]string{"tools[0].adaptive_limit: initial_limit must be in [min_limit, max_limit] = [1, 10], got 20"}},
		{"limit initial within max from global", "fault_tolerance:\n  adaptive_limit: {max_limit: 5000}\ntools:\n- name: a\n  adaptive_limit: {initial_limit: 2000, probe_limit: 5001}\n",
			[]string{"tools[0].adaptive_limit: probe_limit must be in [min_limit, max_limit] = [1, 5000], got 5001"}},
		{"limit alpha above beta", "tools:\n- name: a\n  adaptive_limit: {algorithm: vegas, beta: 2}\n",
			[]string{"tools[0].adaptive_limit: alpha must be below beta (2), got 3"}},

		{"throttle zero", "fault_tolerance:\n  throttle: {k: 0, window: 0s, buckets: 0, max_rejection_rate: 0}\n",
			[]string{"fault_tolerance.throttle.k: must be at least 1, got 0", "fault_tolerance.throttle.window: must be positive, got 0s",
				"fault_tolerance.throttle.buckets: must be at least 1, got 0", "fault_tolerance.throttle.max_rejection_rate: must be positive, got 0"}},
		{"throttle out of range", "fault_tolerance:\n  throttle: {k: 2000000, buckets: 5000, max_rejection_rate: 1.5}\n",
			[]string{"fault_tolerance.throttle.max_rejection_rate: must be at most 1, got 1.5", "fault_tolerance.throttle.k: must be in [1, 1e+06], got 2e+06",
				"fault_tolerance.throttle.buckets: must be in [0, 1000], got 5000"}},
		{"throttle buckets too narrow", "fault_tolerance:\n  throttle: {window: 10s}\ntools:\n- name: a\n  throttle: {buckets: 100000}\n- name: b\n  throttle: {buckets: 1000}\n",
			[]string{"tools[0].throttle.buckets: must be in [0, 1000], got 100000"}},
		{"throttle window too short", "fault_tolerance:\n  throttle: {window: 5ms}\n",
			[]string{"fault_tolerance.throttle: window must give each of its 10 buckets at least 1ms, got 5ms"}},

		{"rate limit zero", "fault_tolerance:\n  rate_limit: {rate: 0, burst: 0, max_wait: 0s, max_keys: 0}\n",
			[]string{"fault_tolerance.rate_limit.rate: must be positive, got 0", "fault_tolerance.rate_limit.burst: must be at least 1, got 0",
				"fault_tolerance.rate_limit.max_wait: must be positive, got 0s", "fault_tolerance.rate_limit.max_keys: must be at least 1, got 0"}},
		{"rate limit huge", "fault_tolerance:\n  rate_limit: {rate: 1e12, burst: 2000000000, max_keys: 20000000}\n",
			[]string{"fault_tolerance.rate_limit.rate: must be in [0, 1e+09] or +Inf, got 1e+12", "fault_tolerance.rate_limit.burst: must be in [0, 1073741824], got 2000000000",
				"fault_tolerance.rate_limit.max_keys: must be in [0, 16777216], got 20000000"}},
		{"rate limit infinite", "fault_tolerance:\n  rate_limit: {rate: .inf}\n",
			[]string{"fault_tolerance.rate_limit.rate: must be a finite number, got .inf"}},

		{"hedge zero", "fault_tolerance:\n  hedge: {delay: 0s, quantile: 0, min_delay: -1ms, max_delay: 0s, window: 0, max_hedges: 0}\n",
			[]string{"fault_tolerance.hedge.delay: must be positive, got 0s", "fault_tolerance.hedge.quantile: must be positive, got 0",
				"fault_tolerance.hedge.min_delay: must be positive, got -1ms", "fault_tolerance.hedge.max_delay: must be positive, got 0s",
				"fault_tolerance.hedge.window: must be at least 1, got 0", "fault_tolerance.hedge.max_hedges: must be at least 1, got 0"}},
		{"hedge too large", "fault_tolerance:\n  hedge: {quantile: 1, window: 2000000, max_hedges: 17}\n",
			[]string{"fault_tolerance.hedge.quantile: must be below 1, got 1", "fault_tolerance.hedge.window: must be at most 1048576, got 2000000",
				"fault_tolerance.hedge.max_hedges: must be at most 16, got 17"}},
		{"hedge min above max", "fault_tolerance:\n  hedge: {max_delay: 10ms}\ntools:\n- name: a\n  hedge: {min_delay: 20ms}\n",
			[]string{"tools[0].hedge: min_delay must not exceed max_delay (10ms), got 20ms"}},
		{"hedge retry budget without one", "fault_tolerance:\n  retry: {max_attempts: 2}\n  hedge: {retry_budget: true}\n",
			[]string{"fault_tolerance.hedge.retry_budget: needs retry.budget, and the retry it belongs to enabled"}},
		{"hedge retry budget with retry off", "fault_tolerance:\n  retry: {budget: {ratio: 0.1}}\n  hedge: {retry_budget: true}\ntools:\n- name: a\n  retry: {enabled: false}\n",
			[]string{"tools[0].hedge.retry_budget: needs retry.budget, and the retry it belongs to enabled"}},
		{"hedge retry budget not a bool", "fault_tolerance:\n  hedge: {retry_budget: retry}\n",
			[]string{`fault_tolerance.hedge.retry_budget: want true or false, got "retry"`}},
		{"new sections unknown keys", "tools:\n- name: a\n  adaptive_limit: {limit: 5}\n  throttle: {K: 2}\n  hedge: {delay_ms: 5}\n",
			[]string{`tools[0].adaptive_limit: unknown key "limit"`, `tools[0].throttle: unknown key "K" (did you mean "k"?)`, `tools[0].hedge: unknown key "delay_ms" (did you mean "delay"?)`}},
		{"unknown top-level key", "forge: {name: x}\ntool: []\n",
			[]string{`unknown key "tool" (did you mean "tools"?)`}},
		{"repeated key", "fault_tolerance:\n  retry: {max_attempts: 2}\n  retry: {max_attempts: 3}\n",
			[]string{"fault_tolerance.retry: repeated key (first on line 2)"}},
		{"section not a mapping", "fault_tolerance:\n  retry: 3\n",
			[]string{"fault_tolerance.retry: want a mapping of keys to values"}},
		{"tools not a list", "tools: {name: a}\n", []string{"tools: want a list"}},
		{"tool without name", "tools:\n- type: http\n", []string{"tools[0].name: required"}},
		{"tool name repeated", "tools:\n- name: a\n- name: b\n- name: a\n", []string{`tools[2].name: repeated: "a" is tools[0] already`}},
		{"middleware type", "middleware:\n- type: logging\n", []string{`middleware[0].type: only type "recovery" is known, got "logging"`}},
		{"middleware bad value", "middleware:\n- type: recovery\n  retry: {max_attempts: -1}\n", []string{"middleware[0].retry.max_attempts: must be at least 1, got -1"}},
		{"fallback not a list", "tools:\n- name: a\n  fallback: native\n", []string{"tools[0].fallback: want a list"}},
		{"fallback unknown key", "tools:\n- name: a\n  fallback:\n  - type: http\n    url: x\n", []string{`tools[0].fallback[0]: unknown key "url"`}},
		{"key not a scalar", "? [a]\n: 1\n", []string{"want a key, not a list"}},
		{"not a mapping", "- a\n", []string{"want a mapping of keys to values"}},
		{"two documents", "tools: []\n---\ntools: []\n", []string{"want one YAML document, found more"}},
		{"bad YAML", "tools: [\n", []string{"invalid YAML: line 1: did not find expected node content"}},
		{"empty value", "tools:\n- name: a\n  timeout_ms:\n", []string{"tools[0].timeout_ms: want a value"}},
		{"many at once", `
fault_tolerance:
  circuit_breaker: {failure_threshold: 0, timeout: 1}
tools:
  - name: a
    retry: {max_attempts: 0, multipler: 2}
  - name: a
    bulkhead: {max_concurrent: -3}
`, []string{
			"fault_tolerance.circuit_breaker.failure_threshold: must not be 0 (-1 turns this rule off)",
			"fault_tolerance.circuit_breaker.timeout: want a duration with a unit such as 60s or 100ms, got 1",
			"tools[0].retry.max_attempts: must be at least 1, got 0",
			`tools[0].retry: unknown key "multipler" (did you mean "multiplier"?)`,
			"tools[1].bulkhead.max_concurrent: must be at least 1, got -3",
			`tools[1].name: repeated: "a" is tools[0] already`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatalf("loaded %+v, want errors", c)
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T %v, want config.Errors", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			if len(errs) != len(tt.want) {
				t.Errorf("%d errors, want %d", len(errs), len(tt.want))
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"empty", ""},
		{"comments only", "# nothing\n"},
		{"null sections", "fault_tolerance:\n  retry:\n  circuit_breaker:\n"},
		{"negative failure threshold with a rate rule", "fault_tolerance:\n  circuit_breaker: {failure_threshold: -1, failure_rate_threshold: 0.5}\n"},
		{"max delay from global fixes a tool's initial delay", "fault_tolerance:\n  retry: {max_delay: 20s}\ntools:\n- name: a\n  retry: {initial_delay: 10s}\n"},
		{"millis as a duration string", "tools:\n- name: a\n  timeout_ms: 1m\n"},
		{"zero timeout turns it off", "tools:\n- name: a\n  timeout_ms: 0\n"},
		{"aliases", "fault_tolerance:\n  retry: &r {max_attempts: 4}\ntools:\n- name: a\n  retry: *r\n"},
		{"disabled block with a value the merge would refuse", "fault_tolerance:\n  circuit_breaker: {window_size: 10, failure_rate_threshold: 0.5}\ntools:\n- name: a\n  circuit_breaker: {enabled: false, minimum_calls: 20}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := config.Load(strings.NewReader(tt.yaml)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHostileInput(t *testing.T) {
	// A billion laughs: each level doubles the values; the decoder stops
	// counting at its bound instead of expanding them all.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i < 40; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n")
	}
	b.WriteString("tools: [*a39]\n")
	_, err := config.Load(strings.NewReader(b.String()))
	if err == nil {
		t.Fatal("loaded an alias bomb")
	}
	big := strings.NewReader("# " + strings.Repeat("x", config.MaxSize) + "\n")
	if _, err := config.Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized input: %v", err)
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestValidateConfigMadeInCode(t *testing.T) {
	c := &config.Config{Tools: []config.Tool{{Name: "a", Policies: config.Policies{
		Retry:    &config.Retry{MaxAttempts: -2, Budget: &config.Budget{Ratio: -1}},
		Bulkhead: &config.Bulkhead{MaxConcurrent: 1 << 40},
	}}}}
	c.Tools[0].Retry.Jitter = "wobbly"
	err := c.Validate()
	want := "tools[0].retry.max_attempts: must be at least 1, got -2\n" +
		"tools[0].retry.budget.ratio: must be positive, got -1\n" +
		`tools[0].retry.jitter: want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"; got "wobbly"` + "\n" +
		"tools[0].bulkhead.max_concurrent: must be in [0, 2147483647], got 1099511627776"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	if _, err := c.Build("a"); err == nil {
		t.Error("Build accepted an invalid config")
	}
}
