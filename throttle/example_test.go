package throttle_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed94f50169/resilience/throttle"
)

// unavailable is the error of a backend answering 503.
type unavailable struct{}

func (unavailable) Error() string   { return "503 service unavailable" }
func (unavailable) StatusCode() int { return 503 }

func Example() {
	// A fixed seed makes the random rejections reproducible.
	th := throttle.New(throttle.Config{Seed: 1})
	overloaded := func(context.Context) error { return unavailable{} }

	sent, throttled := 0, 0
	for range 1000 {
		err := th.Do(context.Background(), func(ctx context.Context) error {
			sent++
			return overloaded(ctx)
		})
		if errors.Is(err, throttle.ErrThrottled) {
			throttled++
		}
	}
	s := th.Stats()
	fmt.Printf("sent %d, throttled %d\n", sent, throttled)
	fmt.Printf("requests %d, accepts %d, rejection probability %.3f\n", s.Requests, s.Accepts, s.RejectionProbability)
	// Output:
	// sent 90, throttled 910
	// requests 1000, accepts 0, rejection probability 0.900
}

// Two-step use, as an HTTP middleware does it: Allow before the request,
// Done with its outcome after.
func ExampleThrottle_Allow() {
	th := throttle.New(throttle.Config{})
	send := func() error { return nil } // a healthy backend

	p, err := th.Allow()
	if err != nil {
		fmt.Println("not sent:", err)
		return
	}
	p.Done(send())
	fmt.Printf("%+v\n", th.Stats())
	// Output:
	// {Requests:1 Accepts:1 RejectionProbability:0 Rejected:0}
}
