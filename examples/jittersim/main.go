// Command jittersim reproduces the simulation of Marc Brooker's
// "Exponential Backoff and Jitter" (AWS Architecture Blog, 2015) with this
// module's backoff package.
//
// N clients start together and each wants to update the same row once,
// guarded by optimistic concurrency: read the row's version, write
// expecting that version, and on a conflict back off and start over. The
// network adds a delay of 10ms ± 2ms each way; backoff starts at 5ms and is
// capped at 2s. For each algorithm and number of clients the program
// averages, over many runs, the total calls (conditional writes the server
// handled: the work) and the time until the last client succeeded.
//
//	go run ./examples/jittersim                  # table, and docs/jitter.svg
//	go run ./examples/jittersim -svg out.svg -runs 200 -clients 10,50,100
//
// # Results against the published conclusions
//
// The run committed as jitter.svg (100 runs, 5 to 100 clients) agrees with
// the post on every point it makes:
//
//   - Without backoff the work grows with the square of the clients: every
//     round, every remaining client writes and one wins.
//   - Exponential backoff without jitter barely helps: the clients stay in
//     lockstep, conflict again on every retry, and do almost as many calls
//     as no backoff at all, while taking far longer to finish.
//   - Full jitter and decorrelated jitter cut the work by an order of
//     magnitude at 100 clients (calls grow about linearly) and finish
//     sooner than no-jitter backoff.
//   - Equal jitter lies in between: it keeps half of every delay fixed, so
//     it does more calls than full jitter and takes longer.
//
// Between full and decorrelated jitter the numbers are close, as in the
// post; which one does less work depends on the cap and the contention.
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// algorithm is one way to wait after a conflict.
type algorithm struct {
	name   string
	backed bool // false: retry at once
	jitter jitter
}

var algorithms = []algorithm{
	{name: "no backoff"},
	{name: "no jitter", backed: true, jitter: noJitter},
	{name: "equal jitter", backed: true, jitter: equalJitter},
	{name: "full jitter", backed: true, jitter: fullJitter},
	{name: "decorrelated", backed: true, jitter: decorrelatedJitter},
}

// The published parameters.
const (
	base     = 5 * time.Millisecond
	capDelay = 2 * time.Second
)

// delaysOf returns a factory of per-client delay schedules for alg, or nil
// when alg retries at once.
func delaysOf(alg algorithm) func() func() time.Duration {
	if !alg.backed {
		return nil
	}
	return func() func() time.Duration { return newSchedule(alg.jitter, base, capDelay) }
}

// point is the average over runs for one algorithm and client count.
type point struct {
	clients int
	calls   float64
	time    time.Duration
}

// run simulates every algorithm for every client count.
func run(clients []int, runs int, seed uint64) map[string][]point {
	out := make(map[string][]point)
	for i, alg := range algorithms {
		newDelays := delaysOf(alg)
		for _, n := range clients {
			net := network{mean: 10 * time.Millisecond, sd: 2 * time.Millisecond, r: rand.New(rand.NewPCG(seed, uint64(i*1000+n)))}
			var calls int
			var total time.Duration
			for range runs {
				o := simulate(n, net, newDelays)
				calls += o.calls
				total += o.done
			}
			out[alg.name] = append(out[alg.name], point{clients: n, calls: float64(calls) / float64(runs), time: total / time.Duration(runs)})
		}
	}
	return out
}

func main() {
	if err := mainErr(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jittersim:", err)
		os.Exit(2)
	}
}

func mainErr(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("jittersim", flag.ContinueOnError)
	svgPath := fs.String("svg", "docs/jitter.svg", "where to write the chart (empty: no chart)")
	runs := fs.Int("runs", 100, "runs averaged per point")
	list := fs.String("clients", "5,10,20,30,40,50,60,70,80,90,100", "comma-separated client counts")
	seed := fs.Uint64("seed", 1, "seed of the simulated network")
	if err := fs.Parse(args); err != nil {
		return err
	}
	clients, err := parseClients(*list)
	if err != nil {
		return err
	}
	if *runs < 1 || *runs > 100_000 {
		return fmt.Errorf("-runs must be in [1, 100000], got %d", *runs)
	}
	res := run(clients, *runs, *seed)
	printTable(stdout, clients, res)
	if *svgPath == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(*svgPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*svgPath, []byte(chart(res)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chart written to %s\n", *svgPath)
	return nil
}

func parseClients(list string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("-clients: %q is not a count in [1, 1000]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func printTable(w io.Writer, clients []int, res map[string][]point) {
	for _, table := range []struct {
		title string
		cell  func(point) string
	}{
		{"total calls (mean per run)", func(p point) string { return fmt.Sprintf("%.0f", p.calls) }},
		{"completion time (mean per run)", func(p point) string { return p.time.Round(time.Millisecond).String() }},
	} {
		fmt.Fprintln(w, table.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "clients\t")
		for _, a := range algorithms {
			fmt.Fprintf(tw, "%s\t", a.name)
		}
		fmt.Fprintln(tw)
		for i, n := range clients {
			fmt.Fprintf(tw, "%d\t", n)
			for _, a := range algorithms {
				fmt.Fprintf(tw, "%s\t", table.cell(res[a.name][i]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}
