package main

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// The claim of the scenario: once settled, the adaptive limit keeps the
// p99 latency within 2× of the p99 before the drop, for the same goodput,
// while the static bulkhead's queue inflates it.
func TestDropLatency(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		for _, v := range dropVariants {
			var r dropRun
			if seed == 1 {
				r = seed1Results(t).drop[slices.Index(dropVariants, v)]
			} else {
				synctest.Test(t, func(t *testing.T) { r = runDrop(v, seed) })
			}
			before := r.phase(dropWarmup, dropStart)
			settled := r.phase(dropStart+dropSettle, dropEnd)
			after := r.phase(dropEnd+dropSettle, dropLength)
			ratio := float64(settled.p99) / float64(before.p99)
			t.Logf("seed %d, %s: p99 %v before, %v settled (%.2f×), goodput %.0f/s settled, %.0f/s after", seed, v, before.p99, settled.p99, ratio, settled.goodput, after.goodput)
			if capacity := float64(dropReduced * int(time.Second/dropService)); settled.goodput < 0.95*capacity {
				t.Errorf("seed %d, %s: goodput %.0f/s during the drop, want the reduced backend's 400", seed, v, settled.goodput)
			}
			if after.goodput < 0.95*dropRate {
				t.Errorf("seed %d, %s: goodput %.0f/s after the drop, want the %d offered", seed, v, after.goodput, dropRate)
			}
			if v == "bulkhead 10/100" {
				if ratio < 5 {
					t.Errorf("seed %d, bulkhead: settled p99 %.2f× the p99 before, want the queue to inflate it", seed, ratio)
				}
				continue
			}
			if ratio > 2 {
				t.Errorf("seed %d, %s: settled p99 %.2f× the p99 before, want at most 2×", seed, v, ratio)
			}
		}
	}
}
