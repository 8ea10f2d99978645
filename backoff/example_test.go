package backoff_test

import (
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/backoff"
)

// The Fustor agent's control loop: 5s after the first error, doubling up to
// 60s, and a status change once max_consecutive_errors (5) is reached.
func ExampleSequence() {
	const maxConsecutiveErrors = 5
	seq := backoff.Policy{
		Initial:    5 * time.Second,
		Multiplier: 2,
		Max:        60 * time.Second,
		Jitter:     backoff.NoJitter,
	}.Sequence()

	for i := 0; i < 6; i++ { // six failed syncs in a row
		wait := seq.Next()
		status := "retrying"
		if seq.Failures() >= maxConsecutiveErrors {
			status = "degraded"
		}
		fmt.Println(seq.Failures(), wait, status)
	}
	seq.Reset() // a sync succeeded
	wait := seq.Next()
	fmt.Println(seq.Failures(), wait)
	// Output:
	// 1 5s retrying
	// 2 10s retrying
	// 3 20s retrying
	// 4 40s retrying
	// 5 1m0s degraded
	// 6 1m0s degraded
	// 1 5s
}

// The pforge retry schedule: 100ms, 200ms, 400ms, and with ±25% jitter the
// 200ms retry lands in 150–250ms.
func ExamplePolicy_Delay() {
	plain := backoff.Policy{Jitter: backoff.NoJitter} // defaults: 100ms, ×2, max 5s
	for n := 1; n <= 3; n++ {
		fmt.Println("retry", n, plain.Delay(n))
	}

	spread := backoff.Policy{Jitter: backoff.SpreadJitter} // JitterFactor 0.25
	d := spread.Delay(2)
	fmt.Println("jittered retry 2 within 150ms-250ms:", d >= 150*time.Millisecond && d <= 250*time.Millisecond)
	// Output:
	// retry 1 100ms
	// retry 2 200ms
	// retry 3 400ms
	// jittered retry 2 within 150ms-250ms: true
}

// A seeded policy replays the same jittered schedule, for tests.
func ExamplePolicy_reproducible() {
	p := backoff.Policy{Jitter: backoff.FullJitter, Seed: 1}
	q := p
	fmt.Println(p.Delay(3) == q.Delay(3), p.Delay(3) <= 400*time.Millisecond)
	// Output:
	// true true
}

func ExamplePolicy_Validate() {
	err := backoff.Policy{Multiplier: 0.5}.Validate()
	fmt.Println(err)
	// Output:
	// backoff: Multiplier must be at least 1 (or 0 for the default 2), got 0.5
}
