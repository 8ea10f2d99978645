package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The claims, checked on the model with the program's own workload sizes
// and on the real package with smaller ones.

func checkTail(t *testing.T, name string, none, hedged result) {
	t.Helper()
	cut := float64(none.quantile(0.999)) / float64(hedged.quantile(0.999))
	if cut < 10 || hedged.extra() >= 0.05 {
		t.Errorf("%s: p99.9 %v → %v (%.0f×, want ≥ 10×) for %.2f%% extra requests (want < 5%%)",
			name, none.quantile(0.999), hedged.quantile(0.999), cut, 100*hedged.extra())
	}
	if hedged.quantile(0.5) > none.quantile(0.5)*11/10 {
		t.Errorf("%s: hedging raised p50 from %v to %v", name, none.quantile(0.5), hedged.quantile(0.5))
	}
}

func checkOverload(t *testing.T, name string, none, unbounded, budgeted result) {
	t.Helper()
	if unbounded.extra() < 0.5 || unbounded.quantile(0.99) < 10*none.quantile(0.99) {
		t.Errorf("%s: hedging without a budget: %.1f%% extra, p99 %v against %v; want a collapse (≥ 50%%, ≥ 10×)",
			name, 100*unbounded.extra(), unbounded.quantile(0.99), none.quantile(0.99))
	}
	if budgeted.extra() > 0.11 || budgeted.quantile(0.99) > 3*none.quantile(0.99) {
		t.Errorf("%s: with the budget: %.1f%% extra, p99 %v against %v; want ≤ 11%% and < 3×",
			name, 100*budgeted.extra(), budgeted.quantile(0.99), none.quantile(0.99))
	}
}

func TestModelClaims(t *testing.T) {
	t.Parallel()
	w := defaultWorkload(1)
	for _, tt := range []struct {
		name          string
		requests, fan int
	}{
		{"fan-out 1", 50_000, 1},
		{"fan-out 100", 4_000, 100},
	} {
		none := fanout(w, noHedge, tt.requests, tt.fan)
		checkTail(t, tt.name+", fixed", none, fanout(w, fixed, tt.requests, tt.fan))
		checkTail(t, tt.name+", adaptive", none, fanout(w, adaptive, tt.requests, tt.fan))
	}
	none := overload(w, noHedge)
	checkOverload(t, "fixed", none, overload(w, fixed), overload(w, budgeted))
	checkOverload(t, "adaptive", none, overload(w, adaptive), overload(w, adaptB))
}

// agree checks that the model and the real package came to about the same
// numbers on the same workload.
func agree(t *testing.T, name string, model, real result) {
	t.Helper()
	if d := model.extra() - real.extra(); d > 0.005 || d < -0.005 || model.subs != real.subs {
		t.Errorf("%s: extra requests: model %.2f%% of %d, package %.2f%% of %d", name, 100*model.extra(), model.subs, 100*real.extra(), real.subs)
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		m, r := float64(model.quantile(q)), float64(real.quantile(q))
		if m > 1.25*r || r > 1.25*m {
			t.Errorf("%s: p%v: model %v, package %v", name, 100*q, model.quantile(q), real.quantile(q))
		}
	}
}

func TestRealPackageTail(t *testing.T) {
	t.Parallel()
	w := defaultWorkload(2)
	for _, tt := range []struct {
		name          string
		requests, fan int
	}{
		{"fan-out 1", 20_000, 1},
		{"fan-out 100", 300, 100},
	} {
		if testing.Short() && tt.fan > 1 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			none := realFanout(t, w, noHedge, tt.requests, tt.fan)
			for _, s := range []strategy{fixed, adaptive} {
				real := realFanout(t, w, s, tt.requests, tt.fan)
				if tt.fan == 1 {
					checkTail(t, s.name, none, real)
				}
				agree(t, s.name, fanout(w, s, tt.requests, tt.fan), real)
			}
		})
	}
}

func TestRealPackageOverload(t *testing.T) {
	t.Parallel()
	w := defaultWorkload(3)
	w.duration /= 4
	none := realOverload(t, w, noHedge)
	agree(t, "no hedging", overload(w, noHedge), none)
	unbounded, budgetedRes := realOverload(t, w, fixed), realOverload(t, w, budgeted)
	checkOverload(t, "package", none, unbounded, budgetedRes)
	agree(t, "budget", overload(w, budgeted), budgetedRes)
}

func TestMainWritesTablesAndChart(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "sub", "tail.svg")
	if err := mainErr([]string{"-requests", "2000", "-overload", "1s", "-svg", path}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fan-out 1", "fan-out 100", "overloaded", "adaptive p95 + budget", "extra requests", "chart written"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Errorf("chart is not well-formed XML: %v", err)
	}
	if n := strings.Count(string(svg), "<rect"); n < 3*11 {
		t.Errorf("chart has %d rects, want a bar per quantile per strategy", n)
	}
	for _, args := range [][]string{{"-requests", "10"}, {"-overload", "-1s"}, {"-bogus"}} {
		if err := mainErr(args, &out); err == nil {
			t.Errorf("mainErr(%q) = nil, want an error", args)
		}
	}
}
