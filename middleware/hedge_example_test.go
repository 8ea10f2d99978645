package middleware_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func ExampleDo_hedge() {
	// Retries and hedges to one backend share a budget; each attempt of the
	// retry loop is hedged after 1ms.
	budget := retry.NewBudget(retry.BudgetConfig{})
	r := &middleware.Recovery{
		Total: time.Second,
		Retry: &retry.Policy{Budget: budget},
		Hedge: &hedge.Policy{Delay: time.Millisecond, Budget: budget},
	}
	var calls atomic.Int32
	v, err := middleware.Do(context.Background(), r, func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // a stuck replica, ended when the hedge wins
			return "", ctx.Err()
		}
		return "answer", nil
	})
	fmt.Println(v, err, r.Hedge.Stats().Won)
	// Output:
	// answer <nil> 1
}
