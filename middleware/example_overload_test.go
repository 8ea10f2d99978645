package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
)

// A server that refuses a client over its rate with 429 and sheds load
// with 503 once its adaptive concurrency limit is reached.
func ExampleRecovery_Handler_overload() {
	l := limit.New(limit.Config{InitialLimit: 1})
	r := &middleware.Recovery{
		RateLimit: ratelimit.NewGroup(ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 1, Burst: 2}}),
		Limit:     l,
	}
	h := r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	serve := func(client string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = client + ":1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%s %d Retry-After=%q\n", client, rec.Code, rec.Header().Get("Retry-After"))
	}

	serve("192.0.2.1") // the first of its burst of 2
	held, _ := l.Acquire(context.Background())
	serve("192.0.2.1") // the second, but the only slot is taken: 503
	held.Ignore()
	serve("192.0.2.1") // its burst is spent: 429
	serve("192.0.2.2") // another client has its own bucket
	// Output:
	// 192.0.2.1 200 Retry-After=""
	// 192.0.2.1 503 Retry-After="1"
	// 192.0.2.1 429 Retry-After="1"
	// 192.0.2.2 200 Retry-After=""
}

// Limit and Throttle refusals are not retried by default: the retry
// policy would fight the layer that sheds the load.
func ExampleRecovery_limit() {
	l := limit.New(limit.Config{InitialLimit: 1})
	held, _ := l.Acquire(context.Background())
	defer held.Ignore()
	retries := 0
	r := &middleware.Recovery{
		Retry: &retry.Policy{MaxAttempts: 3},
		Limit: l,
		Hooks: middleware.Hooks{OnRetry: func(middleware.Event) { retries++ }},
	}
	_, err := middleware.Do(context.Background(), r, func(context.Context) (string, error) {
		return "ok", nil
	})
	var class interface{ ErrorClass() string }
	if errors.Is(err, limit.ErrLimitExceeded) && errors.As(err, &class) {
		fmt.Println(class.ErrorClass(), "retries:", retries)
	}
	// Output: limit_exceeded retries: 0
}
