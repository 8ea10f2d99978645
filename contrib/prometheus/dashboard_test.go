package resprom_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	resprom "github.com/seed94f50169/resilience/contrib/prometheus"
)

// exported returns the names of the metric families c exports, histogram
// series included.
func exported(c *resprom.Collector) map[string]bool {
	ch := make(chan *prometheus.Desc, 64)
	c.Describe(ch)
	close(ch)
	names := map[string]bool{}
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		m := re.FindStringSubmatch(d.String())
		names[m[1]] = true
		if strings.HasSuffix(m[1], "_seconds") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[m[1]+s] = true
			}
		}
	}
	return names
}

// queries returns every "expr" and "query" string anywhere in v.
func queries(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
				out = append(out, s)
			}
			out = append(out, queries(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, queries(x)...)
		}
	}
	return out
}

// TestDashboardQueries: every query of the checked-in dashboard names only
// metrics the Collector exports, and the panels the dashboard promises
// are there.
func TestDashboardQueries(t *testing.T) {
	b, err := os.ReadFile("dashboard/resilience.json")
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	have := exported(resprom.New(resprom.Config{Durations: true}))
	qs := queries(d)
	if len(qs) < 8 {
		t.Fatalf("%d queries, want at least 8", len(qs))
	}
	metric := regexp.MustCompile(`\bresilience_[a-z_]+\b`)
	used := map[string]bool{}
	for _, q := range qs {
		names := metric.FindAllString(q, -1)
		if len(names) == 0 {
			t.Errorf("query names no resilience metric: %s", q)
		}
		for _, n := range names {
			if n == "resilience_name" {
				continue
			}
			used[n] = true
			if !have[n] {
				t.Errorf("query names %s, which the collector does not export: %s", n, q)
			}
		}
	}
	for _, n := range []string{
		"resilience_breaker_state", "resilience_retries_total", "resilience_rejections_total",
		"resilience_bulkhead_in_flight", "resilience_limit_current", "resilience_attempt_duration_seconds_bucket",
	} {
		if !used[n] {
			t.Errorf("no panel queries %s", n)
		}
	}
}
