package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/retry"
)

// The same workloads through the real hedge.Do, in a synctest bubble so
// that a simulated second takes microseconds.

func policyOf(s strategy) *hedge.Policy {
	p := &hedge.Policy{Delay: s.delay}
	if s.budget {
		p.Budget = retry.NewBudget(retry.BudgetConfig{})
	}
	return p
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// realFanout is fanout with hedge.Do.
func realFanout(t *testing.T, w workload, s strategy, requests, fan int) result {
	var res result
	synctest.Test(t, func(t *testing.T) {
		p := policyOf(s)
		for r := range requests {
			start := time.Now()
			var wg sync.WaitGroup
			for sub := range fan {
				wg.Go(func() {
					var attempt atomic.Int32
					call := func(ctx context.Context) (int, error) {
						a := int(attempt.Add(1))
						return a, sleep(ctx, w.latency(r, sub, a))
					}
					if !s.hedge {
						call(context.Background())
						return
					}
					if _, err := hedge.Do(context.Background(), p, call); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			res.latencies = append(res.latencies, time.Since(start))
		}
		res.subs = requests * fan
		res.hedges = int(p.Stats().Hedges)
	})
	slices.Sort(res.latencies)
	return res
}

// realOverload is overload with hedge.Do.
func realOverload(t *testing.T, w workload, s strategy) result {
	var res result
	synctest.Test(t, func(t *testing.T) {
		p := policyOf(s)
		var mu sync.Mutex
		busy := make([]time.Time, w.servers)
		lat := make([]time.Duration, 0, 1<<16)
		// serve queues work on a server and returns when it is done.
		serve := func(server int, work time.Duration) time.Time {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			start := busy[server]
			if start.Before(now) {
				start = now
			}
			busy[server] = start.Add(work)
			return busy[server]
		}
		var wg sync.WaitGroup
		begin := time.Now()
		for r := 0; ; r++ {
			time.Sleep(w.interarrival(r))
			if time.Since(begin) >= w.duration {
				break
			}
			res.subs++
			wg.Go(func() {
				start := time.Now()
				var attempt atomic.Int32
				var first atomic.Int32
				call := func(ctx context.Context) (int, error) {
					a := int(attempt.Add(1))
					prev := -1
					if a > 1 {
						prev = int(first.Load())
					}
					server := w.server(r, a, prev)
					if a == 1 {
						first.Store(int32(server))
					}
					done := serve(server, w.service(r, 0, a))
					return a, sleep(ctx, time.Until(done))
				}
				if s.hedge {
					hedge.Do(context.Background(), p, call)
				} else {
					call(context.Background())
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		res.latencies = lat
		res.hedges = int(p.Stats().Hedges)
	})
	slices.Sort(res.latencies)
	return res
}
