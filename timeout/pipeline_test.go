package timeout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// stage returns a Stage named name, limited to limit, that takes d.
func stage(name string, limit, d time.Duration) Stage {
	return Stage{Name: name, Limit: limit, Run: func(ctx context.Context) error { return waitFor(ctx, d) }}
}

// TestPipeline runs the pforge pipeline (30s in total, 10s per step) with
// steps of various lengths.
func TestPipeline(t *testing.T) {
	const total, step = 30 * time.Second, 10 * time.Second
	errBad := errors.New("bad record")
	tests := []struct {
		name        string
		stages      []Stage
		wantElapsed []time.Duration // per stage that started
		wantName    string          // scope named by the timeout; "" for none
		wantLimit   time.Duration
		wantErr     error // a non-timeout error, compared with ==
	}{
		{
			name:        "all in time",
			stages:      []Stage{stage("extract", step, 4*time.Second), stage("transform", step, 6*time.Second), stage("load", step, 3*time.Second)},
			wantElapsed: []time.Duration{4 * time.Second, 6 * time.Second, 3 * time.Second},
		},
		{
			name:        "a step exceeds its limit",
			stages:      []Stage{stage("extract", step, 4*time.Second), stage("transform", step, time.Hour), stage("load", step, 3*time.Second)},
			wantElapsed: []time.Duration{4 * time.Second, step},
			wantName:    "transform", wantLimit: step,
		},
		{
			name:        "the budget runs out",
			stages:      []Stage{stage("extract", step, 9*time.Second), stage("transform", step, 9*time.Second), stage("load", 15*time.Second, 14*time.Second)},
			wantElapsed: []time.Duration{9 * time.Second, 9 * time.Second, 12 * time.Second},
			wantName:    "data_pipeline", wantLimit: total,
		},
		{
			name:        "a step with no limit of its own",
			stages:      []Stage{stage("extract", step, 9*time.Second), stage("wait", 0, time.Hour)},
			wantElapsed: []time.Duration{9 * time.Second, 21 * time.Second},
			wantName:    "data_pipeline", wantLimit: total,
		},
		{
			name: "a step fails",
			stages: []Stage{stage("extract", step, time.Second), {Name: "transform", Limit: step, Run: func(context.Context) error {
				time.Sleep(2 * time.Second)
				return errBad
			}}, stage("load", step, time.Second)},
			wantElapsed: []time.Duration{time.Second, 2 * time.Second},
			wantErr:     errBad,
		},
		{
			name:        "no stages",
			wantElapsed: []time.Duration{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := Pipeline{Name: "data_pipeline", Limit: total, Stages: tt.stages}
				results, err := p.Run(context.Background())
				if len(results) != len(tt.wantElapsed) {
					t.Fatalf("%d results, want %d: %+v", len(results), len(tt.wantElapsed), results)
				}
				for i, r := range results {
					if r.Name != tt.stages[i].Name || r.Elapsed != tt.wantElapsed[i] {
						t.Errorf("result %d = %s %v, want %s %v", i, r.Name, r.Elapsed, tt.stages[i].Name, tt.wantElapsed[i])
					}
					if last := i == len(results)-1; (r.Err != nil) != (last && err != nil) {
						t.Errorf("result %d: Err = %v", i, r.Err)
					}
				}
				switch {
				case tt.wantName != "":
					te := asTimeout(t, err)
					if te.Name != tt.wantName || te.Limit != tt.wantLimit {
						t.Fatalf("err names %q %v, want %q %v", te.Name, te.Limit, tt.wantName, tt.wantLimit)
					}
					if last := results[len(results)-1].Err; last != err {
						t.Errorf("last stage's Err = %v, want %v", last, err)
					}
				case err != tt.wantErr:
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			})
		})
	}
}

func TestPipelineCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(5*time.Second, cancel)
		p := Pipeline{Name: "p", Limit: 30 * time.Second, Stages: []Stage{
			stage("a", 10*time.Second, 3*time.Second),
			stage("b", 10*time.Second, time.Hour),
			stage("c", 10*time.Second, time.Second),
		}}
		results, err := p.Run(ctx)
		if err != context.Canceled || len(results) != 2 || results[1].Err != context.Canceled {
			t.Fatalf("Run = %+v, %v; want context.Canceled in stage b", results, err)
		}
	})
}

// TestPipelineStageEndsAtBudget: a stage that ignores ctx and finishes
// after the budget has run out does not let the next stage start.
func TestPipelineStageEndsAtBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ran := false
		p := Pipeline{Name: "p", Limit: 10 * time.Second, Stages: []Stage{
			{Name: "stubborn", Run: func(context.Context) error { time.Sleep(11 * time.Second); return nil }},
			{Name: "next", Run: func(context.Context) error { ran = true; return nil }},
		}}
		results, err := p.Run(context.Background())
		te := asTimeout(t, err)
		if ran || len(results) != 1 || te.Name != "p" {
			t.Fatalf("Run = %+v, %v; ran next: %v", results, err, ran)
		}
	})
}

func TestPipelineValidate(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name    string
		p       Pipeline
		want    string // error prefix; "" for valid
		invalid bool   // matches ErrInvalidLimit
	}{
		{"valid", Pipeline{Limit: time.Second, Stages: []Stage{{Run: ok}, {Limit: time.Second, Run: ok}}}, "", false},
		{"zero limit", Pipeline{}, "timeout: limit must be positive: Pipeline.Limit is 0s", true},
		{"negative limit", Pipeline{Limit: -time.Second}, "timeout: limit must be positive: Pipeline.Limit is -1s", true},
		{"negative stage limit", Pipeline{Limit: time.Second, Stages: []Stage{{Run: ok}, {Limit: -1, Run: ok}}}, "timeout: limit must be positive: Pipeline.Stages[1].Limit is -1ns", true},
		{"nil Run", Pipeline{Limit: time.Second, Stages: []Stage{{Name: "x"}}}, "timeout: Pipeline.Stages[0].Run is nil", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				if _, err := tt.p.Run(context.Background()); err != nil {
					t.Fatalf("Run = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || errors.Is(err, ErrInvalidLimit) != tt.invalid {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if results, runErr := tt.p.Run(context.Background()); runErr == nil || runErr.Error() != err.Error() || results != nil {
				t.Fatalf("Run = %v, %v; want the validation error", results, runErr)
			}
		})
	}
}
