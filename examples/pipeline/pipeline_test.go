package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

// TestScenarios runs every scenario in real pipeline seconds (scale 1) on
// a fake clock and checks what each step was given, what it took, and
// which scope fired.
func TestScenarios(t *testing.T) {
	type step struct {
		given, took time.Duration
		attempts    int
	}
	s := time.Second
	tests := []struct {
		scenario string
		steps    []step
		scope    string        // the timeout.Error's Name; "" for none
		limit    time.Duration // its Limit
		caller   bool          // the caller's own deadline fired
	}{
		{"healthy", []step{{10 * s, 3 * s, 1}, {10 * s, 4 * s, 1}, {10 * s, 2 * s, 1}}, "", 0, false},
		{"transform hangs", []step{{10 * s, 3 * s, 1}, {10 * s, 10 * s, 1}}, "transform", 10 * s, false},
		// extract: 10s (timeout) + 1s backoff + 6s; transform 9s; load has 4s left of 30s.
		{"a retried extract eats the budget", []step{{10 * s, 17 * s, 2}, {10 * s, 9 * s, 1}, {4 * s, 4 * s, 1}}, "data_pipeline", 30 * s, false},
		{"the caller gives up first", []step{{10 * s, 5 * s, 1}, {10 * s, 8 * s, 1}, {2 * s, 2 * s, 1}}, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sc scenario
				for _, c := range scenarios {
					if c.name == tt.scenario {
						sc = c
					}
				}
				o := runScenario(context.Background(), sc, 1)
				if len(o.steps) != len(tt.steps) {
					t.Fatalf("%d steps ran, want %d", len(o.steps), len(tt.steps))
				}
				for i, want := range tt.steps {
					got := o.steps[i]
					if got.given != want.given || got.Elapsed != want.took || got.attempts != want.attempts {
						t.Errorf("%s: given %v, took %v, %d attempts; want %v, %v, %d", got.Name, got.given, got.Elapsed, got.attempts, want.given, want.took, want.attempts)
					}
				}
				var te *timeout.Error
				isTimeout := errors.As(o.err, &te)
				switch {
				case tt.scope != "" && (!isTimeout || te.Name != tt.scope || te.Limit != tt.limit):
					t.Errorf("error %v, want a timeout.Error naming %q with limit %v", o.err, tt.scope, tt.limit)
				case tt.caller && (isTimeout || !errors.Is(o.err, context.DeadlineExceeded)):
					t.Errorf("error %v, want the caller's plain context.DeadlineExceeded", o.err)
				case tt.scope == "" && !tt.caller && o.err != nil:
					t.Errorf("unexpected error %v", o.err)
				}
			})
		})
	}
}

func TestReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		sc := scenarios[2]
		report(&out, sc, runScenario(context.Background(), sc, 0.5))
		for _, want := range []string{"== a retried extract eats the budget", "load", `scope that fired: timeout.Error: scope "data_pipeline", limit 30s`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})
}
