package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/hedge"
)

// slowFirst is an operation whose first call waits for its context to end
// and whose later calls answer after 1ms with their number.
func slowFirst() (func(context.Context) (int, error), *atomic.Int32) {
	var calls atomic.Int32
	return func(ctx context.Context) (int, error) {
		n := int(calls.Add(1))
		if n == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		time.Sleep(time.Millisecond)
		return n, nil
	}, &calls
}

func TestDoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{})
		tr := errtrack.New(errtrack.Config{})
		var retries atomic.Int32
		r := &Recovery{
			Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}, Breaker: b, Tracker: tr, Retry: fastRetry(3),
			Hooks: Hooks{OnRetry: func(Event) { retries.Add(1) }},
		}
		fn, calls := slowFirst()
		start := time.Now()
		v, err := Do(context.Background(), r, fn)
		if err != nil || v != 2 {
			t.Fatalf("Do = %d, %v; want the hedge's 2", v, err)
		}
		if took := time.Since(start); took != 11*time.Millisecond {
			t.Errorf("took %v, want 11ms (the delay and the hedge)", took)
		}
		s := b.Stats()
		if calls.Load() != 2 || s.Successes != 1 || s.Ignored != 1 || s.Failures != 0 {
			t.Errorf("%d calls, breaker %+v; want 2 calls: one success, one ignored loser", calls.Load(), s)
		}
		if tr.Total() != 0 || retries.Load() != 0 {
			t.Errorf("tracked %d, %d retries; a loser is no failure and a hedge no retry", tr.Total(), retries.Load())
		}
	})
}

func TestDoHedgedCallRetriedAsAWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := errtrack.New(errtrack.Config{})
		var retries atomic.Int32
		r := &Recovery{
			Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}, Tracker: tr, Retry: fastRetry(3),
			Hooks: Hooks{OnRetry: func(Event) { retries.Add(1) }},
		}
		var calls atomic.Int32
		v, err := Do(context.Background(), r, func(ctx context.Context) (int, error) {
			n := int(calls.Add(1))
			if n <= 4 { // both attempts of the first two rounds fail after 20ms
				time.Sleep(20 * time.Millisecond)
				return 0, fmt.Errorf("down %d", n)
			}
			return n, nil
		})
		if err != nil || v != 5 {
			t.Fatalf("Do = %d, %v; want 5", v, err)
		}
		if calls.Load() != 5 || retries.Load() != 2 || tr.Total() != 4 {
			t.Errorf("%d calls, %d retries, %d tracked; want 5, 2, 4", calls.Load(), retries.Load(), tr.Total())
		}
	})
}

func TestDoHedgeRejectedByBulkheadLeavesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One bulkhead slot: the hedge is refused, the first attempt goes on.
		r := &Recovery{Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}, Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue}), Retry: fastRetry(2)}
		var calls atomic.Int32
		v, err := Do(context.Background(), r, func(ctx context.Context) (int, error) {
			calls.Add(1)
			time.Sleep(30 * time.Millisecond)
			return 7, nil
		})
		if err != nil || v != 7 || calls.Load() != 1 {
			t.Fatalf("Do = %d, %v after %d calls; want the first attempt's 7", v, err, calls.Load())
		}
		if s := r.Hedge.Stats(); s.Hedges != 1 {
			t.Errorf("hedge stats %+v, want one hedge sent (and refused by the bulkhead)", s)
		}
	})
}

// hedgeBase is a base transport whose first request waits for its
// context to end, and whose others answer after 1ms with their number and
// the body they were sent.
type hedgeBase struct {
	n      atomic.Int32
	mu     sync.Mutex
	bodies []string
	closed atomic.Int32 // response bodies closed
}

func (f *hedgeBase) RoundTrip(req *http.Request) (*http.Response, error) {
	n := int(f.n.Add(1))
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
	}
	if n == 1 {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	time.Sleep(time.Millisecond)
	return &http.Response{StatusCode: 200, Body: &hedgeBody{Reader: strings.NewReader(fmt.Sprintf("ok %d", n)), n: &f.closed}, Request: req}, nil
}

type hedgeBody struct {
	io.Reader
	n *atomic.Int32
}

func (c *hedgeBody) Close() error { c.n.Add(1); return nil }

func TestTransportHedges(t *testing.T) {
	get := func() *http.Request { r, _ := http.NewRequest(http.MethodGet, "http://backend/x", nil); return r }
	post := func(key string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://backend/x", strings.NewReader("payload"))
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantBody   string
		wantSent   []string // request bodies the base saw
		wantHedges uint64
	}{
		{"GET is hedged", get(), "ok 2", nil, 1},
		{"keyed POST is hedged, its body replayed", post("k1"), "ok 2", []string{"payload", "payload"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base := &hedgeBase{}
				r := &Recovery{Hedge: &hedge.Policy{Delay: 5 * time.Millisecond}, Timeout: time.Minute, Total: time.Minute}
				start := time.Now()
				resp, err := r.Transport(base).RoundTrip(tt.req)
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took != 6*time.Millisecond {
					t.Errorf("took %v, want 6ms", took)
				}
				if body := readAll(t, resp); body != tt.wantBody {
					t.Errorf("body %q, want %q", body, tt.wantBody)
				}
				if s := r.Hedge.Stats(); s.Hedges != tt.wantHedges || s.Won != tt.wantHedges {
					t.Errorf("hedge stats %+v, want %d hedges that won", s, tt.wantHedges)
				}
				if fmt.Sprint(base.bodies) != fmt.Sprint(tt.wantSent) {
					t.Errorf("bodies sent %q, want %q", base.bodies, tt.wantSent)
				}
			})
		})
	}

	// A POST without a key is sent once, and waits.
	synctest.Test(t, func(t *testing.T) {
		base := &hedgeBase{}
		r := &Recovery{Hedge: &hedge.Policy{Delay: 5 * time.Millisecond}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := r.Transport(base).RoundTrip(post("").WithContext(ctx))
		if !errors.Is(err, context.DeadlineExceeded) || base.n.Load() != 1 || r.Hedge.Stats().Calls != 0 {
			t.Errorf("err %v after %d requests, %d hedged calls; want the deadline after 1 unhedged request", err, base.n.Load(), r.Hedge.Stats().Calls)
		}
	})
}

func TestTransportHedgeLoserDrained(t *testing.T) {
	// Both attempts answer 200 at the same instant: one is returned, the
	// other's body is closed.
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int32
		var n atomic.Int32
		base := rtFunc(func(req *http.Request) (*http.Response, error) {
			i := n.Add(1)
			time.Sleep(time.Duration(20-10*(i-1)) * time.Millisecond) // both answer at 20ms
			return &http.Response{StatusCode: 200, Body: &hedgeBody{Reader: strings.NewReader("ok"), n: &closed}}, nil
		})
		r := &Recovery{Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}}
		req, _ := http.NewRequest(http.MethodGet, "http://backend/x", nil)
		resp, err := r.Transport(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if closed.Load() != 1 {
			t.Errorf("%d bodies closed before the caller's, want the loser's", closed.Load())
		}
		resp.Body.Close()
		if closed.Load() != 2 {
			t.Errorf("%d bodies closed, want 2", closed.Load())
		}
	})
}

// connCounter counts a server's open connections and signals when none
// is left.
type connCounter struct {
	mu    sync.Mutex
	open  int
	total int
	zero  chan struct{} // closed, and replaced, each time open drops to 0
}

func (c *connCounter) state(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateNew:
		c.open++
		c.total++
	case http.StateClosed, http.StateHijacked:
		c.open--
		if c.open == 0 {
			close(c.zero)
			c.zero = make(chan struct{})
		}
	}
}

func TestTransportHedgesLeaveNothingBehind(t *testing.T) {
	// 10,000 hedged calls, a quarter or more of them hedged (a losing
	// attempt is cancelled, which closes its connection): no
	// goroutine (goleak, at the end of the package's tests) and no
	// connection stays open, and every response is whole.
	const calls, workers = 10_000, 8
	cc := &connCounter{zero: make(chan struct{})}
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if requests.Add(1)%4 == 1 { // slow until the client gives up
			select {
			case <-req.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = cc.state
	srv.Start()
	defer srv.Close()
	r := &Recovery{Hedge: &hedge.Policy{Delay: 5 * time.Millisecond}, Timeout: time.Minute}
	base := &http.Transport{MaxIdleConnsPerHost: workers}
	c := &http.Client{Transport: r.Transport(base)}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range workers {
		wg.Go(func() {
			for range calls / workers {
				resp, err := c.Get(srv.URL)
				if err != nil {
					failed.Add(1)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != "ok" {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d calls failed", failed.Load(), calls)
	}
	s := r.Hedge.Stats()
	if s.Calls != calls || s.Hedges < calls/8 {
		t.Errorf("hedge stats %+v: want %d calls, many hedged", s, calls)
	}
	cc.mu.Lock()
	zero := cc.zero
	open := cc.open
	cc.mu.Unlock()
	c.CloseIdleConnections()
	if open > 0 {
		select {
		case <-zero:
		case <-time.After(10 * time.Second):
			cc.mu.Lock()
			t.Errorf("%d connections still open", cc.open)
			cc.mu.Unlock()
		}
	}
	t.Logf("%d calls, %d hedges (%d won), %d connections opened", s.Calls, s.Hedges, s.Won, cc.total)
}

func TestHedgeFailureStatusReturnsResponse(t *testing.T) {
	// Both attempts answer 503: the caller gets one of the responses, the
	// other is drained.
	srv := newServer(t, func(w http.ResponseWriter, req *http.Request, n int) {
		time.Sleep(10 * time.Millisecond)
		http.Error(w, fmt.Sprintf("down %d", n), http.StatusServiceUnavailable)
	})
	r := &Recovery{Hedge: &hedge.Policy{Delay: time.Millisecond}}
	resp, err := client(t, r).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 503 || !strings.HasPrefix(body, "down ") {
		t.Errorf("%d %q, want a 503 response", resp.StatusCode, body)
	}
	if srv.requests.Load() != 2 {
		t.Errorf("%d requests, want 2", srv.requests.Load())
	}

}

func TestValidateHedge(t *testing.T) {
	for _, tt := range []struct {
		h    *hedge.Policy
		want string
	}{
		{&hedge.Policy{}, ""},
		{&hedge.Policy{MaxHedges: -1}, "middleware: Hedge: hedge: MaxHedges"},
	} {
		err := (&Recovery{Hedge: tt.h}).Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("Validate() = %v, want prefix %q", err, tt.want)
		}
	}
}

func TestDoHedgePanics(t *testing.T) {
	// The hedge panics while the first attempt waits: the panic reaches the
	// caller once the first attempt has been ended, and the breaker counts
	// it as a failure.
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{})
		r := &Recovery{Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}, Breaker: b}
		var calls atomic.Int32
		defer func() {
			if v := recover(); v != "hedge boom" {
				t.Errorf("recovered %v, want hedge boom", v)
			}
			if s := b.Stats(); s.Failures != 1 || s.Ignored != 1 {
				t.Errorf("breaker %+v, want the panic as a failure and the ended first attempt ignored", s)
			}
		}()
		Do(context.Background(), r, func(ctx context.Context) (int, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			panic("hedge boom")
		})
		t.Error("Do returned")
	})
}
