package chaos

import (
	"context"
	"flag"
	"io"
	"net/http"
	"runtime"
	"strconv"
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
	soakClients    = 8
	soakFailEvery  = 50 // the first attempt of every 50th request gets a 503: 2%
	soakPanicEvery = 70 // the first attempt of every 70th request panics in the handler
)

// timing is carried in each request's context so that the transport under
// the middleware can report how long the request spent on the wire.
type timing struct {
	wire     atomic.Int64 // ns inside the base RoundTrip, all attempts
	attempts atomic.Int32
}

// wireStats counts what the network gave the soak's clients.
type wireStats struct {
	status500, status503, errors atomic.Int64
}

type timingKey struct{}

// timingRT adds the time each attempt spends in base to the request's
// timing, and counts failures.
type timingRT struct {
	base http.RoundTripper
	wire *wireStats
}

func (rt timingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	tm, _ := req.Context().Value(timingKey{}).(*timing)
	start := time.Now()
	resp, err := rt.base.RoundTrip(req)
	switch {
	case err != nil:
		rt.wire.errors.Add(1) // attempt timeouts on a loaded machine, or broken connections
	case resp.StatusCode == http.StatusInternalServerError:
		rt.wire.status500.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable:
		rt.wire.status503.Add(1)
	}
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
func runLoad(t *testing.T, rt http.RoundTripper, url string, ids *atomic.Int64, perConn int, d, sampleEvery time.Duration) loadRun {
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
				status, err := getID(ctx, rt, url, ids.Add(1))
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

// getID sends one GET carrying a request id and reads the whole body.
func getID(ctx context.Context, rt http.RoundTripper, url string, id int64) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set(idHeader, strconv.FormatInt(id, 10))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// TestSoak runs 8 clients against an upstream served through
// Recovery.Handler (bulkhead, request timeout, panic recovery, tracking)
// whose handler fails the first attempt of 2% of requests with a 503 and
// panics on the first attempt of another 1.4%. The clients go first through
// a bare http.Transport (the baseline), then through a Recovery.Transport
// with every layer on, for up to -soak (60s) or -soak.n requests per client.
// It reports throughput, the latency the middleware adds, the heap sampled
// after GC and the goroutines at the end, and checks that every request
// succeeded through the middleware (every failed first attempt is retried),
// that every panic became exactly one 500 and no broken connection, that the
// server tracked each failed request once, that the heap stays flat and that
// nothing leaks.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped with -short")
	}
	checkLeaks(t)
	serverTracker := errtrack.New(errtrack.Config{Size: 100})
	server := &middleware.Recovery{
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 4, MaxQueued: 64, QueueTimeout: time.Second}),
		Timeout:  time.Second,
		Tracker:  serverTracker,
	}
	u := startUpstreamWith(t, 512, server.Handler)
	u.noCount.Store(true)
	u.failFirst.Store(soakFailEvery)
	u.panicFirst.Store(soakPanicEvery)
	url := "http://" + u.Addr() + "/soak"
	var ids atomic.Int64

	var bareWire wireStats
	baseDur := min(*soakFor/6, 10*time.Second)
	bare := runLoad(t, timingRT{newBaseTransport(t), &bareWire}, url, &ids, *soakPerConn/6+1, baseDur, time.Hour)
	t.Logf("bare http.Transport: %d requests in %v = %.0f req/s, %d not 200 (the injected 503s and panics)",
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
		Timeout:  2 * time.Second, // generous: the soak is about stability, not timing
		Total:    5 * time.Second,
		Tracker:  tracker,
	}
	var wire wireStats
	base := newBaseTransport(t)
	rt := rec.Transport(timingRT{base, &wire})
	grBefore := runtime.NumGoroutine()
	sampleEvery := max(*soakFor/6, time.Second)
	mw := runLoad(t, rt, url, &ids, *soakPerConn, *soakFor, sampleEvery)
	t.Logf("Recovery.Transport: %d requests in %v = %.0f req/s, %d failed; upstream saw %d requests, %d panics",
		mw.requests, round(mw.took), float64(mw.requests)/mw.took.Seconds(), mw.failed, u.hits.Load(), u.panics.Load())
	t.Logf("middleware end to end: %v", mw.total)
	t.Logf("added by the middleware (single-attempt requests, minus wire time): %v; bare: %v", mw.added, bare.added)
	t.Logf("on the wire: %d 500s, %d 503s, %d transport errors; retried requests %d; client breaker %v; client tracker %v; server tracker %v",
		wire.status500.Load(), wire.status503.Load(), wire.errors.Load(), mw.requests-len(mw.added),
		rec.Breaker.Stats().State, tracker.ByClass(), serverTracker.ByClass())
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	first, last := mw.heap[0], mw.heap[len(mw.heap)-1]
	t.Logf("HeapInuse after GC, sampled every %v: first %.2f MiB, last %.2f MiB (%+.2f MiB), all %v",
		sampleEvery, mib(first), mib(last), mib(last)-mib(first), mw.heap)
	// The run's connections are idle now; once they are closed, the
	// goroutines must be back to what they were before the run.
	base.CloseIdleConnections()
	grAfter := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); grAfter > grBefore && time.Now().Before(deadline); grAfter = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("goroutines: %d before the run, %d at the end (idle connections closed)", grBefore, grAfter)

	if mw.requests == 0 || len(mw.added) == 0 {
		t.Fatal("no request completed")
	}
	if mw.failed != 0 {
		t.Errorf("%d of %d requests failed through the middleware; every failed first attempt should have been retried", mw.failed, mw.requests)
	}
	// Every panic became exactly one 500 (a broken connection instead
	// would show as a missing 500 here).
	if got, want := bareWire.status500.Load()+wire.status500.Load(), u.panics.Load(); got != want {
		t.Errorf("%d responses were 500 for %d panics; want one each", got, want)
	}
	fails := bareWire.status500.Load() + wire.status500.Load() + bareWire.status503.Load() + wire.status503.Load()
	if got := serverTracker.Total(); got != uint64(fails) {
		t.Errorf("server tracker counted %d failed requests, the clients received %d", got, fails)
	}
	// Flat memory: a leak of even 16 bytes per request over the run's
	// requests would exceed this.
	const allowed = 4 << 20
	if last > first+allowed {
		t.Errorf("heap grew from %.2f MiB to %.2f MiB over %d requests", mib(first), mib(last), mw.requests)
	}
	if grAfter > grBefore {
		t.Errorf("%d goroutines at the end, %d before", grAfter, grBefore)
	}
}
