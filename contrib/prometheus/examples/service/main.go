// Command service is a small HTTP service that calls a flaky upstream
// through a middleware.Recovery and exports the Recovery's metrics on
// /metrics.
//
//	go run ./examples/service -addr 127.0.0.1:8080
//
// It starts its own upstream on loopback, which fails one request in
// -fail-every (503) and takes -latency per request. GET /call makes one
// call upstream through Retry, Breaker, Bulkhead and the adaptive Limit and
// answers with the upstream's body, or 502 when every attempt failed. The
// first line it prints is "service listening on http://HOST:PORT".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	resprom "github.com/seed94f50169/resilience/contrib/prometheus"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	failEvery := flag.Int("fail-every", 3, "the upstream fails one request in this many (0: never)")
	latency := flag.Duration("latency", 5*time.Millisecond, "the upstream's latency per request")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("service listening on http://%s\n", ln.Addr())
	if err := run(ctx, ln, options{failEvery: *failEvery, latency: *latency}); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	failEvery int
	latency   time.Duration
}

// run serves the service on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, opt options) error {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var n atomic.Int64
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(opt.latency):
		case <-req.Context().Done():
			return
		}
		if opt.failEvery > 0 && n.Add(1)%int64(opt.failEvery) == 0 {
			http.Error(w, "upstream overloaded", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})}

	metrics := resprom.New(resprom.Config{Name: "upstream", Durations: true})
	rec := &middleware.Recovery{
		Retry:    &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: 10 * time.Millisecond}},
		Breaker:  breaker.New(breaker.Config{OnStateChange: metrics.OnStateChange}),
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 20, MaxQueued: 50, Observers: []bulkhead.Observer{metrics.Bulkhead()}}),
		Limit:    limit.New(limit.Config{Observers: []limit.Observer{metrics.Limit()}}),
		Timeout:  time.Second,
	}
	metrics.Instrument(rec)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)

	client := &http.Client{Transport: &http.Transport{}}
	target := "http://" + up.Addr().String() + "/"
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /call", func(w http.ResponseWriter, req *http.Request) {
		body, err := middleware.Do(req.Context(), rec, func(ctx context.Context) (string, error) {
			return get(ctx, client, target)
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.WriteString(w, body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- upstream.Serve(up) }()
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	upstream.Shutdown(sctx)
	client.CloseIdleConnections()
	for range 2 - boolInt(err != nil) {
		<-errc
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// get fetches url; a status of 500 or above is an error (*middleware.StatusError).
func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", retry.Permanent(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode >= 500 {
		return "", &middleware.StatusError{Code: resp.StatusCode}
	}
	return string(b), nil
}
