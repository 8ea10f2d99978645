package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/ratelimit"
)

func Example() {
	// 2 events a second, 3 at once after a quiet period.
	l := ratelimit.New(ratelimit.Config{Rate: 2, Burst: 3})
	for i := range 5 {
		err := l.Allow()
		if errors.Is(err, ratelimit.ErrLimited) {
			after := err.(interface{ RetryAfter() time.Duration }).RetryAfter()
			fmt.Printf("event %d: %v, retry after %v\n", i+1, err, after.Round(100*time.Millisecond))
			continue
		}
		fmt.Printf("event %d: allowed\n", i+1)
	}
	fmt.Println("rejected:", l.Stats().Rejected)
	// Output:
	// event 1: allowed
	// event 2: allowed
	// event 3: allowed
	// event 4: ratelimit: rate limited, retry after 500ms
	// event 5: ratelimit: rate limited, retry after 500ms
	// rejected: 2
}

// Wait refuses at once, rather than sleeping uselessly, when the token
// would come after MaxWait.
func ExampleLimiter_Wait() {
	l := ratelimit.New(ratelimit.Config{Rate: 1, Burst: 1, MaxWait: 100 * time.Millisecond})
	fmt.Println(l.Wait(context.Background()))
	err := l.Wait(context.Background())
	fmt.Println(err, errors.Is(err, ratelimit.ErrLimited))
	// Output:
	// <nil>
	// ratelimit: rate limited true
}

// A server limits each client separately; the group forgets the least
// recently seen clients beyond MaxKeys.
func ExampleGroup() {
	g := ratelimit.NewGroup(ratelimit.GroupConfig{
		Config:  ratelimit.Config{Rate: 1, Burst: 2},
		MaxKeys: 1000,
	})
	for _, client := range []string{"abuser", "abuser", "abuser", "polite", "abuser"} {
		if err := g.Allow(client); err != nil {
			fmt.Printf("%s: 429, %v\n", client, err)
			continue
		}
		fmt.Printf("%s: ok\n", client)
	}
	fmt.Printf("%+v\n", g.Stats())
	// Output:
	// abuser: ok
	// abuser: ok
	// abuser: 429, ratelimit: rate limited
	// polite: ok
	// abuser: 429, ratelimit: rate limited
	// {Keys:2 Evicted:0 Rejected:2}
}
