package hedge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/retry"
)

func Example() {
	// The first replica is stuck; the hedge, sent after 1ms, answers. (The
	// result does not depend on timing: the first attempt waits until the
	// hedge has won.)
	p := &hedge.Policy{Delay: time.Millisecond}
	var attempts atomic.Int32
	v, err := hedge.Do(context.Background(), p, func(ctx context.Context) (string, error) {
		if attempts.Add(1) == 1 {
			<-ctx.Done() // ended when the hedge wins
			return "", ctx.Err()
		}
		return "from the hedge", nil
	})
	fmt.Println(v, err)

	s := p.Stats()
	fmt.Println("calls:", s.Calls, "hedges:", s.Hedges, "won:", s.Won)
	// Output:
	// from the hedge <nil>
	// calls: 1 hedges: 1 won: 1
}

func ExamplePolicy_Do() {
	// Hedges and retries to one backend share a budget.
	budget := retry.NewBudget(retry.BudgetConfig{Ratio: 0.1})
	p := &hedge.Policy{Budget: budget} // adaptive p95 delay
	err := p.Do(context.Background(), func(ctx context.Context) error {
		return nil // fast: no hedge
	})
	fmt.Println(err, p.Stats().Hedges)
	// Output:
	// <nil> 0
}
