package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

var colors = map[string]string{
	noHedge.name:  "#7f7f7f",
	fixed.name:    "#1f77b4",
	adaptive.name: "#2ca02c",
	budgeted.name: "#ff7f0e",
	adaptB.name:   "#9467bd",
}

// chart draws one panel per scenario: p50, p99 and p99.9 of each strategy
// as bars on a log scale, with the extra requests under each group.
func chart(res []outcome) string {
	var b strings.Builder
	const w, h = 1080, 440
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">Hedged requests against a heavy tail: latency quantiles (log scale) and extra requests</text>`+"\n", w/2)
	var names []string
	groups := map[string][]outcome{}
	for _, o := range res {
		if _, ok := groups[o.scenario]; !ok {
			names = append(names, o.scenario)
		}
		groups[o.scenario] = append(groups[o.scenario], o)
	}
	x := 70
	for _, n := range names {
		pw := 60 + 56*len(groups[n])
		panel(&b, x, 50, pw, n, groups[n])
		x += pw + 60
	}
	legend := []string{noHedge.name, fixed.name, adaptive.name, budgeted.name, adaptB.name}
	for i, n := range legend {
		lx := 70 + i*200
		fmt.Fprintf(&b, `<rect x="%d" y="412" width="14" height="14" fill="%s"/><text x="%d" y="424">%s</text>`+"\n", lx, colors[n], lx+20, n)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// panel draws one scenario with its top-left corner at (x0, y0).
func panel(b *strings.Builder, x0, y0, pw int, title string, res []outcome) {
	const ph = 300
	lo, hi := math.Log10(1), math.Log10(10_000) // 1ms to 10s
	py := func(d time.Duration) float64 {
		v := math.Log10(max(float64(d)/float64(time.Millisecond), 1))
		return float64(y0+ph) - (min(v, hi)-lo)/(hi-lo)*(ph-20)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+pw/2, y0, title)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", x0, y0+10, pw, ph-10)
	for _, t := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second} {
		y := py(t)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%v</text>`+"\n", x0, y, x0+pw, y, x0-4, y+4, t)
	}
	for i, o := range res {
		gx := x0 + 30 + i*56
		for j, q := range []float64{0.5, 0.99, 0.999} {
			y := py(o.quantile(q))
			opacity := []float64{0.45, 0.7, 1}[j]
			fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="14" height="%.1f" fill="%s" fill-opacity="%.2f"><title>%s p%v: %v</title></rect>`+"\n",
				gx+j*15, y, float64(y0+ph)-y, colors[o.strategy.name], opacity, o.strategy.name, q*100, o.quantile(q).Round(time.Microsecond*100))
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">+%.1f%%</text>`+"\n", gx+22, y0+ph+16, 100*o.extra())
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">bars: p50, p99, p99.9; under them: extra requests</text>`+"\n", x0+pw/2, y0+ph+34)
}
