package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func Example() {
	tracker := errtrack.New(errtrack.Config{})
	r := &middleware.Recovery{
		Retry: &retry.Policy{
			MaxAttempts: 3,
			Backoff:     backoff.Policy{Initial: time.Microsecond, Jitter: backoff.NoJitter},
		},
		Breaker: breaker.New(breaker.Config{}),
		Timeout: time.Second,
		Tracker: tracker,
		Hooks: middleware.Hooks{
			OnRetry: func(e middleware.Event) { fmt.Printf("retry %d after: %v\n", e.Attempt, e.Err) },
		},
	}

	calls := 0
	price, err := middleware.Do(context.Background(), r, func(ctx context.Context) (float64, error) {
		calls++
		if calls < 3 {
			return 0, errors.New("connection reset")
		}
		return 9.99, nil
	})
	fmt.Println(price, err, tracker.ByClass())

	// When every attempt fails, the fallbacks answer.
	price, err = middleware.Do(context.Background(), r, func(ctx context.Context) (float64, error) {
		return 0, errors.New("connection refused")
	}, fallback.Value(8.50))
	fmt.Println(price, err)
	// Output:
	// retry 2 after: connection reset
	// retry 3 after: connection reset
	// 9.99 <nil> map[connection:2]
	// retry 2 after: connection refused
	// retry 3 after: connection refused
	// 8.5 <nil>
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func ExampleRecovery_Transport() {
	// A backend that is overloaded twice, then answers.
	n := 0
	backend := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		n++
		rec := httptest.NewRecorder()
		if n < 3 {
			rec.Header().Set("Retry-After", "0")
			rec.WriteHeader(http.StatusServiceUnavailable)
		} else {
			io.WriteString(rec, "hello")
		}
		return rec.Result(), nil
	})

	r := &middleware.Recovery{Retry: &retry.Policy{
		Backoff: backoff.Policy{Initial: time.Microsecond, Jitter: backoff.NoJitter},
	}}
	client := &http.Client{Transport: r.Transport(backend)}
	resp, err := client.Get("http://api.example/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", n, "attempts")
	// Output: 200 hello after 3 attempts
}

func ExampleRecovery_Handler() {
	tracker := errtrack.New(errtrack.Config{})
	r := &middleware.Recovery{Tracker: tracker, Timeout: 5 * time.Second, Hooks: middleware.Hooks{
		// Without OnPanic, panics are logged to the server's ErrorLog.
		OnPanic: func(e middleware.Event) { fmt.Println("panic serving", e.Request.URL.Path+":", e.Err) },
	}}
	h := r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/bug") {
			panic("nil map")
		}
		io.WriteString(w, "ok")
	}))

	for _, path := range []string{"/bug", "/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %d %q\n", path, w.Code, w.Body.String())
	}
	fmt.Println("tracked:", tracker.Total())
	// Output:
	// panic serving /bug: middleware: handler panicked: nil map
	// /bug: 500 "Internal Server Error\n"
	// /: 200 "ok"
	// tracked: 1
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"120", "Mon, 23 Nov 2026 12:00:30 GMT", "86400", "soon"} {
		d, ok := middleware.ParseRetryAfter(v, now, time.Hour)
		fmt.Println(d, ok)
	}
	// Output:
	// 2m0s true
	// 30s true
	// 1h0m0s true
	// 0s false
}
