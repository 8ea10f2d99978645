package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed94f50169/resilience/fallback"
)

type User struct {
	ID, Name string
}

// The user-data chain: the primary API, then a backup endpoint, then the last
// value known to be good, then a guest user.
func Example() {
	// Stand-ins for two HTTP endpoints; the primary fails after the first call.
	calls := 0
	primary := func(id string) func(context.Context) (User, error) {
		return func(context.Context) (User, error) {
			calls++
			if calls > 1 {
				return User{}, errors.New("primary: 503 service unavailable")
			}
			return User{ID: id, Name: "Ada"}, nil
		}
	}
	backup := func(context.Context) (User, error) {
		return User{}, errors.New("backup: connection refused")
	}

	users := fallback.NewCache[User](fallback.CacheConfig{
		MaxAge: 10 * time.Minute,
		OnStale: func(s fallback.Stale) {
			fmt.Printf("  (serving cached %q: %v)\n", s.Key, s.Err)
		},
	})
	fetch := func(id string) User {
		user, err := fallback.Do(context.Background(), users.Record(id, primary(id)),
			fallback.From(users.Record(id, backup)),
			users.Fallback(id),
			fallback.Value(User{ID: "unknown", Name: "Guest User"}),
		)
		if err != nil {
			panic(err) // cannot happen: the last fallback always succeeds
		}
		return user
	}

	fmt.Println("u1:", fetch("u1")) // primary answers; the value is recorded
	fmt.Println("u1:", fetch("u1")) // primary and backup fail; cache answers
	fmt.Println("u2:", fetch("u2")) // nothing cached for u2; guest default
	// Output:
	// u1: {u1 Ada}
	//   (serving cached "u1": backup: connection refused)
	// u1: {u1 Ada}
	// u2: {unknown Guest User}
}

func ExampleDo() {
	primary := func(context.Context) (string, error) { return "", errors.New("primary down") }
	backup := func(context.Context) (string, error) { return "", errors.New("backup down") }

	_, err := fallback.Do(context.Background(), primary, fallback.From(backup))
	fmt.Println(err)
	// Output:
	// fallback: every step failed: primary down; then: backup down
}

func ExampleWhen() {
	errNotFound := errors.New("not found")
	transient := func(err error) bool { return !errors.Is(err, errNotFound) }
	lookup := func(context.Context) (string, error) { return "", errNotFound }

	// A missing record is an answer, not an outage: no default for it.
	_, err := fallback.Do(context.Background(), lookup,
		fallback.When(transient, fallback.Value("default")))
	fmt.Println(err)
	// Output:
	// not found
}

func ExampleCache_FallbackInto() {
	var prices fallback.Cache[float64]
	prices.Put("EURUSD", 1.08)

	quote := func(context.Context) (float64, error) { return 0, errors.New("feed timeout") }
	var stale fallback.Stale
	p, err := fallback.Do(context.Background(), quote, prices.FallbackInto("EURUSD", &stale))
	fmt.Println(p, err, stale.Err != nil, stale.Err)
	// Output:
	// 1.08 <nil> true feed timeout
}
