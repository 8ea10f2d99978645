package errtrack_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
)

// circuitError is how a circuit breaker's rejection can name its own class.
type circuitError struct{}

func (circuitError) Error() string      { return "circuit open" }
func (circuitError) ErrorClass() string { return "circuit_open" }

func Example() {
	tracker := errtrack.New(errtrack.Config{Size: 1000})

	for _, err := range []error{
		context.DeadlineExceeded,
		errors.New("read tcp 10.0.0.1:443: connection reset by peer"),
		errors.New("upstream said: 429 Too Many Requests"),
		circuitError{},
		errors.New("Request timed out"),
	} {
		fmt.Printf("%-20s %v\n", tracker.Track(err), err)
	}

	fmt.Println("total:", tracker.Total())
	fmt.Println("by class:", tracker.ByClass())
	fmt.Println("last minute:", tracker.Since(time.Minute)[errtrack.Timeout], "timeouts")
	fmt.Println("oldest buffered:", tracker.Recent()[0].Err)
	// Output:
	// timeout              context deadline exceeded
	// connection           read tcp 10.0.0.1:443: connection reset by peer
	// rate_limit           upstream said: 429 Too Many Requests
	// circuit_open         circuit open
	// timeout              Request timed out
	// total: 5
	// by class: map[circuit_open:1 connection:1 rate_limit:1 timeout:2]
	// last minute: 2 timeouts
	// oldest buffered: context deadline exceeded
}

func ExampleChain() {
	errQuota := errors.New("quota exhausted")
	quota := func(err error) errtrack.Class {
		if errors.Is(err, errQuota) {
			return "quota"
		}
		return "" // don't know: let the default decide
	}
	classify := errtrack.Chain(quota)

	fmt.Println(classify(fmt.Errorf("upload: %w", errQuota)))
	fmt.Println(classify(context.Canceled))
	// Output:
	// quota
	// canceled
}

func ExampleClassify() {
	fmt.Println(errtrack.Classify(errors.New("dial tcp: connection refused")))
	fmt.Println(errtrack.Classify(errors.New("something else")))
	// Output:
	// connection
	// unknown
}
