package chaos

import (
	"context"
	"flag"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

var (
	soakFor     = flag.Duration("soak", 60*time.Second, "TestSoak: how long the load runs at most")
	soakPerConn = flag.Int("soak.n", 40000, "TestSoak: requests per client goroutine at most")
)

const (
	soakClients   = 8
	soakFailEvery = 50 // the upstream answers 503 to every 50th request: 2%
)

// timing is carried in each request's context so that the transport under
// the middleware can report how long the request spent on the wire.
type timing struct {
	wire     atomic.Int64 // ns inside the base RoundTrip, all attempts
	attempts atomic.Int32
}

type timingKey struct{}

// timingRT adds the time each attempt spends in base to the request's timing.
type timingRT struct{ base http.RoundTripper }

func (rt timingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	tm, _ := req.Context().Value(timingKey{}).(*timing)
	start := time.Now()
	resp, err := rt.base.RoundTrip(req)
	if tm != nil {
		tm.wire.Add(int64(time.Since(start)))
		tm.attempts.Add(1)
	}
	return resp, err
}

// loadRun is what one run of the load measured.
type loadRun struct {
	requests, failed int
	took             time.Duration
	total            latencies // end to end, body read and closed
	added            latencies // end to end minus wire time, single-attempt requests only
	heap             []uint64  // HeapInuse after GC, sampled during the run
}

// runLoad sends GETs from soakClients goroutines, each at most perConn of
// them, until d has passed; it samples the heap every sampleEvery.
func runLoad(t *testing.T, rt http.RoundTripper, url string, perConn int, d, sampleEvery time.Duration) loadRun {
	t.Helper()
	total := make([][]time.Duration, soakClients)
	added := make([][]time.Duration, soakClients)
	for i := range total { // allocated up front, so that they do not count as growth
		total[i] = make([]time.Duration, 0, perConn)
		added[i] = make([]time.Duration, 0, perConn)
	}
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	begin := time.Now()
	for c := range soakClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perConn {
				select {
				case <-stop:
					return
				default:
				}
				var tm timing
				ctx := context.WithValue(context.Background(), timingKey{}, &tm)
				start := time.Now()
				status, _, err := get(ctx, rt, url)
				took := time.Since(start)
				if err != nil || status != http.StatusOK {
					failed.Add(1)
				}
				total[c] = append(total[c], took)
				if tm.attempts.Load() == 1 {
					added[c] = append(added[c], took-time.Duration(tm.wire.Load()))
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var run loadRun
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-tick.C:
			run.heap = append(run.heap, heapInuse())
		case <-deadline.C:
			close(stop)
			<-done
			break loop
		case <-done:
			break loop
		}
	}
	run.took = time.Since(begin)
	run.heap = append(run.heap, heapInuse())
	for c := range soakClients {
		run.total = append(run.total, total[c]...)
		run.added = append(run.added, added[c]...)
	}
	run.requests, run.failed = len(run.total), int(failed.Load())
	return run
}

// TestSoak runs 8 clients against an upstream that fails 2% of requests,
// first through a bare http.Transport (the baseline), then through a
// Recovery.Transport with every layer on, for up to -soak (60s) or -soak.n
// requests per client. It reports throughput, the latency the middleware
// adds, the heap sampled after GC and the goroutines at the end, and checks
// that every request succeeded through the middleware (the 2% are retried),
// that the heap stays flat and that nothing leaks.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped with -short")
	}
	checkLeaks(t)
	u := startUpstream(t, 512)
	u.failEvery.Store(soakFailEvery)
	url := "http://" + u.Addr() + "/soak"

	baseDur := min(*soakFor/6, 10*time.Second)
	bare := runLoad(t, timingRT{newBaseTransport(t)}, url, *soakPerConn/6+1, baseDur, time.Hour)
	t.Logf("bare http.Transport: %d requests in %v = %.0f req/s, %d not 200 (the upstream's 2%%)",
		bare.requests, round(bare.took), float64(bare.requests)/bare.took.Seconds(), bare.failed)
	t.Logf("bare end to end: %v", bare.total)

	// A small ring, full long before the first heap sample: a full ring is
	// flat, a filling one is growth by design.
	tracker := errtrack.New(errtrack.Config{Size: 100})
	rec := &middleware.Recovery{
		Retry: &retry.Policy{
			MaxAttempts: 3,
			Backoff:     backoff.Policy{Initial: time.Millisecond, Max: 10 * time.Millisecond},
			Budget:      retry.NewBudget(retry.BudgetConfig{}),
		},
		Breaker:  breaker.New(breaker.Config{FailureThreshold: 5, OpenTimeout: time.Second}),
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: soakClients}),
		Timeout:  time.Second,
		Total:    3 * time.Second,
		Tracker:  tracker,
	}
	rt := rec.Transport(timingRT{newBaseTransport(t)})
	grBefore := runtime.NumGoroutine()
	mw := runLoad(t, rt, url, *soakPerConn, *soakFor, max(*soakFor/6, time.Second))
	t.Logf("Recovery.Transport: %d requests in %v = %.0f req/s, %d failed; upstream saw %d requests",
		mw.requests, round(mw.took), float64(mw.requests)/mw.took.Seconds(), mw.failed, u.hits.Load())
	t.Logf("middleware end to end: %v", mw.total)
	t.Logf("added by the middleware (single-attempt requests, minus wire time): %v; bare: %v", mw.added, bare.added)
	t.Logf("retried requests: %d; breaker %v; tracker %v", mw.requests-len(mw.added), rec.Breaker.Stats().State, tracker.ByClass())
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	first, last := mw.heap[0], mw.heap[len(mw.heap)-1]
	t.Logf("HeapInuse after GC, sampled every %v: first %.2f MiB, last %.2f MiB (%+.2f MiB), all %v",
		max(*soakFor/6, time.Second), mib(first), mib(last), mib(last)-mib(first), mw.heap)
	t.Logf("goroutines: %d before the run, %d at the end", grBefore, runtime.NumGoroutine())

	if mw.failed != 0 {
		t.Errorf("%d of %d requests failed through the middleware; every 503 should have been retried", mw.failed, mw.requests)
	}
	if mw.requests == 0 || len(mw.added) == 0 {
		t.Fatal("no request completed")
	}
	// Flat memory: a leak of even 16 bytes per request over the run's
	// hundreds of thousands of requests would exceed this.
	const allowed = 4 << 20
	if last > first+allowed {
		t.Errorf("heap grew from %.2f MiB to %.2f MiB over %d requests", mib(first), mib(last), mw.requests)
	}
	if n := runtime.NumGoroutine(); n > grBefore+soakClients {
		t.Errorf("%d goroutines at the end, %d before", n, grBefore)
	}
}
