package main

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/retry"
)

func runStorms(t *testing.T, seed uint64) map[string]stormRun {
	runs := map[string]stormRun{}
	if seed == 1 {
		for _, r := range seed1Results(t).storm {
			runs[r.variant] = r
		}
		return runs
	}
	for _, v := range stormVariants {
		synctest.Test(t, func(t *testing.T) { runs[v] = runStorm(v, seed) })
	}
	return runs
}

// The claim of the scenario: naive retries stay collapsed after the trigger
// is over; a retry budget and a throttle recover within seconds.
func TestStormCollapseAndRecovery(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		runs := runStorms(t, seed)
		for _, v := range stormVariants {
			r := runs[v]
			before := r.phase(0, stormTrigger).goodput
			late := r.phase(stormLength-10*time.Second, stormLength).goodput
			rec := r.recovery()
			t.Logf("seed %d, %s: goodput before %.0f/s, late %.0f/s, recovered after %v", seed, v, before, late, rec)
			if before < 0.95*stormRate {
				t.Errorf("seed %d, %s: goodput %.0f/s before the trigger, want about the %d offered", seed, v, before, stormRate)
			}
			if v == "naive retries" {
				if rec >= 0 || late > 0.1*stormRate {
					t.Errorf("seed %d, naive retries: recovered after %v with late goodput %.0f/s; want a collapse that outlives the trigger", seed, rec, late)
				}
				continue
			}
			if rec < 0 || rec > 10*time.Second || late < 0.95*stormRate {
				t.Errorf("seed %d, %s: recovered after %v, late goodput %.0f/s; want recovery within 10s", seed, v, rec, late)
			}
		}
	}
}

func TestStormIsDeterministic(t *testing.T) {
	// The throttle variant draws the most random numbers and depends on
	// the timer that turns its window.
	const v = "throttle"
	var a, b stormRun
	synctest.Test(t, func(t *testing.T) { a = runStorm(v, 5) })
	synctest.Test(t, func(t *testing.T) { b = runStorm(v, 5) })
	{
		for i := range a.secs {
			x, y := a.secs[i], b.secs[i]
			if x.good != y.good || x.sent != y.sent || x.queue != y.queue || !slices.Equal(x.latency, y.latency) {
				t.Fatalf("%s, second %d: two runs with the same seed differ: %+v vs %+v", v, i, x.good, y.good)
			}
		}
	}
}

func TestBudgetDriver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No saved tokens; a floor of 1 retry a second (burst 1). Each
		// withdraw deposits 0.1 first, as Do does after a first attempt.
		b := retry.NewBudget(retry.BudgetConfig{MinPerSecond: 1})
		got := []bool{withdraw(b), withdraw(b), withdraw(b)}
		if !slices.Equal(got, []bool{true, false, false}) {
			t.Errorf("withdraws on an empty budget: %v, want the floor's one retry only", got)
		}
		time.Sleep(time.Second)
		if !withdraw(b) {
			t.Error("withdraw refused after the floor refilled")
		}
		for range 20 {
			deposit(b) // 20 calls at 0.1: two retries saved
		}
		allowed := 0
		for range 5 {
			if withdraw(b) {
				allowed++
			}
		}
		// 2 saved, plus 0.5 deposited by the five withdraws themselves.
		if allowed != 2 {
			t.Errorf("%d retries allowed from 2.5 tokens, want 2", allowed)
		}
		if s := b.Stats(); s.Retries != 4 || s.Refused != 5 {
			t.Errorf("budget stats %+v, want 4 retries and 5 refusals", s)
		}
	})
}
