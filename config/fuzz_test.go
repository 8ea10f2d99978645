package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/seed94f50169/resilience/config"
)

// FuzzLoad: no input panics Load; an input Load refuses gets Errors that
// each name a rule; one it accepts validates, builds every tool, and
// survives a round trip through YAML unchanged.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("fault_tolerance:\n  retry: {max_attempts: 0, initial_delay: -1s, jitter: spread}\n"))
	f.Add([]byte("tools:\n- name: a\n  circuit_breaker: {window_size: 5, minimum_calls: 9, per_host: true}\n  timeout_ms: 1.5\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte(overload))
	f.Add([]byte("fault_tolerance:\n  adaptive_limit: {algorithm: vegas, alpha: 6, beta: 3, max_wait: -1s, probe_interval: 0s}\n" +
		"tools:\n- name: a\n  adaptive_limit: {initial_limit: 2000, per_host: true}\n"))
	f.Add([]byte("fault_tolerance:\n  throttle: {k: 0.5, window: 5ms, buckets: 1000, max_rejection_rate: 1}\n" +
		"tools:\n- name: a\n  throttle: {enabled: false, per_host: yes}\n"))
	f.Add([]byte("tools:\n- name: a\n  rate_limit: {rate: 1e12, burst: -1, max_wait: 1h, max_keys: 16777217}\n"))
	f.Add([]byte("fault_tolerance:\n  retry: {budget: {ratio: 0.1}}\n  hedge: {retry_budget: true, min_delay: 2s, max_delay: 1s, max_hedges: 99}\n" +
		"tools:\n- name: a\n  retry: {enabled: false}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := config.Load(bytes.NewReader(in))
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v, want a non-empty config.Errors", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" {
					t.Fatalf("an error without a rule: %+v", e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted what Validate refuses: %v", err)
		}
		for _, tool := range append([]config.Tool{{}}, c.Tools...) {
			r, err := c.Build(tool.Name)
			if err != nil {
				t.Fatalf("Build(%q): %v", tool.Name, err)
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("Build(%q) made an invalid Recovery: %v", tool.Name, err)
			}
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
			t.Fatalf("round trip changed\n%q\ninto\n%s", in, out)
		}
	})
}
