// Command pipeline runs the cascading-timeout pipeline of the pforge
// fault-tolerance guide, data_pipeline: a total budget of 30s shared by
// three steps (extract, transform, load) that have 10s each, with time
// compressed (-scale, real seconds per pipeline second).
//
//	go run ./examples/pipeline
//
// Each scenario prints, per step, the time the step was given (the smaller
// of its own limit and what is left of the pipeline's budget), the time it
// took and how it ended, then which scope fired:
//
//   - healthy: every step fits; nothing fires.
//   - transform hangs: the step's own 10s limit fires, and the error names
//     "transform".
//   - a retried extract eats the budget: the first extract attempt times
//     out, the second succeeds, so load is given only what is left of the
//     30s, not its own 10s; the error names "data_pipeline".
//   - the caller gives up first: a deadline the caller set (not this
//     pipeline) passes through as the caller's context.DeadlineExceeded,
//     not a timeout of the pipeline.
//
// The limits come from timeout.Pipeline; the retried step uses retry.Do
// with a per-attempt timeout.DoNamed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/timeout"
)

// The pforge configuration, in pipeline seconds.
const (
	pipelineName  = "data_pipeline"
	pipelineLimit = 30 * time.Second
	stepLimit     = 10 * time.Second
)

// scenario is how long each step's work takes, in pipeline seconds.
type scenario struct {
	name string
	// work per step; for a retried step, one duration per attempt.
	extract, transform, load []time.Duration
	// callerLimit, if set, is a deadline the caller puts on its own context.
	callerLimit time.Duration
}

func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

var scenarios = []scenario{
	{name: "healthy", extract: secs(3), transform: secs(4), load: secs(2)},
	{name: "transform hangs", extract: secs(3), transform: secs(60), load: secs(2)},
	{name: "a retried extract eats the budget", extract: secs(60, 6), transform: secs(9), load: secs(8)},
	{name: "the caller gives up first", extract: secs(5), transform: secs(8), load: secs(5), callerLimit: 15 * time.Second},
}

// stepReport is what one step was given and did.
type stepReport struct {
	timeout.StageResult               // Elapsed in pipeline seconds
	given               time.Duration // min(own limit, what was left) at the start
	attempts            int
}

// outcome is one scenario's run.
type outcome struct {
	steps []stepReport
	err   error
	scale float64
}

// fired names the scope whose deadline ended the run, or "" if the
// pipeline succeeded.
func (o outcome) fired() string {
	if o.err == nil {
		return ""
	}
	return o.describe(o.err)
}

// describe tells how a step or the run ended, limits in pipeline seconds.
func (o outcome) describe(err error) string {
	var te *timeout.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &te):
		return fmt.Sprintf("timeout.Error: scope %q, limit %v", te.Name, o.toStory(te.Limit))
	case errors.Is(err, context.DeadlineExceeded):
		return "the caller's own deadline (context.DeadlineExceeded, not a timeout.Error)"
	}
	return err.Error()
}

func (o outcome) toStory(d time.Duration) time.Duration {
	return time.Duration(float64(d) / o.scale).Round(100 * time.Millisecond)
}

// runScenario runs the pipeline with sc's work; scale is real seconds per
// pipeline second. Limits are scaled down and reports scaled back up.
func runScenario(ctx context.Context, sc scenario, scale float64) outcome {
	toReal := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	o := outcome{scale: scale}
	if sc.callerLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, toReal(sc.callerLimit))
		defer cancel()
	}
	given := map[string]time.Duration{}
	attempts := map[string]int{}
	stage := func(name string, work []time.Duration) timeout.Stage {
		attempt := func(ctx context.Context) (struct{}, error) {
			attempts[name]++
			return struct{}{}, sleep(ctx, toReal(work[attempts[name]-1]))
		}
		if len(work) == 1 {
			return timeout.Stage{Name: name, Limit: toReal(stepLimit), Run: func(ctx context.Context) error {
				given[name], _ = timeout.Remaining(ctx)
				_, err := attempt(ctx)
				return err
			}}
		}
		// A retried step: each attempt has the step's own limit, and all of
		// them share what is left of the pipeline's budget.
		policy := retry.Policy{MaxAttempts: len(work), Backoff: backoff.Policy{Initial: toReal(time.Second), Jitter: backoff.NoJitter}}
		return timeout.Stage{Name: name, Run: func(ctx context.Context) error {
			left, _ := timeout.Remaining(ctx)
			given[name] = min(left, toReal(stepLimit))
			_, err := retry.Do(ctx, policy, func(ctx context.Context) (struct{}, error) {
				return timeout.DoNamed(ctx, name, toReal(stepLimit), attempt)
			})
			return err
		}}
	}
	p := timeout.Pipeline{Name: pipelineName, Limit: toReal(pipelineLimit), Stages: []timeout.Stage{
		stage("extract", sc.extract),
		stage("transform", sc.transform),
		stage("load", sc.load),
	}}
	results, err := p.Run(ctx)
	o.err = err
	for _, r := range results {
		r.Elapsed = o.toStory(r.Elapsed)
		o.steps = append(o.steps, stepReport{StageResult: r, given: o.toStory(given[r.Name]), attempts: attempts[r.Name]})
	}
	return o
}

// sleep stands for work that takes d and watches ctx.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func report(w io.Writer, sc scenario, o outcome) {
	fmt.Fprintf(w, "\n== %s\n", sc.name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  step\tgiven\ttook\tattempts\tresult")
	for _, s := range o.steps {
		fmt.Fprintf(tw, "  %s\t%v\t%v\t%d\t%s\n", s.Name, s.given, s.Elapsed, s.attempts, o.describe(s.Err))
	}
	tw.Flush()
	if f := o.fired(); f != "" {
		fmt.Fprintf(w, "  scope that fired: %s\n", f)
	} else {
		fmt.Fprintln(w, "  completed within every limit")
	}
}

func main() {
	fs := flag.NewFlagSet("pipeline", flag.ExitOnError)
	scale := fs.Float64("scale", 0.05, "real seconds per pipeline second")
	fs.Parse(os.Args[1:])
	if !(*scale > 0 && *scale <= 1) {
		fmt.Fprintln(os.Stderr, "pipeline: -scale must be in (0, 1]")
		os.Exit(2)
	}
	fmt.Printf("%s: %v in total; extract, transform, load: %v each (time runs %.0fx faster)\n",
		pipelineName, pipelineLimit, stepLimit, 1 / *scale)
	for _, sc := range scenarios {
		report(os.Stdout, sc, runScenario(context.Background(), sc, *scale))
	}
}
