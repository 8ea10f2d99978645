package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Pipeline runs named stages one after another under a total time budget,
// each stage also under its own limit: a stage gets the smaller of its
// Limit and what is left of the budget (and of any scope enclosing the
// pipeline). A stage that runs out of the pipeline's budget fails with a
// *Error naming the pipeline; one that runs out of its own limit, with a
// *Error naming the stage.
type Pipeline struct {
	Name   string        // names the budget in errors
	Limit  time.Duration // the total budget; must be positive
	Stages []Stage
}

// Stage is one step of a Pipeline.
type Stage struct {
	Name  string                          // names the stage in errors and results
	Limit time.Duration                   // the stage's own limit; 0 means only the pipeline's budget applies
	Run   func(ctx context.Context) error // the work; it must watch ctx
}

// StageResult reports how one stage went.
type StageResult struct {
	Name    string
	Elapsed time.Duration
	Err     error
}

// Validate reports the first invalid field of p, naming it. The error
// matches ErrInvalidLimit for a bad limit.
func (p Pipeline) Validate() error {
	if p.Limit <= 0 {
		return invalidLimit("Pipeline.Limit", p.Limit)
	}
	for i, s := range p.Stages {
		switch {
		case s.Limit < 0:
			return invalidLimit(fmt.Sprintf("Pipeline.Stages[%d].Limit", i), s.Limit)
		case s.Run == nil:
			return fmt.Errorf("timeout: Pipeline.Stages[%d].Run is nil", i)
		}
	}
	return nil
}

// Run validates p, then runs its stages in order until one fails or the
// budget is spent, and returns a result for every stage that started and
// the first error (nil if all succeeded). Stages after a failure do not
// run. The caller's cancellation passes through unchanged, as in Do.
func (p Pipeline) Run(ctx context.Context) ([]StageResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	results := make([]StageResult, 0, len(p.Stages))
	_, err := DoNamed(ctx, p.Name, p.Limit, func(ctx context.Context) (struct{}, error) {
		for _, s := range p.Stages {
			if err := ctx.Err(); err != nil {
				return struct{}{}, err
			}
			start := time.Now()
			err := runStage(ctx, s)
			results = append(results, StageResult{Name: s.Name, Elapsed: time.Since(start), Err: err})
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return results, err
}

func runStage(ctx context.Context, s Stage) error {
	if s.Limit > 0 {
		_, err := DoNamed(ctx, s.Name, s.Limit, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, s.Run(ctx)
		})
		return err
	}
	err := s.Run(ctx)
	if ctx.Err() == context.DeadlineExceeded {
		// The stage has no deadline of its own: name the enclosing scope
		// whose deadline fired, if any.
		var inner *Error
		if errors.As(err, &inner) {
			return err
		}
		dl, _ := ctx.Deadline()
		if terr := scopeError(ctx, dl, err); terr != nil {
			return terr
		}
	}
	return err
}
