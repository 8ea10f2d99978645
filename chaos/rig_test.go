package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// The client configuration every Transport scenario uses: small numbers so
// that a scenario takes seconds, not minutes.
const (
	maxAttempts      = 3
	failureThreshold = 5
	openTimeout      = 400 * time.Millisecond
	attemptTimeout   = 300 * time.Millisecond
	totalBudget      = 1200 * time.Millisecond
	budgetRatio      = 0.1
	budgetFloor      = 10 // retries per second whatever the traffic
	// slack is how far past its budget a request may end: timer firing,
	// goroutine scheduling and the race detector on a loaded 2-core machine.
	slack = 250 * time.Millisecond
)

// countingRT sits between the resilient Transport and the network and counts
// every attempt that reached it, by method and request id.
type countingRT struct {
	base     http.RoundTripper
	total    atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	attempts map[string]int
	spans    map[string][]span
}

// span is one attempt on the wire, for explaining a slow request.
type span struct {
	start, end time.Time
	err        error
	status     int
}

func (c *countingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	c.total.Add(1)
	key := req.Method + " " + req.Header.Get(idHeader)
	c.mu.Lock()
	c.attempts[key]++
	c.mu.Unlock()
	sp := span{start: time.Now()}
	resp, err := c.base.RoundTrip(req)
	sp.end, sp.err = time.Now(), err
	if err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		c.failures.Add(1)
	}
	if resp != nil {
		sp.status = resp.StatusCode
	}
	c.mu.Lock()
	c.spans[key] = append(c.spans[key], sp)
	c.mu.Unlock()
	return resp, err
}

// Explain describes the attempts of one request relative to its start.
func (c *countingRT) Explain(res result) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for i, sp := range c.spans[res.method+" "+res.id] {
		s += fmt.Sprintf(" attempt %d: %v→%v status %d err %v;", i+1,
			round(sp.start.Sub(res.start)), round(sp.end.Sub(res.start)), sp.status, sp.err)
	}
	return s + fmt.Sprintf(" headers at %v, ended at %v", round(res.headers), round(res.took))
}

func (c *countingRT) Attempts(method, id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts[method+" "+id]
}

// transition is one breaker state change, with when it happened.
type transition struct {
	at       time.Time
	from, to breaker.State
	failures int64 // failed attempts seen by countingRT when it happened
}

// rig is a resilient client, a fault proxy and a flaky upstream wired
// together: client → Recovery.Transport → countingRT → Toxiproxy → upstream.
type rig struct {
	t       *testing.T
	u       *upstream
	p       *faultProxy
	tr      *http.Transport
	count   *countingRT
	client  http.RoundTripper
	breaker *breaker.Breaker
	budget  *retry.Budget
	tracker *errtrack.Tracker
	retries atomic.Int64 // retries announced by the Recovery hooks
	rejects atomic.Int64 // attempts refused by the breaker
	mu      sync.Mutex
	changes []transition
	nextID  atomic.Int64
}

// newRig checks for leaks (registered first, so it runs after every other
// cleanup) and builds the chain with a body of bodySize bytes.
func newRig(t *testing.T, bodySize int) *rig {
	checkLeaks(t)
	r := &rig{t: t}
	r.u = startUpstream(t, bodySize)
	r.p = startProxy(t, r.u.Addr())
	r.tr = newBaseTransport(t)
	r.count = &countingRT{base: r.tr, attempts: map[string]int{}, spans: map[string][]span{}}
	r.budget = retry.NewBudget(retry.BudgetConfig{Ratio: budgetRatio, MinPerSecond: budgetFloor})
	r.tracker = errtrack.New(errtrack.Config{})
	r.breaker = breaker.New(breaker.Config{
		FailureThreshold: failureThreshold,
		SuccessThreshold: 1,
		OpenTimeout:      openTimeout,
		OnStateChange: func(from, to breaker.State) {
			r.mu.Lock()
			r.changes = append(r.changes, transition{time.Now(), from, to, r.count.failures.Load()})
			r.mu.Unlock()
		},
	})
	rec := &middleware.Recovery{
		Retry: &retry.Policy{
			MaxAttempts: maxAttempts,
			Backoff:     backoff.Policy{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond},
			Budget:      r.budget,
		},
		Breaker: r.breaker,
		Timeout: attemptTimeout,
		Total:   totalBudget,
		Tracker: r.tracker,
		Hooks: middleware.Hooks{
			OnRetry:  func(middleware.Event) { r.retries.Add(1) },
			OnReject: func(middleware.Event) { r.rejects.Add(1) },
		},
	}
	r.client = rec.Transport(r.count)
	return r
}

// result is how one request ended.
type result struct {
	method  string
	id      string
	start   time.Time
	headers time.Duration // when RoundTrip returned
	took    time.Duration
	status  int
	err     error
}

// outcome names a result: "200", "503", or the error's class.
func (res result) outcome() string {
	if res.err != nil {
		return string(errtrack.Classify(res.err))
	}
	return strconv.Itoa(res.status)
}

// do sends one request (GET, or POST with a replayable body and no
// Idempotency-Key) and reads the whole response body: the request ends when
// its body is read and closed.
func (r *rig) do(method string) result {
	id := strconv.FormatInt(r.nextID.Add(1), 10)
	res := result{method: method, id: id}
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte(`{"event":` + id + `}`)) // GetBody is set: replay would be possible
	}
	res.start = time.Now()
	req, err := http.NewRequestWithContext(context.Background(), method, r.p.URL()+"/item/"+id, body)
	if err != nil {
		res.err = err // cannot happen with these URLs; reported as unclassified
		return res
	}
	req.Header.Set(idHeader, id)
	resp, err := r.client.RoundTrip(req)
	res.headers = time.Since(res.start)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.status = resp.StatusCode
	}
	res.err = err
	res.took = time.Since(res.start)
	return res
}

// load sends n requests from each of workers goroutines, alternating GET and
// POST, and returns every result.
func (r *rig) load(workers, n int) []result {
	var mu sync.Mutex
	var all []result
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				method := http.MethodGet
				if (w+i)%2 == 1 {
					method = http.MethodPost
				}
				res := r.do(method)
				mu.Lock()
				all = append(all, res)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

// transitions returns a copy of the breaker's state changes so far.
func (r *rig) transitions() []transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transition(nil), r.changes...)
}

// summary counts results by outcome.
func summary(results []result) string {
	counts := map[string]int{}
	for _, res := range results {
		counts[res.method+" "+res.outcome()]++
	}
	return fmt.Sprint(counts)
}
