package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func load(t *testing.T, in string) *config.Config {
	t.Helper()
	c, err := config.Load(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// TestSeedBlocksRoundTrip loads every YAML block of the pforge chapter as
// written, writes it back as YAML and as JSON, and loads that again.
func TestSeedBlocksRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/pforge-*.yaml")
	if err != nil || len(files) != 10 {
		t.Fatalf("want the 10 pforge blocks, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := config.LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
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
			viaLoad, err := config.Load(bytes.NewReader(js)) // JSON is YAML
			if err != nil || !reflect.DeepEqual(c, viaLoad) {
				t.Errorf("Load of the JSON form: %v", err)
			}
		})
	}
}

func ms(n int) *config.Millis { m := config.Millis(time.Duration(n) * time.Millisecond); return &m }

func TestSeedBlocksValues(t *testing.T) {
	tests := []struct {
		file, tool string
		want       config.Settings
	}{
		{"circuit-breaker", "fetch_api", config.Settings{
			Breaker: &breaker.Config{FailureThreshold: 5, OpenTimeout: time.Minute, SuccessThreshold: 2}}},
		{"retry", "fetch_data", config.Settings{
			Retry: &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: backoff.FullJitter}}}},
		{"timeouts", "slow_operation", config.Settings{Timeout: 5 * time.Second}},
		{"timeouts", "run_tests", config.Settings{Timeout: 5 * time.Minute}},
		{"timeouts", "fetch_api", config.Settings{Timeout: 10 * time.Second}},
		{"cascading-timeouts", "data_pipeline", config.Settings{Timeout: 30 * time.Second}},
		{"error-tracking", "", config.Settings{ErrorTracking: &errtrack.Config{Size: 1000}}},
		{"bulkhead", "external_api", config.Settings{
			Bulkhead: &bulkhead.Config{MaxConcurrent: 10, MaxQueued: 100, QueueTimeout: 5 * time.Second}}},
		{"middleware", "", config.Settings{
			Breaker:       &breaker.Config{FailureThreshold: 5, OpenTimeout: time.Minute, SuccessThreshold: 2},
			Retry:         &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}},
			ErrorTracking: &errtrack.Config{Size: 1000}}},
		{"complete-example", "fetch_user_data", config.Settings{
			Breaker:       &breaker.Config{FailureThreshold: 5, OpenTimeout: time.Minute, SuccessThreshold: 2},
			Retry:         &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}},
			Bulkhead:      &bulkhead.Config{MaxConcurrent: 20, MaxQueued: 100, QueueTimeout: 5 * time.Second},
			ErrorTracking: &errtrack.Config{Size: 1000},
			Timeout:       10 * time.Second}},
		{"fallback", "fetch_user_data", config.Settings{}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.tool, func(t *testing.T) {
			c, err := config.LoadFile("testdata/pforge-" + tt.file + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Settings(tt.tool)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSeedBlocksKeepTheRest(t *testing.T) {
	c, err := config.LoadFile("testdata/pforge-fallback-chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Fallbacks{
		{Type: "http", Endpoint: "https://backup-api.example.com/data", Method: "GET"},
		{Type: "native", Handler: "handlers::CacheFallback"},
		{Type: "native", Handler: "handlers::DefaultDataFallback"},
	}
	if got := c.Tool("fetch_data").Fallback; !reflect.DeepEqual(got, want) {
		t.Errorf("fallback chain %+v, want %+v", got, want)
	}
	c, err = config.LoadFile("testdata/pforge-fallback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tool("fetch_user_data").Fallback; !reflect.DeepEqual(got, config.Fallbacks{{Type: "native", Handler: "handlers::UserDataFallback"}}) {
		t.Errorf("single fallback %+v", got)
	}
	c, err = config.LoadFile("testdata/pforge-cascading-timeouts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	steps := c.Tool("data_pipeline").Steps
	if len(steps) != 3 || steps[1].Tool != "transform_data" || *steps[1].Timeout != *ms(10000) {
		t.Errorf("steps %+v", steps)
	}
	c, err = config.LoadFile("testdata/pforge-timeouts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tl := c.Tool("run_tests"); tl.Command != "pytest" || !reflect.DeepEqual(tl.Args, []string{"tests/"}) {
		t.Errorf("cli tool %+v", tl)
	}
	if tl := c.Tool("slow_operation"); tl.Handler == nil || tl.Handler.Path != "handlers::SlowOperation" {
		t.Errorf("native tool %+v", tl)
	}
}

func TestNewerKeys(t *testing.T) {
	c := load(t, `
fault_tolerance:
  circuit_breaker:
    failure_threshold: -1
    window_duration: 30s
    minimum_calls: 20
    failure_rate_threshold: 0.5
    slow_call_duration: 2s
    slow_call_rate_threshold: 0.8
    stuck_after: 5s
    per_host: true
  retry:
    jitter: decorrelated
    max_retry_after: 30s
    budget: {ratio: 0.2, min_per_second: 5, max_tokens: 50}
  total_timeout_ms: 15000
tools:
  - name: a
    retry: {jitter: false}
    total_timeout_ms: "2s"
`)
	s, err := c.Settings("a")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Settings{
		Breaker: &breaker.Config{FailureThreshold: -1, OpenTimeout: time.Minute, SuccessThreshold: 2,
			WindowDuration: 30 * time.Second, MinimumCalls: 20, FailureRateThreshold: 0.5,
			SlowCallDuration: 2 * time.Second, SlowCallRateThreshold: 0.8, StuckAfter: 5 * time.Second},
		PerHost: true,
		Retry: &retry.Policy{MaxAttempts: 3, MaxRetryAfter: 30 * time.Second,
			Backoff: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: backoff.NoJitter}},
		RetryBudget: &retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 5, MaxTokens: 50},
		Total:       2 * time.Second,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %s\nwant %s", dump(s), dump(want))
	}
	r, err := c.Build("a")
	if err != nil {
		t.Fatal(err)
	}
	if r.Breaker == nil || r.HostBreaker == nil || r.Retry.Budget == nil || r.Total != 2*time.Second {
		t.Errorf("Build: %+v", r)
	}
	if g, _ := c.Settings(""); g.Retry.Backoff.Jitter != backoff.DecorrelatedJitter || g.Total != 15*time.Second {
		t.Errorf("global retry %+v, total %v", g.Retry.Backoff, g.Total)
	}
}

func TestMergeFieldByField(t *testing.T) {
	c := load(t, `
fault_tolerance:
  circuit_breaker: {enabled: true, failure_threshold: 3, timeout: 30s}
  retry: {max_attempts: 5, initial_delay: 1s, max_delay: 10s}
  bulkhead: {max_concurrent: 4, max_queued: 0}
  error_tracking: {enabled: true, max_errors: 50}
  timeout_ms: 2000
middleware:
  - type: recovery
    retry: {multiplier: 3}
tools:
  - name: inherits
  - name: overrides
    circuit_breaker: {timeout: 5s}
    retry: {max_attempts: 2}
    bulkhead: {max_queued: 7}
    timeout_ms: 0
  - name: opts_out
    circuit_breaker: {enabled: false}
    retry: {enabled: false}
    bulkhead: {enabled: false}
    error_tracking: {enabled: false}
`)
	tests := []struct {
		tool string
		want config.Settings
	}{
		{"inherits", config.Settings{
			Breaker:       &breaker.Config{FailureThreshold: 3, OpenTimeout: 30 * time.Second, SuccessThreshold: 2},
			Retry:         &retry.Policy{MaxAttempts: 5, Backoff: backoff.Policy{Initial: time.Second, Max: 10 * time.Second, Multiplier: 3}},
			Bulkhead:      &bulkhead.Config{MaxConcurrent: 4, MaxQueued: bulkhead.NoQueue, QueueTimeout: 5 * time.Second},
			ErrorTracking: &errtrack.Config{Size: 50},
			Timeout:       2 * time.Second}},
		{"overrides", config.Settings{
			Breaker:       &breaker.Config{FailureThreshold: 3, OpenTimeout: 5 * time.Second, SuccessThreshold: 2},
			Retry:         &retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Initial: time.Second, Max: 10 * time.Second, Multiplier: 3}},
			Bulkhead:      &bulkhead.Config{MaxConcurrent: 4, MaxQueued: 7, QueueTimeout: 5 * time.Second},
			ErrorTracking: &errtrack.Config{Size: 50}}},
		{"opts_out", config.Settings{Timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			got, err := c.Settings(tt.tool)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
	// Merging copies: the config itself is unchanged.
	if c.FaultTolerance.Retry.MaxAttempts != 5 || c.FaultTolerance.Retry.Multiplier != 0 || *c.FaultTolerance.Bulkhead.MaxQueued != 0 {
		t.Errorf("merge changed the global block: %+v", c.FaultTolerance)
	}
	if _, err := c.Settings("nope"); !errors.Is(err, config.ErrUnknownTool) {
		t.Errorf("unknown tool: %v", err)
	}
	if _, err := c.Build("nope"); !errors.Is(err, config.ErrUnknownTool) {
		t.Errorf("Build of an unknown tool: %v", err)
	}
}

func TestBuildMakesWorkingParts(t *testing.T) {
	c, err := config.LoadFile("testdata/pforge-complete-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	r, err := c.BuildWith("fetch_user_data", config.Options{OnStateChange: func(tool string, from, to breaker.State) {
		changes = append(changes, tool+": "+from.String()+" -> "+to.String())
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Breaker == nil || r.Bulkhead == nil || r.Tracker == nil || r.Retry == nil || r.Timeout != 10*time.Second || r.HostBreaker != nil {
		t.Fatalf("Recovery %+v", r)
	}
	for range 5 {
		p, err := r.Breaker.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(errors.New("down"))
	}
	if r.Breaker.State() != breaker.Open || len(changes) != 1 || changes[0] != "fetch_user_data: closed -> open" {
		t.Errorf("state %v, changes %q: want open after failure_threshold 5", r.Breaker.State(), changes)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
	r2, _ := c.Build("fetch_user_data")
	if r2.Breaker == r.Breaker || r2.Bulkhead == r.Bulkhead {
		t.Error("each Build must make new parts")
	}
}

func TestLoadFileErrorsNameFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "forge.yaml")
	os.WriteFile(path, []byte("tools:\n  - name: a\n    retry:\n      max_attempts: 0\n"), 0o600)
	_, err := config.LoadFile(path)
	want := path + ":4: tools[0].retry.max_attempts: must be at least 1, got 0"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Line != 4 || fe.Path != "tools[0].retry.max_attempts" {
		t.Errorf("errors.As: %+v", fe)
	}
	if _, err := config.LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestBuildWithHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := load(t, `
tools:
  - name: api
    circuit_breaker: {failure_threshold: 1, per_host: true}
    retry: {max_attempts: 3, initial_delay: 1ms, max_delay: 1ms, max_open_wait: 1m}
`)
		var attempts, retries int
		var changes []string
		r, err := c.BuildWith("api", config.Options{
			Hooks: func(tool string) middleware.Hooks {
				if tool != "api" {
					t.Errorf("hooks asked for %q", tool)
				}
				return middleware.Hooks{
					OnAttempt: func(middleware.Event) { attempts++ },
					OnRetry:   func(middleware.Event) { retries++ },
				}
			},
			OnStateChange: func(tool string, from, to breaker.State) { changes = append(changes, tool+" "+to.String()) },
		})
		if err != nil {
			t.Fatal(err)
		}
		// The first failure opens the breaker; the second attempt is
		// rejected, the retry waits out the 60s (within max_open_wait), and
		// the third probes half-open and fails again.
		start := time.Now()
		_, err = middleware.Do(context.Background(), r, func(context.Context) (int, error) { return 0, errors.New("down") })
		if err == nil || attempts != 2 || retries != 2 || time.Since(start) < time.Minute || time.Since(start) > time.Minute+time.Second {
			t.Errorf("err %v, %d attempts, %d retries after %v", err, attempts, retries, time.Since(start))
		}
		if want := []string{"api open", "api half-open", "api open"}; !reflect.DeepEqual(changes, want) {
			t.Errorf("state changes %q, want %q", changes, want)
		}
		if r.HostBreaker == nil || r.HostBreaker.OnStateChange == nil || r.HostBreaker.FailureThreshold != 1 {
			t.Errorf("HostBreaker %+v", r.HostBreaker)
		}
	})
}

func TestOpenBreakerFailsFastWithoutMaxOpenWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := load(t, `
tools:
  - name: api
    circuit_breaker: {failure_threshold: 1}
    retry: {max_attempts: 3, initial_delay: 1ms, max_delay: 1ms}
`)
		r, err := c.Build("api")
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		start := time.Now()
		_, err = middleware.Do(context.Background(), r, func(context.Context) (int, error) { calls++; return 0, errors.New("down") })
		if !errors.Is(err, breaker.ErrOpen) || calls != 1 || time.Since(start) >= time.Second {
			t.Errorf("err %v after %d calls and %v; want breaker.ErrOpen at once after 1 call", err, calls, time.Since(start))
		}
	})
}
