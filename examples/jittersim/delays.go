package main

import (
	"math/rand/v2"
	"time"
)

// TEMPORARY until the backoff package lands.
type jitter int

const (
	fullJitter jitter = iota
	noJitter
	equalJitter
	decorrelatedJitter
)

func newSchedule(j jitter, initial, maxDelay time.Duration) func() time.Duration {
	n := 0
	prev := initial
	return func() time.Duration {
		n++
		d := initial << (n - 1)
		if n > 30 || d > maxDelay {
			d = maxDelay
		}
		switch j {
		case fullJitter:
			return rand.N(d + 1)
		case equalJitter:
			return d/2 + rand.N(d/2+1)
		case decorrelatedJitter:
			prev = min(maxDelay, initial+rand.N(3*prev-initial+1))
			return prev
		}
		return d
	}
}
