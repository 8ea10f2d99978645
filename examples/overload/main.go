// Command overload simulates four overload scenarios with this module's
// packages making the decisions, and prints what happened; with -svg it
// also draws the charts.
//
//	go run ./examples/overload                       # the tables
//	go run ./examples/overload -svg examples/overload  # and storm.svg, drop.svg, fairness.svg, server.svg
//	go run ./examples/overload -scenario storm -seed 7
//
// # Scenarios
//
// storm: a retry storm, the metastable failure of Bronson et al. (HotOS
// 2021) and Huang et al. (OSDI 2022). A server of 10 workers (1000 requests
// a second) behind a queue of 1500 serves clients sending 800 a second,
// each attempt timing out after 1s; for 10s (from 10s to 20s) its workers
// slow to half speed. The server cannot tell that a client has given up and
// serves stale requests to the end. Clients with naive retries (3 attempts,
// retry's default backoff) turn the queue into a standing one that outlives
// the trigger: every attempt waits longer than its timeout, every timeout
// is retried, and the server spends all its work on requests nobody is
// waiting for. The same clients behind a retry.Budget, or behind a
// throttle.Throttle (retrying throttled attempts like any other failure),
// let the queue drain once the trigger ends and recover within seconds.
//
// drop: a capacity drop under a static and an adaptive concurrency limit.
// A backend of 10 workers (8 to 12ms a request: 1000 a second) serves 700
// requests a second; from 20s to 40s six workers are gone (400 a second).
// The bulkhead at the pforge defaults (10 at once, 100 queued) keeps
// admitting 10 and queues 100 more, so every request waits a quarter of a
// second: p99 latency 17 times the p99 before the drop. The adaptive
// limit.Limiter, with Gradient2 or Vegas at their defaults, finds within
// two seconds the concurrency the smaller backend can take and sheds the
// rest at once; from then on its p99 stays within 2 times the p99 before
// the drop (1.6 to 1.9 over seeds 1 to 4), for the same goodput.
//
// fairness: one abusive client (1000 requests a second) and ten polite ones
// (10 each) share a server that can serve 200 a second. Without a limit the
// abuser fills the queue and the polite clients' requests are refused or
// time out; one global ratelimit.Limiter protects the server but hands most
// of its tokens to the abuser; a ratelimit.Group keyed by client (20 a
// second each) serves every polite request and holds the abuser to its 20.
//
// server: a server that serves 10 requests at once for 10ms each (1000 a
// second) is offered 1500 a second by clients of three priorities
// (critical 20%, default 40%, sheddable 40%), each giving up after 1s and
// telling the server nothing of it. The server is middleware's
// Recovery.Handler. In front of a bulkhead with a queue that never fills
// (FIFO, no shedding) the queue grows by 500 requests a second: after two
// seconds every answer comes after its client left, and goodput (answers
// within the client's timeout) is 10% of the capacity over the 30s, none
// after the third second. With middleware's Shedder instead (CoDel and
// adaptive LIFO by priority, at its defaults) goodput stays at the
// capacity, no answer comes late, and the higher priorities are served
// first: 99% of the critical requests are answered in time, 89% of the
// default ones and 28% of the sheddable ones.
//
// # Virtual time
//
// The scenarios are discrete-event simulations, and the packages they use
// read the clock: x/time/rate's token bucket (ratelimit) calls time.Now, the
// retry budget's floor is a token bucket on time.Now, and the throttle's
// window turns on a runtime timer. Rather than re-implement those parts
// against a simulated clock, the program runs each scenario inside a
// testing/synctest bubble, where time.Now, timers and time.AfterFunc follow
// a fake clock that only moves when every goroutine of the bubble is
// blocked. The simulation is one goroutine that sleeps until each next
// event, so a minute of virtual time passes in milliseconds and every run
// with the same seed gives the same numbers. In the server scenario each
// request runs Recovery.Handler on a goroutine of its own, as in net/http,
// and the simulation waits (synctest.Wait) after each of its actions until
// every request goroutine is blocked again; its actions fall on a grid of
// 7µs that the Shedder's timers never hit (see server.go), so no outcome
// depends on which of two goroutines woken at one instant runs first. A bubble needs a *testing.T,
// so main starts the scenarios through testing.Main, the entry point the
// testing package keeps for programs that run tests themselves; the tests
// of this package run the same scenarios in their own bubbles.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(2)
	}
	// testing.Main parses the command line for its own flags: ours are
	// read already.
	os.Args = os.Args[:1]
	testing.Main(func(string, string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: "overload", F: func(t *testing.T) {
			var res results
			synctest.Test(t, func(*testing.T) { res = simulate(opts) })
			if err := report(os.Stdout, opts, res); err != nil {
				fmt.Fprintln(os.Stderr, "overload:", err)
				os.Exit(1)
			}
			os.Exit(0) // before testing prints its own verdict
		}}}, nil, nil)
}

type options struct {
	scenarios map[string]bool
	seed      uint64
	svgDir    string
}

var scenarioNames = []string{"storm", "drop", "fairness", "server"}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("overload", flag.ContinueOnError)
	svgDir := fs.String("svg", "", "directory to write the charts to as SVG (empty: no charts)")
	seed := fs.Uint64("seed", 1, "seed of every random stream")
	which := fs.String("scenario", "all", "scenarios to run, comma-separated: "+strings.Join(scenarioNames, ", ")+", or all")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := options{scenarios: map[string]bool{}, seed: *seed, svgDir: *svgDir}
	for f := range strings.SplitSeq(*which, ",") {
		f = strings.TrimSpace(f)
		if f == "all" {
			for _, n := range scenarioNames {
				o.scenarios[n] = true
			}
			continue
		}
		known := false
		for _, n := range scenarioNames {
			known = known || n == f
		}
		if !known {
			return options{}, fmt.Errorf("-scenario: unknown scenario %q (want %s or all)", f, strings.Join(scenarioNames, ", "))
		}
		o.scenarios[f] = true
	}
	return o, nil
}

// results holds every scenario's runs, one per variant.
type results struct {
	storm    []stormRun
	drop     []dropRun
	fairness []fairRun
	server   []serverRun
}

// simulate runs the chosen scenarios. It must run inside a synctest bubble.
func simulate(o options) results {
	var res results
	if o.scenarios["storm"] {
		for _, v := range stormVariants {
			res.storm = append(res.storm, runStorm(v, o.seed))
		}
	}
	if o.scenarios["drop"] {
		for _, v := range dropVariants {
			res.drop = append(res.drop, runDrop(v, o.seed))
		}
	}
	if o.scenarios["fairness"] {
		for _, v := range fairVariants {
			res.fairness = append(res.fairness, runFairness(v, o.seed))
		}
	}
	if o.scenarios["server"] {
		for _, v := range serverVariants {
			res.server = append(res.server, runServer(v, o.seed))
		}
	}
	return res
}

// report prints the tables and writes the charts.
func report(w io.Writer, o options, res results) error {
	charts := map[string]string{}
	if res.storm != nil {
		printStorm(w, res.storm)
		charts["storm.svg"] = stormChart(res.storm)
	}
	if res.drop != nil {
		printDrop(w, res.drop)
		charts["drop.svg"] = dropChart(res.drop)
	}
	if res.fairness != nil {
		printFairness(w, res.fairness)
		charts["fairness.svg"] = fairnessChart(res.fairness)
	}
	if res.server != nil {
		printServer(w, res.server)
		charts["server.svg"] = serverChart(res.server)
	}
	if o.svgDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.svgDir, 0o755); err != nil {
		return err
	}
	for _, name := range sortedKeys(charts) {
		path := filepath.Join(o.svgDir, name)
		if err := os.WriteFile(path, []byte(charts[name]), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "chart written to %s\n", path)
	}
	return nil
}
