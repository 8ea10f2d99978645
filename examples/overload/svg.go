package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// series is one line of a chart: a value per second.
type series struct {
	name   string
	color  string
	values []float64
}

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#7f7f7f"}

// lineChart draws panels side by side, each a line chart of its series
// against time in seconds, with the interval [shadeFrom, shadeTo) shaded
// (the trigger; shadeTo ≤ shadeFrom for none), as an SVG document.
func lineChart(title string, shadeFrom, shadeTo float64, panels ...panel) string {
	var b strings.Builder
	w := 60 + 480*len(panels)
	const h = 430
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">%s</text>`+"\n", w/2, escape(title))
	for i, p := range panels {
		p.draw(&b, 70+i*480, 50, shadeFrom, shadeTo)
	}
	for i, s := range legend(panels) {
		x := 70 + i*200
		fmt.Fprintf(&b, `<line x1="%d" y1="410" x2="%d" y2="410" stroke="%s" stroke-width="3"/><text x="%d" y="414">%s</text>`+"\n", x, x+24, s.color, x+30, escape(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// legend returns the series of every panel, each name once, in the order
// they first appear.
func legend(panels []panel) []series {
	var all []series
	for _, p := range panels {
		for _, s := range p.series {
			if !slices.ContainsFunc(all, func(a series) bool { return a.name == s.name }) {
				all = append(all, s)
			}
		}
	}
	return all
}

type panel struct {
	title  string
	unit   string // y axis label
	logY   bool
	maxY   float64 // the top of a linear y axis; 0: the largest value, rounded up
	series []series
}

// top returns the top of p's y axis, given the largest value drawn.
func (p panel) top(largest float64) float64 {
	if p.maxY > 0 && !p.logY {
		return p.maxY
	}
	return niceCeil(largest)
}

func (p panel) draw(b *strings.Builder, x0, y0 int, shadeFrom, shadeTo float64) {
	const pw, ph = 400, 300
	n, maxY, minY := 0, 0.0, math.Inf(1)
	for _, s := range p.series {
		n = max(n, len(s.values))
		for _, v := range s.values {
			maxY = math.Max(maxY, v)
			if v > 0 {
				minY = math.Min(minY, v)
			}
		}
	}
	maxY = p.top(maxY)
	lo := 0.0
	if p.logY {
		if math.IsInf(minY, 1) { // nothing positive to draw
			minY = 1
		}
		lo = math.Pow(10, math.Floor(math.Log10(math.Max(minY, 1e-9))))
		maxY = math.Pow(10, math.Ceil(math.Log10(math.Max(maxY, lo*10))))
	}
	px := func(t float64) float64 { return float64(x0) + t/float64(max(n, 1))*pw }
	py := func(v float64) float64 {
		if p.logY {
			v = math.Max(v, lo)
			return float64(y0+ph) - (math.Log10(v)-math.Log10(lo))/(math.Log10(maxY)-math.Log10(lo))*ph
		}
		return float64(y0+ph) - v/maxY*ph
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+pw/2, y0, escape(p.title))
	if shadeTo > shadeFrom {
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f3e0e0"/>`+"\n", px(shadeFrom), y0+10, px(shadeTo)-px(shadeFrom), ph-10)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", x0, y0+10, pw, ph-10)
	ticks := []float64{0, maxY / 4, maxY / 2, 3 * maxY / 4, maxY}
	if p.logY {
		ticks = nil
		for v := lo; v <= maxY*1.001; v *= 10 {
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := py(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0, y, x0+pw, y, x0-4, y+4, label(v))
	}
	for t := 0; t <= n; t += 10 {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", px(float64(t)), y0+ph+16, t)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">time (s)</text>`+"\n", x0+pw/2, y0+ph+32)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>`+"\n", x0-48, y0+ph/2, x0-48, y0+ph/2, escape(p.unit))
	for _, s := range p.series {
		var pts []string
		for t, v := range s.values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(t)+0.5), py(v)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
	}
}

// barChart draws groups of bars (one group per category, one bar per
// series) with values in [0, maxY], as an SVG document.
func barChart(title, unit string, categories []string, maxY float64, bars []series) string {
	var b strings.Builder
	const w, h = 760, 430
	const x0, y0, pw, ph = 80, 50, 640, 300
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">%s</text>`+"\n", w/2, escape(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", x0, y0, pw, ph)
	py := func(v float64) float64 { return float64(y0+ph) - v/maxY*ph }
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0, py(v), x0+pw, py(v), x0-4, py(v)+4, label(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>`+"\n", x0-50, y0+ph/2, x0-50, y0+ph/2, escape(unit))
	gw := float64(pw) / float64(len(categories))
	bw := gw * 0.8 / float64(len(bars))
	for c, name := range categories {
		gx := float64(x0) + gw*float64(c) + gw*0.1
		for i, s := range bars {
			v := math.Min(s.values[c], maxY)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", gx+bw*float64(i), py(v), bw-2, float64(y0+ph)-py(v), s.color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%s</text>`+"\n", gx+bw*(float64(i)+0.5), py(v)-3, label(s.values[c]))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx+gw*0.4, y0+ph+18, escape(name))
	}
	for i, s := range bars {
		x := x0 + i*220
		fmt.Fprintf(&b, `<rect x="%d" y="402" width="24" height="10" fill="%s"/><text x="%d" y="411">%s</text>`+"\n", x, s.color, x+30, escape(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func label(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
