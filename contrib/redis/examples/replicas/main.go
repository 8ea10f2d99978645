// Command replicas shows three replicas of a service sharing one circuit
// breaker through Redis, in front of a flaky upstream on loopback: one
// replica trips, the others follow within milliseconds, one probes for all
// of them in half-open, and all close together. It then runs the same story
// with three independent breakers and compares the load on the upstream
// while it was down.
//
//	go run ./examples/replicas            # starts its own redis-server
//	go run ./examples/replicas -redis 127.0.0.1:6379
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/contrib/redis"
	"github.com/seed94f50169/resilience/middleware"
)

func main() {
	addr := flag.String("redis", "", "Redis address; empty: start a redis-server on a free loopback port")
	flag.Parse()
	if _, _, err := run(os.Stdout, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// The story's timing.
const (
	healthy1    = 300 * time.Millisecond  // upstream up
	outage      = 1500 * time.Millisecond // then down
	healthy2    = 700 * time.Millisecond  // then up again
	openTimeout = 400 * time.Millisecond
)

// Replica r1 serves ten times the traffic of r2 and r3, so it learns first.
var periods = []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}

// Result is what one run measured.
type Result struct {
	OutageLoad int64 // requests that reached the upstream while it was down
	Probes     int64 // half-open probes made, all replicas together
}

// run tells the story twice, shared and independent, and returns what each
// run measured.
func run(w io.Writer, addr string) (shared, local Result, err error) {
	if addr == "" {
		stop, a, err := startRedis()
		if err != nil {
			return shared, local, err
		}
		defer stop()
		addr = a
	}
	client := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		return shared, local, fmt.Errorf("redis at %s: %w", addr, err)
	}
	fmt.Fprintf(w, "redis at %s; 3 replicas; upstream up %v, down %v, up again\n\n", addr, healthy1, outage)
	fmt.Fprintln(w, "== shared breaker (contrib/redis)")
	if shared, err = story(w, client, true); err != nil {
		return shared, local, err
	}
	fmt.Fprintln(w, "\n== three independent breakers")
	if local, err = story(w, client, false); err != nil {
		return shared, local, err
	}
	fmt.Fprintf(w, "\nupstream load while down: shared %d requests (%d probes), independent %d requests (%d probes)\n",
		shared.OutageLoad, shared.Probes, local.OutageLoad, local.Probes)
	return shared, local, nil
}

// story runs the three replicas through the upstream's outage and prints
// their timeline.
func story(w io.Writer, client *goredis.Client, share bool) (Result, error) {
	var res Result
	var down atomic.Bool
	var load atomic.Int64
	up, err := serve(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if down.Load() {
			load.Add(1)
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rw.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		return res, err
	}
	defer up.Close()
	url := "http://" + up.Addr().String() + "/"

	start := time.Now()
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%6.3fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}
	name := fmt.Sprintf("replicas-demo-%d", time.Now().UnixNano())
	var breakers []*breaker.Breaker
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := range periods {
		id := fmt.Sprintf("r%d", i+1)
		cfg := breaker.Config{
			FailureThreshold: 5, SuccessThreshold: 1, OpenTimeout: openTimeout,
			OnStateChange: func(from, to breaker.State) { say("%s: %v → %v", id, from, to) },
		}
		if !share {
			breakers = append(breakers, breaker.New(cfg))
			continue
		}
		sb, err := redis.NewBreaker(redis.BreakerConfig{
			Conn:         redis.Conn{Client: client, Timeout: 100 * time.Millisecond},
			Name:         name,
			ReplicaID:    id,
			Breaker:      cfg,
			PollInterval: 200 * time.Millisecond,
		})
		if err != nil {
			return res, err
		}
		closers = append(closers, sb.Close)
		breakers = append(breakers, sb.Breaker())
	}
	if share {
		// Wait until the three subscriptions are live.
		for {
			n, err := client.PubSubNumSub(context.Background(), "resilience:breaker:{"+name+"}:events").Result()
			if err == nil && n["resilience:breaker:{"+name+"}:events"] >= int64(len(periods)) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		start = time.Now()
	}

	say("upstream up")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	httpc := &http.Client{Timeout: time.Second}
	for i, b := range breakers {
		id := fmt.Sprintf("r%d", i+1)
		rec := &middleware.Recovery{Breaker: b}
		wg.Go(func() {
			t := time.NewTicker(periods[i])
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				middleware.Do(context.Background(), rec, func(ctx context.Context) (int, error) {
					probe := b.State() == breaker.HalfOpen
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
					resp, err := httpc.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode >= 500 {
							err = errors.New(resp.Status)
						}
					}
					if probe {
						atomic.AddInt64(&res.Probes, 1)
						say("%s: probe → %v", id, outcome(err))
					}
					return 0, err
				})
			}
		})
	}
	time.Sleep(healthy1)
	down.Store(true)
	say("upstream down")
	time.Sleep(outage)
	down.Store(false)
	say("upstream up")
	deadline := time.Now().Add(healthy2 + time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, b := range breakers {
			all = all && b.State() == breaker.Closed
		}
		if all && time.Since(start) > healthy1+outage+healthy2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	httpc.CloseIdleConnections()
	all := true
	for _, b := range breakers {
		all = all && b.State() == breaker.Closed
	}
	if all {
		say("all closed")
	} else {
		say("not all closed")
	}
	res.OutageLoad = load.Load()
	return res, nil
}

func outcome(err error) string {
	if err != nil {
		return "failed (" + err.Error() + ")"
	}
	return "ok"
}

// serve serves h on a free loopback port.
func serve(h http.Handler) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go http.Serve(l, h)
	return l, nil
}

// startRedis starts a redis-server with no persistence on a free loopback
// port, in a temporary directory.
func startRedis() (stop func(), addr string, err error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, "", errors.New("redis-server not found: install it or pass -redis ADDR")
	}
	dir, err := os.MkdirTemp("", "replicas-redis")
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return stop, addr, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	return nil, "", errors.New("redis-server did not start")
}
