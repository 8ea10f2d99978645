package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func testNet(seed uint64) network {
	return network{mean: 10 * time.Millisecond, sd: 2 * time.Millisecond, r: rand.New(rand.NewPCG(seed, seed))}
}

func TestSimulateEveryClientSucceedsOnce(t *testing.T) {
	for _, alg := range algorithms {
		for _, n := range []int{1, 2, 7, 40} {
			t.Run(alg.name, func(t *testing.T) {
				o := simulate(n, testNet(uint64(n)), delaysOf(alg))
				if o.calls-o.conflicts != n {
					t.Errorf("%d clients: %d successful writes, want %d", n, o.calls-o.conflicts, n)
				}
				if n == 1 && (o.conflicts != 0 || o.done < 40*time.Millisecond-8*time.Millisecond*4) {
					t.Errorf("one client: %d conflicts, done at %v", o.conflicts, o.done)
				}
			})
		}
	}
}

func TestNoBackoffWorkIsQuadratic(t *testing.T) {
	// Every round all remaining clients write and one wins: about n²/2 calls.
	o := simulate(60, testNet(3), nil)
	if o.calls < 60*60/4 {
		t.Errorf("60 clients without backoff: %d calls, want at least %d", o.calls, 60*60/4)
	}
}

// TestPublishedConclusions checks the orderings the post reports, on means
// over enough runs to be stable.
func TestPublishedConclusions(t *testing.T) {
	res := run([]int{50}, 40, 9)
	calls := func(name string) float64 { return res[name][0].calls }
	took := func(name string) time.Duration { return res[name][0].time }
	if !(calls("full jitter") < 0.75*calls("no jitter") && calls("decorrelated") < 0.75*calls("no jitter")) {
		t.Errorf("jitter does not save work: full %.0f, decorrelated %.0f, no jitter %.0f", calls("full jitter"), calls("decorrelated"), calls("no jitter"))
	}
	if !(calls("equal jitter") < calls("no jitter") && calls("no jitter") < calls("no backoff")) {
		t.Errorf("calls: equal %.0f, no jitter %.0f, no backoff %.0f", calls("equal jitter"), calls("no jitter"), calls("no backoff"))
	}
	if !(took("full jitter") < took("equal jitter") && took("equal jitter") < took("no jitter")) {
		t.Errorf("time: full %v, equal %v, no jitter %v", took("full jitter"), took("equal jitter"), took("no jitter"))
	}
}

func TestChartIsWellFormedSVG(t *testing.T) {
	svg := chart(run([]int{2, 4, 8}, 2, 1))
	dec := xml.NewDecoder(strings.NewReader(svg))
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 2*len(algorithms) {
		t.Errorf("%d lines, want %d", lines, 2*len(algorithms))
	}
	for _, a := range algorithms {
		if !strings.Contains(svg, ">"+a.name+"<") {
			t.Errorf("legend lacks %q", a.name)
		}
	}
}

func TestMainWritesTableAndChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "j.svg")
	var out bytes.Buffer
	if err := mainErr([]string{"-svg", path, "-runs", "2", "-clients", "3,6"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"total calls", "completion time", "full jitter", "decorrelated", "chart written to"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(b, []byte("<svg")) {
		t.Errorf("chart: %v %.20q", err, b)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-clients", "0"}, {"-clients", "a,b"}, {"-runs", "0"}, {"-clients", "5000"}} {
		if err := mainErr(append(args, "-svg", ""), io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {0.3, 0.5}, {7, 10}, {12, 20}, {2000, 2000}, {2001, 5000}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestDocumentedResults keeps the table in the package doc true: it reruns
// the 100-client point with the defaults and compares.
func TestDocumentedResults(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 100 clients 500 times")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	res := run([]int{100}, 100, 1)
	for _, a := range algorithms {
		m := regexp.MustCompile(`//\t` + a.name + `\s+(\d+)\s+(\S+)\n`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("the doc has no row for %q", a.name)
		}
		p := res[a.name][0]
		gotCalls := fmt.Sprintf("%.0f", p.calls)
		gotTime := fmt.Sprintf("%.1fs", p.time.Seconds())
		if gotCalls != string(m[1]) || gotTime != string(m[2]) {
			t.Errorf("%s: the doc says %s calls in %s, the simulation gives %s in %s", a.name, m[1], m[2], gotCalls, gotTime)
		}
	}
}
