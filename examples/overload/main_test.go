package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seed1 holds every scenario run with seed 1, simulated once for all the
// tests that look at it.
var seed1 struct {
	once sync.Once
	res  results
}

func seed1Results(t *testing.T) results {
	seed1.once.Do(func() {
		o, err := parseFlags([]string{"-seed", "1"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Test(t, func(t *testing.T) { seed1.res = simulate(o) })
	})
	return seed1.res
}

func TestReport(t *testing.T) {
	o, err := parseFlags([]string{"-svg", t.TempDir(), "-seed", "1"})
	if err != nil {
		t.Fatal(err)
	}
	res := seed1Results(t)
	var out bytes.Buffer
	if err := report(&out, o, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"retry storm", "naive retries", "never", "fairness", "per-client limit", "capacity drop", "limit Vegas", "server overload", "Shedder", "storm.svg", "drop.svg", "fairness.svg", "server.svg"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	for _, name := range []string{"storm.svg", "drop.svg", "fairness.svg", "server.svg"} {
		data, err := os.ReadFile(filepath.Join(o.svgDir, name))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", name, err)
			}
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
		want []string
	}{
		{nil, true, scenarioNames},
		{[]string{"-scenario", "storm"}, true, []string{"storm"}},
		{[]string{"-scenario", "fairness, storm"}, true, []string{"fairness", "storm"}},
		{[]string{"-scenario", "drop"}, true, []string{"drop"}},
		{[]string{"-scenario", "server,drop"}, true, []string{"server", "drop"}},
		{[]string{"-scenario", "nope"}, false, nil},
		{[]string{"extra"}, false, nil},
		{[]string{"-seed", "x"}, false, nil},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args)
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q) error %v, want ok %v", tt.args, err, tt.ok)
			continue
		}
		for _, n := range tt.want {
			if !o.scenarios[n] {
				t.Errorf("parseFlags(%q): scenario %s not chosen", tt.args, n)
			}
		}
		if tt.ok && len(o.scenarios) != len(tt.want) {
			t.Errorf("parseFlags(%q): %d scenarios, want %d", tt.args, len(o.scenarios), len(tt.want))
		}
	}
}

func TestChartsWithoutData(t *testing.T) {
	// A log panel with nothing positive, and a run with no seconds, still
	// give well-formed numbers.
	svg := lineChart("empty", 0, 0, panel{title: "p", logY: true, series: []series{{name: "a", color: "#000", values: []float64{0, 0}}}})
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Errorf("chart of zeros has non-numbers:\n%s", svg)
	}
}
