package bulkhead_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed94f50169/resilience/bulkhead"
)

func Example() {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue})
	ctx := context.Background()

	v, err := bulkhead.Do(ctx, b, func(ctx context.Context) (string, error) {
		// While this call holds the only slot, a second one is rejected.
		_, err := bulkhead.Do(ctx, b, func(context.Context) (string, error) { return "inner", nil })
		var class interface{ ErrorClass() string }
		if errors.Is(err, bulkhead.ErrFull) && errors.As(err, &class) {
			fmt.Println("rejected:", class.ErrorClass())
		}
		return "outer", nil
	})
	fmt.Println(v, err)

	s := b.Stats()
	fmt.Println("in flight:", s.InFlight, "acquired:", s.Acquired, "rejected:", s.Rejected)
	// Output:
	// rejected: bulkhead_full
	// outer <nil>
	// in flight: 0 acquired: 1 rejected: 1
}
