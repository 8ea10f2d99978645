// Command httpclient shows a resilient HTTP client at work. It starts a
// deliberately flaky server on 127.0.0.1 (itself protected by
// middleware.Recovery.Handler), sends it a series of requests through
// middleware.Recovery.Transport, and prints what happened to each one:
// retries, Retry-After waits, timeouts, requests that must not be repeated,
// and a circuit breaker that opens and then fails fast. It ends in a few
// seconds.
//
//	go run ./examples/httpclient
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpclient:", err)
		os.Exit(1)
	}
}

// flakyServer misbehaves in a different way on each path.
type flakyServer struct {
	stop  chan struct{} // closed when the program ends
	mu    sync.Mutex
	calls map[string]int // requests per method and path
}

func (s *flakyServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.calls[req.Method+" "+req.URL.Path]++
	n := s.calls[req.Method+" "+req.URL.Path]
	s.mu.Unlock()
	switch req.URL.Path {
	case "/flaky": // fails twice, then works
		if n <= 2 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
	case "/rate-limited": // asks the client to come back in a second
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
	case "/slow": // hangs the first time
		if n == 1 {
			select {
			case <-req.Context().Done():
			case <-s.stop:
			}
			return
		}
	case "/panic":
		panic("a bug in the handler")
	case "/down":
		http.Error(w, "database unreachable", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "hello from %s (request %d)", req.URL.Path, n)
}

func run(out io.Writer) error {
	// The server: panics become 500s, each request gets 5s at most.
	serverErrors := errtrack.New(errtrack.Config{})
	srvRecovery := &middleware.Recovery{Tracker: serverErrors, Timeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	flaky := &flakyServer{stop: make(chan struct{}), calls: map[string]int{}}
	srv := &http.Server{Handler: srvRecovery.Handler(flaky)}
	go srv.Serve(ln)
	defer func() {
		close(flaky.stop)
		srv.Shutdown(context.Background()) // waits for every handler
	}()
	base := "http://" + ln.Addr().String()
	fmt.Fprintln(out, "flaky server listening on", base)

	// The client: 3 attempts with exponential backoff, 500ms per attempt,
	// 3s per request, and a breaker per host that opens after 4
	// consecutive failures.
	clientErrors := errtrack.New(errtrack.Config{})
	var events []string
	r := &middleware.Recovery{
		Retry: &retry.Policy{
			MaxAttempts: 3,
			Backoff:     backoff.Policy{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		},
		HostBreaker: &breaker.Config{FailureThreshold: 4, OpenTimeout: 30 * time.Second},
		Timeout:     500 * time.Millisecond,
		Total:       3 * time.Second,
		Tracker:     clientErrors,
		Hooks: middleware.Hooks{
			OnAttempt: func(e middleware.Event) {
				if e.Err != nil {
					events = append(events, fmt.Sprintf("attempt %d failed: %v", e.Attempt, short(e.Err)))
				}
			},
			OnReject: func(e middleware.Event) {
				events = append(events, fmt.Sprintf("attempt %d rejected: %v", e.Attempt, short(e.Err)))
			},
			OnStateChange: func(host string, from, to breaker.State) {
				events = append(events, fmt.Sprintf("breaker for %s: %v -> %v", host, from, to))
			},
		},
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: r.Transport(transport)}

	requests := []struct {
		method, path, key string
	}{
		{"GET", "/ok", ""},
		{"GET", "/flaky", ""},
		{"POST", "/flaky", ""},        // not idempotent: sent once
		{"POST", "/flaky", "order-7"}, // Idempotency-Key: retried
		{"GET", "/rate-limited", ""},
		{"GET", "/slow", ""},
		{"GET", "/panic", ""},
		{"GET", "/down", ""},
		{"GET", "/down", ""},
		{"GET", "/ok", ""},
	}
	for _, rq := range requests {
		events = events[:0]
		req, err := http.NewRequest(rq.method, base+rq.path, strings.NewReader(`{"item":42}`))
		if err != nil {
			return err
		}
		if rq.key != "" {
			req.Header.Set("Idempotency-Key", rq.key)
		}
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start).Round(50 * time.Millisecond)
		label := rq.method + " " + rq.path
		if rq.key != "" {
			label += " (Idempotency-Key)"
		}
		if err != nil {
			fmt.Fprintf(out, "%-36s error after %v: %v\n", label, took, short(err))
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Fprintf(out, "%-36s %s after %v: %q\n", label, resp.Status, took, strings.TrimSpace(string(body)))
		}
		for _, e := range events {
			fmt.Fprintln(out, "    ", e)
		}
	}
	fmt.Fprintln(out, "client errors by class:", clientErrors.ByClass())
	fmt.Fprintln(out, "server errors by class:", serverErrors.ByClass())
	return nil
}

// short trims the "Get "http://...": " prefix of a *url.Error.
func short(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out: " + err.Error()
	}
	return err.Error()
}
