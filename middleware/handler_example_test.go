package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// The README's Quick start, with a dependency that is down: one Recovery
// for the dependency (client side), another for the server. The
// dependency's breaker opens; the server's own routes keep answering.
func Example_quickStart() {
	ctx := context.Background()
	refused := errors.New("connection refused")
	fetchUser := func(context.Context) (string, error) { return "", refused }
	guestUser := "guest"
	usersDown := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, refused })

	// One Recovery per dependency, client side: its own breaker, bulkhead
	// and tracker.
	usersErrs := errtrack.New(errtrack.Config{})
	usersBreaker := breaker.New(breaker.Config{})
	users := &middleware.Recovery{
		Retry:    &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: time.Microsecond}},
		Breaker:  usersBreaker,
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 20}),
		Timeout:  2 * time.Second,
		Total:    5 * time.Second,
		Tracker:  usersErrs,
	}

	// Any call to it:
	user, err := middleware.Do(ctx, users, fetchUser, fallback.Value(guestUser))
	fmt.Println("user:", user, err)

	// An HTTP client for it:
	usersClient := &http.Client{Transport: users.Transport(usersDown)}
	_, err = usersClient.Get("http://users.internal/users/7")
	fmt.Println("client:", errors.Is(err, breaker.ErrOpen), usersBreaker.State())

	// The server, with a Recovery of its own: no breaker, its own
	// bulkhead and tracker.
	serverErrs := errtrack.New(errtrack.Config{})
	server := &middleware.Recovery{
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 100}),
		Timeout:  10 * time.Second,
		Tracker:  serverErrs,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, req *http.Request) {
		resp, err := usersClient.Get("http://users.internal/users/" + req.PathValue("id"))
		if err != nil {
			http.Error(w, "users unavailable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	h := server.Handler(mux) // http.ListenAndServe(":8080", h)

	for _, path := range []string{"/health", "/users/7"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code)
	}
	fmt.Println("users:", usersErrs.ByClass())
	fmt.Println("server:", serverErrs.ByClass())
	// Output:
	// user: guest <nil>
	// client: true open
	// /health 200
	// /users/7 502
	// users: map[circuit_open:2 connection:5]
	// server: map[service_unavailable:1]
}
