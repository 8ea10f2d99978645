// Command sessionpipe is a Fustor-style session pipe, resilient end to end:
// agents deliver file events to a fusion server over HTTP, and outages,
// restarts and a lost leader cost nothing.
//
// Run with no arguments, it plays the whole story in one process on
// 127.0.0.1 in about 25 seconds (time runs faster; -scale changes by how
// much):
//
//	go run ./examples/sessionpipe
//
// and prints a timeline: two agents open sessions (the first is the pipe's
// leader), skip heartbeats while their pushes are acknowledged, ride out a
// 150 s outage (503s, exponential backoff 5/10/20/40/60 s, a breaker that
// opens, probes half-open and closes, the status "degraded" after 5 errors,
// a spool that holds events and slows the producers), reconnect at once when
// a restarted fusion answers "session obsolete", and promote the follower
// when the leader stops. The verdict compares the fusion view with every
// event produced; the program exits 1 if anything was lost.
//
// The parts also run as separate processes:
//
//	sessionpipe fusion -addr 127.0.0.1:8080 -session-timeout 30s
//	sessionpipe agent -fusion http://127.0.0.1:8080 -config agent-pipes-config/my-pipe.yaml
//
// The agent reads a Fustor agent-pipes-config file (see
// agent-pipes-config/my-pipe.yaml, with the guide's values); an unknown key
// or a bad value is reported with its name and line.
//
// The server lives in internal/fusion, the agent in internal/agent.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to the demo or a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "fusion":
			return runFusion(ctx, args[1:], stdout, stderr)
		case "agent":
			return runAgent(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("sessionpipe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.Float64("scale", defaultScale, "real seconds per story second (smaller is faster)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sessionpipe [-scale S] | sessionpipe fusion -addr ADDR [-session-timeout D] | sessionpipe agent -fusion URL -config FILE\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || !(*scale > 0 && *scale <= 10) {
		fs.Usage()
		return 2
	}
	v, err := runDemo(ctx, stdout, *scale)
	if err != nil {
		fmt.Fprintln(stderr, "sessionpipe:", err)
		return 1
	}
	if !v.ok() {
		return 1
	}
	return 0
}
