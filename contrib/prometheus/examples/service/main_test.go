package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestScrape starts the service on 127.0.0.1, makes calls through it, and
// parses its /metrics with the official text parser: the upstream fails
// every third request, so 9 calls make 13 attempts (requests 3, 6, 9 and
// 12 fail, each retried once for service_unavailable), all answered.
func TestScrape(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, options{failEvery: 3, latency: time.Millisecond}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	for i := range 9 {
		resp, err := c.Get(base + "/call")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		mf := mfs[name]
		if mf == nil {
			t.Fatalf("no %s in the scrape", name)
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return metricValue(m)
		}
		t.Fatalf("no %s%v in the scrape", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"resilience_attempts_total", map[string]string{"outcome": "success", "resilience_name": "upstream"}, 9},
		{"resilience_attempts_total", map[string]string{"outcome": "failure"}, 4},
		{"resilience_retries_total", map[string]string{"reason": "service_unavailable"}, 4},
		{"resilience_errors_total", map[string]string{"class": "service_unavailable"}, 4},
		{"resilience_attempt_duration_seconds", map[string]string{"outcome": "success"}, 9},
		{"resilience_breaker_state", map[string]string{"state": "closed"}, 1},
		{"resilience_breaker_state", map[string]string{"state": "open"}, 0},
		{"resilience_bulkhead_in_flight", nil, 0},
		{"resilience_limit_in_flight", nil, 0},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := value("resilience_limit_current", nil); v < 1 {
		t.Errorf("resilience_limit_current = %v, want at least 1", v)
	}
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
