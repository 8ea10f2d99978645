package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed94f50169/resilience/breaker"
)

func Example() {
	b := breaker.New(breaker.Config{FailureThreshold: 3})
	errDown := errors.New("backend down")

	for i := range 5 {
		_, err := breaker.Do(context.Background(), b, func(context.Context) (string, error) {
			return "", errDown
		})
		fmt.Printf("call %d: %v (state %v)\n", i+1, err, b.State())
	}

	s := b.Stats()
	fmt.Printf("failures %d, rejected %d\n", s.Failures, s.Rejected)
	// Output:
	// call 1: backend down (state closed)
	// call 2: backend down (state closed)
	// call 3: backend down (state open)
	// call 4: breaker: open (state open)
	// call 5: breaker: open (state open)
	// failures 3, rejected 2
}

// fakeClient stands in for an http.Client: it answers 503 to every request.
type fakeClient struct{}

func (fakeClient) Do(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Request: req, Body: http.NoBody}, nil
}

// statusError reports a 5xx answer as a failure.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("status %d", int(e)) }

// Two-step use, as an HTTP middleware does it: Allow before the request,
// Done with its outcome after, no closure needed.
func ExampleBreaker_Allow() {
	b := breaker.New(breaker.Config{FailureThreshold: 2, OpenTimeout: 30 * time.Second})
	var client fakeClient

	get := func(url string) error {
		p, err := b.Allow()
		if err != nil {
			return err // rejected: the request is not sent
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				err = statusError(resp.StatusCode)
			}
		}
		p.Done(err)
		return err
	}

	for range 3 {
		err := get("http://backend.invalid/items")
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			fmt.Printf("%v, retry in %v\n", err, (ra.RetryAfter() + time.Second - 1).Truncate(time.Second))
			continue
		}
		fmt.Println(err)
	}
	// Output:
	// status 503
	// status 503
	// breaker: open, retry in 30s
}

// A rate-based breaker, as resilience4j users configure one: over the last
// 10 calls, once at least 5 were seen, open at a 50% failure rate or when
// half of the calls took 2s or more. The consecutive rule is off.
func ExampleConfig_rate() {
	b := breaker.New(breaker.Config{
		FailureThreshold:      -1,
		WindowSize:            10,
		MinimumCalls:          5,
		FailureRateThreshold:  0.5,
		SlowCallDuration:      2 * time.Second,
		SlowCallRateThreshold: 0.5,
	})
	errFail := errors.New("fail")

	for i, failed := range []bool{true, false, true, false, false, false, true, true, false} {
		p, err := b.Allow()
		if err != nil {
			fmt.Printf("call %d: %v\n", i+1, err)
			continue
		}
		if failed {
			p.Done(errFail)
		} else {
			p.Done(nil)
		}
		fmt.Printf("call %d: state %v\n", i+1, b.State())
	}
	// Output:
	// call 1: state closed
	// call 2: state closed
	// call 3: state closed
	// call 4: state closed
	// call 5: state closed
	// call 6: state closed
	// call 7: state closed
	// call 8: state open
	// call 9: breaker: open
}

// One breaker per host, created on first use.
func ExampleGroup() {
	g := breaker.NewGroup(breaker.GroupConfig{Config: breaker.Config{FailureThreshold: 1}})
	g.Get("a.example").Do(context.Background(), func(context.Context) error {
		return errors.New("refused")
	})
	fmt.Println("a:", g.Get("a.example").State())
	fmt.Println("b:", g.Get("b.example").State())
	// Output:
	// a: open
	// b: closed
}

// Observers see every transition and rejection beside the Config's own
// hooks; Stats().Window shows what the rate rules see.
func ExampleObserverFunc() {
	count := map[breaker.EventKind]int{}
	b := breaker.New(breaker.Config{
		FailureThreshold:     -1, // the rate rule only
		FailureRateThreshold: 0.5,
		WindowSize:           4,
		MinimumCalls:         4,
		Observers: []breaker.Observer{breaker.ObserverFunc(func(e breaker.Event) {
			count[e.Kind]++
			if e.Kind == breaker.EventStateChange {
				fmt.Println(e.From, "->", e.To)
			}
		})},
	})
	for _, err := range []error{nil, errors.New("down"), nil} {
		b.Do(context.Background(), func(context.Context) error { return err })
	}
	w := b.Stats().Window
	fmt.Printf("window: %d calls, %d failures, rate %.2f\n", w.Calls, w.Failures, w.FailureRate)
	b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	b.Do(context.Background(), func(context.Context) error { return nil })
	fmt.Println(count[breaker.EventStateChange], "transition,", count[breaker.EventReject], "rejection")
	// Output:
	// window: 3 calls, 1 failures, rate 0.33
	// closed -> open
	// 1 transition, 1 rejection
}
