package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
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

func TestAxis(t *testing.T) {
	tests := []struct {
		maxY, top, step float64
	}{
		{0, 1, 0.25},
		{-3, 1, 0.25},
		{0.3, 0.35, 0.05},
		{7, 8, 1},
		{12, 14, 2},
		{2000, 2500, 500},
		{2423, 2500, 500},
		{4.881, 6, 1},
		{61.151, 70, 10},
		{1e6, 1.2e6, 200000},
	}
	for _, tt := range tests {
		top, step := axis(tt.maxY)
		if math.Abs(top-tt.top) > 1e-9*tt.top || math.Abs(step-tt.step) > 1e-9*tt.step {
			t.Errorf("axis(%v) = %v, %v; want %v, %v", tt.maxY, top, step, tt.top, tt.step)
		}
	}
	// Every maximum gets a little headroom, not a lot, and readable ticks.
	for maxY := 0.01; maxY < 1e7; maxY *= 1.07 {
		top, step := axis(maxY)
		n := top / step
		if top < maxY*(1+minHeadroom) || top > maxY*1.35 || n > maxTicks+1e-9 || n < 3-1e-9 {
			t.Fatalf("axis(%v) = top %v, step %v: %.2f ticks, headroom %.0f%%", maxY, top, step, n, (top/maxY-1)*100)
		}
		if math.Abs(n-math.Round(n)) > 1e-6 {
			t.Fatalf("axis(%v): top %v is not a multiple of step %v", maxY, top, step)
		}
	}
}

func TestTickLabel(t *testing.T) {
	for _, tt := range []struct {
		v, step float64
		want    string
	}{{0, 500, "0"}, {2500, 500, "2500"}, {1.5000000000000002, 0.5, "1.5"}, {0.35, 0.05, "0.35"}, {7.5, 2.5, "7.5"}, {30, 10, "30"}} {
		if got := tickLabel(tt.v, tt.step); got != tt.want {
			t.Errorf("tickLabel(%v, %v) = %q, want %q", tt.v, tt.step, got, tt.want)
		}
	}
}

// TestChartFitsData checks the scaling of the committed chart's data: in
// each panel the highest point of every line lies within the frame, and
// the highest of all comes close to the frame's top, so the curves use the
// height instead of being squashed at the bottom.
func TestChartFitsData(t *testing.T) {
	svg := chart(run([]int{5, 50, 100}, 3, 1))
	frames := regexp.MustCompile(`<rect x="(\d+)" y="(\d+)" width="\d+" height="(\d+)" fill="none"`).FindAllStringSubmatch(svg, -1)
	if len(frames) != 2 {
		t.Fatalf("%d frames, want 2", len(frames))
	}
	lines := regexp.MustCompile(`<polyline [^>]*points="([^"]*)"`).FindAllStringSubmatch(svg, -1)
	if len(lines) != 2*len(algorithms) {
		t.Fatalf("%d lines, want %d", len(lines), 2*len(algorithms))
	}
	for i, f := range frames {
		var x0, top, height float64
		fmt.Sscan(f[1], &x0)
		fmt.Sscan(f[2], &top)
		fmt.Sscan(f[3], &height)
		bottom := top + height
		highest := bottom
		for _, l := range lines[i*len(algorithms) : (i+1)*len(algorithms)] {
			for _, pt := range strings.Fields(l[1]) {
				var x, y float64
				if _, err := fmt.Sscanf(pt, "%f,%f", &x, &y); err != nil {
					t.Fatalf("point %q: %v", pt, err)
				}
				if y < top || y > bottom || x < x0 {
					t.Errorf("panel %d: point %v,%v outside the frame (top %v, bottom %v)", i, x, y, top, bottom)
				}
				highest = min(highest, y)
			}
		}
		if fill := (bottom - highest) / height; fill < 0.75 {
			t.Errorf("panel %d: the data fills %.0f%% of the height, want at least 75%%", i, fill*100)
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
