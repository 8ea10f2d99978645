package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

var stormPhases = []struct {
	name     string
	from, to time.Duration
}{
	{"before (0-10s)", 0, stormTrigger},
	{"trigger (10-20s)", stormTrigger, stormTriggerEnd},
	{"after (20-30s)", stormTriggerEnd, stormTriggerEnd + 10*time.Second},
	{"late (50-60s)", stormLength - 10*time.Second, stormLength},
}

func printStorm(w io.Writer, runs []stormRun) {
	fmt.Fprintf(w, "retry storm: %d req/s offered to a server of %d/s, capacity halved from %v to %v\n\n",
		stormRate, int(stormWorkers*time.Second/stormService), stormTrigger, stormTriggerEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "clients\tphase\tgoodput/s\tp99 latency\tattempts/s at server\twasted/s\t\n")
	for _, r := range runs {
		for _, ph := range stormPhases {
			p := r.phase(ph.from, ph.to)
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%.0f\t%.0f\t\n", r.variant, ph.name, p.goodput, ms(p.p99), p.sent, p.wasted)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "clients\trecovered (goodput back to 90% for good)\t\n")
	for _, r := range runs {
		rec := "never"
		if d := r.recovery(); d >= 0 {
			rec = fmt.Sprintf("%v after the trigger", d)
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", r.variant, rec)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func stormChart(runs []stormRun) string {
	var good, p99 []series
	for i, r := range runs {
		g := series{name: r.variant, color: palette[i]}
		l := series{name: r.variant, color: palette[i]}
		for _, s := range r.secs {
			g.values = append(g.values, float64(s.good))
			l.values = append(l.values, float64(percentile(s.latency, 0.99))/float64(time.Millisecond))
		}
		good, p99 = append(good, g), append(p99, l)
	}
	return lineChart("Retry storm: capacity halved from 10s to 20s (shaded)",
		stormTrigger.Seconds(), stormTriggerEnd.Seconds(),
		panel{title: "goodput (requests served in time per second)", unit: "requests/s", series: good},
		panel{title: "p99 latency of successful requests", unit: "ms (log)", logY: true, series: p99})
}

func printFairness(w io.Writer, runs []fairRun) {
	fmt.Fprintf(w, "fairness: one client at %d req/s and %d at %d req/s each, server capacity %d/s\n\n",
		fairAbuser, fairPolite, fairPerPolit, int(fairWorkers*time.Second/fairService))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "server\tpolite served\tworst polite client\tpolite p99\tabuser served/s\tabuser limited\t\n")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.1f%%\t%s\t%.0f\t%.1f%%\t\n", r.variant,
			100*float64(r.polite.ok)/float64(r.polite.sent), 100*r.worst, ms(r.p99),
			float64(r.abuser.ok)/fairLength.Seconds(), 100*float64(r.abuser.limited)/float64(r.abuser.sent))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func fairnessChart(runs []fairRun) string {
	var cats []string
	served := series{name: "polite requests served (%)", color: palette[2]}
	worst := series{name: "worst polite client (%)", color: palette[1]}
	abuser := series{name: "abuser requests served (%)", color: palette[0]}
	for _, r := range runs {
		cats = append(cats, r.variant)
		served.values = append(served.values, 100*float64(r.polite.ok)/float64(r.polite.sent))
		worst.values = append(worst.values, 100*r.worst)
		abuser.values = append(abuser.values, 100*float64(r.abuser.ok)/float64(r.abuser.sent))
	}
	return barChart("Rate limit fairness: 1 client at 1000/s, 10 at 10/s, server 200/s", "% of requests served in time", cats, 100, []series{served, worst, abuser})
}

var dropPhases = []struct {
	name     string
	from, to time.Duration
}{
	{"before (5-20s)", dropWarmup, dropStart},
	{"drop (20-40s)", dropStart, dropEnd},
	{"drop, settled (23-40s)", dropStart + dropSettle, dropEnd},
	{"after (40-60s)", dropEnd, dropLength},
}

func printDrop(w io.Writer, runs []dropRun) {
	fmt.Fprintf(w, "capacity drop: %d req/s to a backend of %d workers (%d/s), %d workers from %v to %v\n\n",
		dropRate, dropWorkers, int(dropWorkers*time.Second/dropService), dropReduced, dropStart, dropEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "admission\tphase\tgoodput/s\tshed/s\tp99 latency\tp99 / p99 before\t\n")
	for _, r := range runs {
		before := r.phase(dropWarmup, dropStart).p99
		for _, ph := range dropPhases {
			p := r.phase(ph.from, ph.to)
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%.2f\t\n", r.variant, ph.name, p.goodput, p.shed, ms(p.p99), float64(p.p99)/float64(before))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func dropChart(runs []dropRun) string {
	var good, p99, lim []series
	for i, r := range runs {
		g := series{name: r.variant, color: palette[i]}
		l := series{name: r.variant, color: palette[i]}
		c := series{name: r.variant, color: palette[i]}
		for _, s := range r.secs {
			g.values = append(g.values, float64(s.good))
			l.values = append(l.values, float64(percentile(s.latency, 0.99))/float64(time.Millisecond))
			c.values = append(c.values, float64(s.limit))
		}
		good, p99, lim = append(good, g), append(p99, l), append(lim, c)
	}
	return lineChart("Capacity drop: 6 of 10 workers gone from 20s to 40s (shaded)",
		dropStart.Seconds(), dropEnd.Seconds(),
		panel{title: "goodput (requests served per second)", unit: "requests/s", series: good},
		panel{title: "p99 latency", unit: "ms (log)", logY: true, series: p99},
		panel{title: "concurrency limit", unit: "requests at once", series: lim})
}

func printServer(w io.Writer, runs []serverRun) {
	fmt.Fprintf(w, "server overload: %d req/s offered to a server of %d at once, %v each (%d/s); clients give up after %v\n\n",
		serverRate, serverWorkers, serverService, serverCapacity, serverTimeout)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "server\tpriority\toffered/s\tgoodput/s\tanswered in time\tanswered late\tshed\tp99 in time\t\n")
	for _, r := range runs {
		for i, c := range r.classes {
			printServerRow(tw, r.variant, serverPriorities[i].name, c)
		}
		printServerRow(tw, r.variant, "all", r.total())
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "server\tgoodput / capacity\tserver time spent on late answers\t\n")
	for _, r := range runs {
		t := r.total()
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.1f%%\t\n", r.variant, 100*t.goodput()/float64(serverCapacity),
			100*float64(t.late)/float64(t.late+t.good))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printServerRow prints one priority's requests: how many a second, and
// the shares of them that were answered in time, answered late and shed.
func printServerRow(w io.Writer, variant, priority string, c serverClass) {
	share := func(n int) float64 { return 100 * float64(n) / float64(max(c.sent, 1)) }
	fmt.Fprintf(w, "%s\t%s\t%.0f\t%.0f\t%.1f%%\t%.1f%%\t%.1f%%\t%s\t\n", variant, priority,
		float64(c.sent)/serverLength.Seconds(), c.goodput(), share(c.good), share(c.late), share(c.shed),
		ms(percentile(c.latency, 0.99)))
}

func serverChart(runs []serverRun) string {
	var good, p99, byPriority []series
	for i, r := range runs {
		g := series{name: r.variant, color: palette[i]}
		l := series{name: r.variant, color: palette[i]}
		for _, s := range r.secs {
			total := 0
			for _, n := range s.good {
				total += n
			}
			g.values = append(g.values, float64(total))
			l.values = append(l.values, float64(percentile(s.latency, 0.99))/float64(time.Millisecond))
		}
		good, p99 = append(good, g), append(p99, l)
		if r.variant != "Shedder" {
			continue
		}
		for p, pr := range serverPriorities {
			s := series{name: "Shedder, " + pr.name, color: palette[2+p]}
			for _, sec := range r.secs {
				s.values = append(s.values, float64(sec.good[p]))
			}
			byPriority = append(byPriority, s)
		}
	}
	return lineChart(fmt.Sprintf("Server overload: %d%% of capacity offered, clients give up after %v", 100*serverRate/serverCapacity, serverTimeout),
		0, 0,
		panel{title: "goodput (answers in time per second)", unit: "requests/s", maxY: 1.2 * float64(serverCapacity), series: good},
		panel{title: "p99 latency of the answers", unit: "ms (log)", logY: true, series: p99},
		panel{title: "the Shedder's goodput by priority", unit: "requests/s", series: byPriority})
}
