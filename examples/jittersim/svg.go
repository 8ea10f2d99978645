package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var colors = map[string]string{
	"no backoff":   "#7f7f7f",
	"no jitter":    "#d62728",
	"equal jitter": "#ff7f0e",
	"full jitter":  "#2ca02c",
	"decorrelated": "#1f77b4",
}

// chart draws two line charts side by side, calls and completion time
// against clients, as an SVG document.
func chart(res map[string][]point) string {
	var b strings.Builder
	const w, h = 960, 420
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">Optimistic concurrency under contention: backoff and jitter (mean of runs)</text>`+"\n", w/2)
	panel(&b, 60, 50, "total calls (work)", res, func(p point) float64 { return p.calls })
	panel(&b, 540, 50, "completion time (s)", res, func(p point) float64 { return p.time.Seconds() })
	// Legend.
	for i, a := range algorithms {
		x := 60 + i*180
		fmt.Fprintf(&b, `<line x1="%d" y1="400" x2="%d" y2="400" stroke="%s" stroke-width="3"/><text x="%d" y="404">%s</text>`+"\n", x, x+24, colors[a.name], x+30, a.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// panel draws one chart with its top-left corner at (x0, y0).
func panel(b *strings.Builder, x0, y0 int, title string, res map[string][]point, val func(point) float64) {
	const pw, ph = 380, 290
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	for _, pts := range res {
		for _, p := range pts {
			minX = math.Min(minX, float64(p.clients))
			maxX = math.Max(maxX, float64(p.clients))
			maxY = math.Max(maxY, val(p))
		}
	}
	if maxX == minX {
		maxX = minX + 1
	}
	top, step := axis(maxY)
	px := func(v float64) float64 { return float64(x0) + (v-minX)/(maxX-minX)*pw }
	// The value top sits at the frame's upper edge, y0+10.
	py := func(v float64) float64 { return float64(y0+ph) - v/top*(ph-10) }
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+pw/2, y0, title)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", x0, y0+10, pw, ph-10)
	for i := 0; float64(i)*step <= top*(1+1e-9); i++ {
		v := float64(i) * step
		y := py(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0, y, x0+pw, y, x0-4, y+4, tickLabel(v, step))
	}
	for _, p := range res[algorithms[0].name] {
		x := px(float64(p.clients))
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, y0+ph+16, p.clients)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">clients</text>`+"\n", x0+pw/2, y0+ph+32)
	for _, a := range algorithms {
		var pts []string
		for _, p := range res[a.name] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(p.clients)), py(val(p))))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[a.name], strings.Join(pts, " "))
	}
}

// Axis limits: the top of a value axis leaves at least minHeadroom above
// the largest value, and the axis has at most maxTicks intervals.
const (
	minHeadroom = 0.03
	maxTicks    = 8
)

// axis returns the top of a value axis starting at 0 that holds values up
// to maxY, and the step between its ticks: the smallest step of 1, 2, 2.5
// or 5 times a power of ten for which top, the first multiple of step at
// least minHeadroom above maxY, takes at most maxTicks steps. So the data
// fills all but a little of the height: top−maxY is less than one step plus
// the headroom, and a step is at most a quarter of maxY or so.
func axis(maxY float64) (top, step float64) {
	if !(maxY > 0) || math.IsInf(maxY, 0) {
		return 1, 0.25
	}
	want := maxY * (1 + minHeadroom)
	p := math.Pow(10, math.Floor(math.Log10(want/maxTicks)))
	for {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step = m * p
			if top = math.Ceil(want/step) * step; top/step <= maxTicks+1e-9 {
				return top, step
			}
		}
		p *= 10
	}
}

// tickLabel formats the tick value v with as many decimals as step needs,
// so that labels read 0.5, 1, 1.5 rather than 1.5000000000000002.
func tickLabel(v, step float64) string {
	d := 0
	for scaled := step; d < 6 && math.Abs(scaled-math.Round(scaled)) > 1e-9*scaled; d++ {
		scaled *= 10
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}
