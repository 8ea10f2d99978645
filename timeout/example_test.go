package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

func ExampleDo() {
	v, err := timeout.Do(context.Background(), 2*time.Second, func(ctx context.Context) (string, error) {
		left, _ := timeout.Remaining(ctx)
		return fmt.Sprint("done with at most ", left.Round(time.Second), " to spare"), nil
	})
	fmt.Println(v, err)

	// A call that outlives its limit, here a tiny one.
	_, err = timeout.Do(context.Background(), time.Millisecond, func(ctx context.Context) (string, error) {
		<-ctx.Done() // stands for work that watches ctx
		return "", ctx.Err()
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// done with at most 2s to spare <nil>
	// timeout: exceeded 1ms: context deadline exceeded
	// true true
}

func ExamplePipeline() {
	quick := func(context.Context) error { return nil }
	stuck := func(ctx context.Context) error {
		<-ctx.Done() // stands for a step that hangs until its limit
		return ctx.Err()
	}
	p := timeout.Pipeline{Name: "data_pipeline", Limit: 30 * time.Second, Stages: []timeout.Stage{
		{Name: "extract", Limit: 10 * time.Second, Run: quick},
		{Name: "transform", Limit: time.Millisecond, Run: stuck},
		{Name: "load", Limit: 10 * time.Second, Run: quick},
	}}
	results, err := p.Run(context.Background())
	for _, r := range results {
		fmt.Println(r.Name, r.Err)
	}
	var te *timeout.Error
	if errors.As(err, &te) {
		fmt.Println("timed out:", te.Name, te.Limit)
	}
	// Output:
	// extract <nil>
	// transform timeout: "transform" exceeded 1ms: context deadline exceeded
	// timed out: transform 1ms
}

func ExampleDo_nested() {
	// An inner call with a generous limit, inside an outer one whose
	// deadline comes first: both report the outer limit.
	_, err := timeout.Do(context.Background(), time.Millisecond, func(ctx context.Context) (string, error) {
		_, err := timeout.Do(ctx, time.Hour, func(ctx context.Context) (string, error) {
			<-ctx.Done() // stands for work that watches ctx
			return "", ctx.Err()
		})
		var te *timeout.Error
		if errors.As(err, &te) {
			fmt.Println("inner call:", te.Limit)
		}
		return "", err
	})
	fmt.Println(err)
	// Output:
	// inner call: 1ms
	// timeout: exceeded 1ms: context deadline exceeded
}
