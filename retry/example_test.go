package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
)

var errUnavailable = errors.New("503 service unavailable")

// A flaky operation succeeds on its third attempt. The zero Policy allows 3
// attempts with the pforge backoff (100ms, 200ms, ... with jitter); this
// example waits microseconds without jitter so that it runs at once and
// prints the same waits every time.
func ExampleDo() {
	attempts := 0
	fetch := func(ctx context.Context) (string, error) {
		attempts++
		if attempts < 3 {
			return "", errUnavailable
		}
		return "payload", nil
	}
	p := retry.Policy{
		Backoff: backoff.Policy{Initial: time.Microsecond, Jitter: backoff.NoJitter},
		OnRetry: func(a retry.Attempt) {
			fmt.Printf("attempt %d failed (%v), waiting %v\n", a.Number, a.Err, a.Delay)
		},
	}
	v, err := retry.Do(context.Background(), p, fetch)
	fmt.Println(v, err)
	// Output:
	// attempt 1 failed (503 service unavailable), waiting 1µs
	// attempt 2 failed (503 service unavailable), waiting 2µs
	// payload <nil>
}

// When every attempt fails, the error says so and still matches the cause.
func ExamplePolicy_Do() {
	err := retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Initial: time.Microsecond}}.Do(
		context.Background(),
		func(context.Context) error { return errUnavailable },
	)
	var ex *retry.ExhaustedError
	fmt.Println(errors.As(err, &ex), ex.Attempts, errors.Is(err, errUnavailable))
	fmt.Println(err)
	// Output:
	// true 2 true
	// retry: giving up after 2 attempts: 503 service unavailable
}

// A Permanent error stops the retries at once and comes back as its cause.
func ExamplePermanent() {
	errInvalid := errors.New("invalid request")
	attempts := 0
	err := retry.Policy{}.Do(context.Background(), func(context.Context) error {
		attempts++
		return retry.Permanent(errInvalid)
	})
	fmt.Println(attempts, err == errInvalid)
	// Output:
	// 1 true
}

// One Budget shared by every call to a backend keeps retries to a tenth of
// the calls (plus a small floor) during an outage.
func ExampleBudget() {
	budget := retry.NewBudget(retry.BudgetConfig{Ratio: 0.1, MinPerSecond: 1})
	p := retry.Policy{Budget: budget, Backoff: backoff.Policy{Initial: time.Microsecond}}
	attempts := 0
	for i := 0; i < 100; i++ {
		p.Do(context.Background(), func(context.Context) error {
			attempts++
			return errUnavailable
		})
	}
	s := budget.Stats()
	fmt.Println("calls: 100, attempts:", attempts, "retries:", s.Retries)
	// Output:
	// calls: 100, attempts: 111 retries: 11
}

// circuitOpen is a rejection by an open circuit breaker, as
// breaker.ErrOpen's are: class "circuit_open" and the time left open.
type circuitOpen struct{ left time.Duration }

func (e circuitOpen) Error() string             { return "breaker: open" }
func (e circuitOpen) ErrorClass() string        { return "circuit_open" }
func (e circuitOpen) RetryAfter() time.Duration { return e.left }

// An open breaker that stays open for another 45s fails fast: the backoff
// would retry after 100ms, too soon to be let through, so Do gives up at
// once with the rejection and its hint instead of sleeping 45s.
func ExamplePolicy_MaxOpenWait() {
	call := func(ctx context.Context) error { return circuitOpen{45 * time.Second} }
	err := retry.Policy{}.Do(context.Background(), call)
	fmt.Println(err)
	var open interface{ RetryAfter() time.Duration }
	if errors.As(err, &open) {
		fmt.Println("come back in", open.RetryAfter())
	}
	// Output:
	// retry: giving up after 1 attempt (rejected: circuit open for another 45s): breaker: open
	// come back in 45s
}
