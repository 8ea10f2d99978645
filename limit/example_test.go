package limit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/limit"
)

func Example() {
	l := limit.New(limit.Config{
		Algorithm:    limit.AIMD,
		InitialLimit: 2,
		// Judge every call on its own; the default window is 100ms and 10
		// calls.
		Window:        time.Nanosecond,
		WindowSamples: 1,
		OnLimitChange: func(from, to int) { fmt.Println("limit", from, "->", to) },
	})
	ctx := context.Background()
	call := func(err error) {
		t, aerr := l.Acquire(ctx)
		if aerr != nil {
			fmt.Println(aerr)
			return
		}
		t.Done(err) // the token measured the call's RTT
	}

	held, _ := l.Acquire(ctx)
	call(nil)                         // a success, 2 of 2 in use: +1
	call(errors.New("backend: busy")) // a drop: ×0.9
	call(context.Canceled)            // the caller gave up: no sample

	other, _ := l.Acquire(ctx)
	_, err := l.Acquire(ctx) // 2 of 2 in use, and no queue
	var class interface{ ErrorClass() string }
	if errors.Is(err, limit.ErrLimitExceeded) && errors.As(err, &class) {
		fmt.Println("rejected:", class.ErrorClass())
	}
	other.Ignore()
	held.Done(nil) // started before the last window: not counted

	s := l.Stats()
	fmt.Println("limit:", s.Limit, "in flight:", s.InFlight, "samples:", s.Samples, "drops:", s.Drops)
	// Output:
	// limit 2 -> 3
	// limit 3 -> 2
	// rejected: limit_exceeded
	// limit: 2 in flight: 0 samples: 2 drops: 1
}

func ExampleDo() {
	l := limit.New(limit.Config{}) // Gradient2, starting at 20 slots
	v, err := limit.Do(context.Background(), l, func(context.Context) (string, error) {
		return "answer", nil
	})
	fmt.Println(v, err, l.Stats().Limit)
	// Output: answer <nil> 20
}
