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
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/timeout"
)

// server is an httptest server that counts requests and connections.
type server struct {
	*httptest.Server
	requests atomic.Int32
	conns    atomic.Int32 // connections opened
	mu       sync.Mutex
	bodies   []string // request bodies, in order
}

// newServer starts a loopback server; h gets the request number (1-based).
func newServer(t *testing.T, h func(w http.ResponseWriter, req *http.Request, n int)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(s.requests.Add(1))
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		h(w, req, n)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// client returns an http.Client using r over a fresh transport, closed at
// the end of the test.
func client(t *testing.T, r *Recovery) *http.Client {
	t.Helper()
	base := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: r.Transport(base)}
}

// quickRetry retries after 1ms with no jitter.
func quickRetry(attempts int) *retry.Policy {
	return &retry.Policy{
		MaxAttempts: attempts,
		Backoff:     backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: backoff.NoJitter},
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// failUntil answers 503 to the first n requests, then 200.
func failUntil(n int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, i int) {
		if i <= n {
			http.Error(w, fmt.Sprintf("down %d", i), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok %d", i)
	}
}

func TestTransportRetriesIdempotent(t *testing.T) {
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			srv := newServer(t, failUntil(2))
			req, _ := http.NewRequest(method, srv.URL, nil)
			resp, err := client(t, &Recovery{Retry: quickRetry(3)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != 200 || srv.requests.Load() != 3 {
				t.Fatalf("status %d after %d requests; want 200 after 3", resp.StatusCode, srv.requests.Load())
			}
			if method != "HEAD" && body != "ok 3" {
				t.Errorf("body %q", body)
			}
		})
	}
}

func TestTransportExhaustedReturnsLastResponse(t *testing.T) {
	srv := newServer(t, failUntil(100))
	tr := errtrack.New(errtrack.Config{})
	resp, err := client(t, &Recovery{Retry: quickRetry(3), Tracker: tr}).Get(srv.URL)
	if err != nil {
		t.Fatalf("err = %v, want the last response", err)
	}
	if body := readAll(t, resp); resp.StatusCode != 503 || body != "down 3\n" {
		t.Fatalf("got %d %q, want the third 503", resp.StatusCode, body)
	}
	if tr.Total() != 3 || tr.ByClass()[errtrack.Unavailable] != 3 {
		t.Errorf("tracked %v, want 3 service_unavailable", tr.ByClass())
	}
	if srv.conns.Load() != 1 {
		t.Errorf("%d connections, want 1: discarded responses must be drained", srv.conns.Load())
	}
}

func TestTransportNonIdempotentSentOnce(t *testing.T) {
	tests := []struct {
		name string
		req  func(url string) *http.Request
		want int32
	}{
		{"POST", func(url string) *http.Request {
			req, _ := http.NewRequest("POST", url, strings.NewReader("pay"))
			return req
		}, 1},
		{"PATCH", func(url string) *http.Request {
			req, _ := http.NewRequest("PATCH", url, nil)
			return req
		}, 1},
		{"POST with Idempotency-Key", func(url string) *http.Request {
			req, _ := http.NewRequest("POST", url, strings.NewReader("pay"))
			req.Header.Set("Idempotency-Key", "k1")
			return req
		}, 3},
		{"POST with X-Idempotency-Key", func(url string) *http.Request {
			req, _ := http.NewRequest("POST", url, strings.NewReader("pay"))
			req.Header.Set("X-Idempotency-Key", "k1")
			return req
		}, 3},
		{"POST with key, body not replayable", func(url string) *http.Request {
			req, _ := http.NewRequest("POST", url, io.MultiReader(strings.NewReader("pay")))
			req.Header.Set("Idempotency-Key", "k1")
			return req
		}, 1},
		{"PUT, body not replayable", func(url string) *http.Request {
			req, _ := http.NewRequest("PUT", url, io.MultiReader(strings.NewReader("pay")))
			return req
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, failUntil(100))
			resp, err := client(t, &Recovery{Retry: quickRetry(3)}).Do(tt.req(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			if resp.StatusCode != 503 || srv.requests.Load() != tt.want {
				t.Fatalf("status %d after %d requests, want 503 after %d", resp.StatusCode, srv.requests.Load(), tt.want)
			}
		})
	}
}

// TestTransportGetBodyFails checks that a body GetBody cannot make again is
// a local failure: RoundTrip returns its error without another attempt, and
// the breaker (which here would count any error) does not hear of it.
func TestTransportGetBodyFails(t *testing.T) {
	srv := newServer(t, failUntil(5))
	errGone := errors.New("payload file removed")
	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("the payload"))
	getBody := 0
	req.GetBody = func() (io.ReadCloser, error) { getBody++; return nil, errGone }
	b := breaker.New(breaker.Config{FailureThreshold: 2, IsIgnored: func(error) bool { return false }})
	_, err := client(t, &Recovery{Retry: quickRetry(5), Breaker: b}).Do(req)
	if !errors.Is(err, errGone) {
		t.Fatalf("err = %v, want GetBody's error", err)
	}
	srv.mu.Lock()
	sent := len(srv.bodies)
	srv.mu.Unlock()
	if s := b.Stats(); sent != 1 || getBody != 1 || s.Failures != 1 || s.State != breaker.Closed {
		t.Fatalf("%d requests sent, GetBody called %d times, breaker %+v; want 1, 1 and one failure (the 503)", sent, getBody, s)
	}
}

func TestTransportReplaysBody(t *testing.T) {
	srv := newServer(t, failUntil(2))
	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("the payload"))
	resp, err := client(t, &Recovery{Retry: quickRetry(3)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.bodies) != 3 {
		t.Fatalf("%d requests, want 3", len(srv.bodies))
	}
	for i, b := range srv.bodies {
		if b != "the payload" {
			t.Errorf("request %d body %q, want the whole payload", i+1, b)
		}
	}
}

func TestTransportRetryAfter(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			io.WriteString(w, "ok")
		})
		var delays []time.Duration
		p := quickRetry(3)
		p.OnRetry = func(a retry.Attempt) { delays = append(delays, a.Delay) }
		tr := errtrack.New(errtrack.Config{})
		// The 3s hint is clamped to 5ms to keep the test quick.
		r := &Recovery{Retry: p, Tracker: tr, MaxRetryAfter: 5 * time.Millisecond}
		resp, err := client(t, r).Get(srv.URL)
		if err != nil || readAll(t, resp) != "ok" {
			t.Fatalf("err = %v", err)
		}
		if len(delays) != 1 || delays[0] != 5*time.Millisecond {
			t.Errorf("retry delays %v, want [5ms]: the clamped hint beats the 1ms backoff", delays)
		}
		if tr.ByClass()[errtrack.RateLimit] != 1 {
			t.Errorf("tracked %v, want one rate_limit", tr.ByClass())
		}
	})
	t.Run("beyond the budget", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		})
		r := &Recovery{Retry: quickRetry(3), Total: 10 * time.Second}
		start := time.Now()
		resp, err := client(t, r).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, resp) != "busy\n" || resp.StatusCode != 503 || srv.requests.Load() != 1 {
			t.Fatalf("status %d after %d requests; want the first 503 back", resp.StatusCode, srv.requests.Load())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: a wait past the budget must not be started", took)
		}
	})
}

func TestTransportBreakerFailsFast(t *testing.T) {
	srv := newServer(t, failUntil(100))
	b := breaker.New(breaker.Config{FailureThreshold: 2, OpenTimeout: time.Hour})
	c := client(t, &Recovery{Breaker: b})
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	_, err := c.Get(srv.URL)
	if !errors.Is(err, breaker.ErrOpen) || srv.requests.Load() != 2 {
		t.Fatalf("err = %v after %d requests; want ErrOpen without a request", err, srv.requests.Load())
	}
}

func TestTransportHostBreakers(t *testing.T) {
	bad := newServer(t, failUntil(100))
	good := newServer(t, failUntil(0))
	var mu sync.Mutex
	var changes []string
	r := &Recovery{
		HostBreaker: &breaker.Config{FailureThreshold: 1, OpenTimeout: time.Hour},
		Hooks: Hooks{OnStateChange: func(host string, from, to breaker.State) {
			mu.Lock()
			changes = append(changes, fmt.Sprintf("%s %v->%v", host, from, to))
			mu.Unlock()
		}},
	}
	c := client(t, r)
	resp, err := c.Get(bad.URL)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if _, err := c.Get(bad.URL); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("bad host: err = %v, want ErrOpen", err)
	}
	resp, err = c.Get(good.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("good host: %v, %v; its breaker is its own", resp, err)
	}
	readAll(t, resp)
	mu.Lock()
	defer mu.Unlock()
	want := bad.Listener.Addr().String() + " closed->open"
	if len(changes) != 1 || changes[0] != want {
		t.Errorf("state changes %q, want [%q]", changes, want)
	}
}

func TestTransportErrorWrapped(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connections are refused
	_, err = client(t, &Recovery{Retry: quickRetry(2)}).Get("http://" + addr)
	var ex *retry.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 2 {
		t.Fatalf("err = %v, want a retry.ExhaustedError after 2 attempts", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to match ECONNREFUSED", err)
	}
}

func TestTransportAttemptTimeout(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, req *http.Request, n int) {
		if n < 3 {
			<-req.Context().Done() // hangs until the client gives up
			return
		}
		io.WriteString(w, "ok")
	})
	tr := errtrack.New(errtrack.Config{})
	r := &Recovery{Retry: quickRetry(3), Timeout: 250 * time.Millisecond, Tracker: tr}
	resp, err := client(t, r).Get(srv.URL)
	if err != nil || readAll(t, resp) != "ok" {
		t.Fatalf("err = %v", err)
	}
	if tr.ByClass()[errtrack.Timeout] != 2 {
		t.Errorf("tracked %v, want 2 timeouts", tr.ByClass())
	}
	recent := tr.Recent()
	var te *timeout.Error
	if len(recent) == 0 || !errors.As(recent[0].Err, &te) || te.Limit != 250*time.Millisecond {
		t.Errorf("recent %+v, want a *timeout.Error of 250ms", recent)
	}

	// Every attempt times out: the error says so.
	r.Retry = quickRetry(2)
	srv.requests.Store(-10)
	_, err = client(t, r).Get(srv.URL)
	if !errors.Is(err, timeout.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a timeout", err)
	}
}

func TestTransportBodyOutlivesRoundTrip(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		io.WriteString(w, "head ")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "tail")
	})
	r := &Recovery{Retry: quickRetry(2), Timeout: time.Minute, Total: time.Minute}
	resp, err := client(t, r).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	close(release) // the rest of the body is sent after RoundTrip returned
	if body := readAll(t, resp); body != "head tail" {
		t.Fatalf("body %q, want it whole", body)
	}
}

func TestTransportNoConnectionLeak(t *testing.T) {
	big := strings.Repeat("x", 32<<10)
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n%2 == 1 {
			http.Error(w, big, http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok")
	})
	c := client(t, &Recovery{Retry: quickRetry(2)})
	for range 20 {
		resp, err := c.Get(srv.URL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v, %v", resp, err)
		}
		readAll(t, resp)
	}
	if srv.requests.Load() != 40 || srv.conns.Load() != 1 {
		t.Fatalf("%d requests over %d connections; want 40 over 1", srv.requests.Load(), srv.conns.Load())
	}
}

func TestTransportClosesUnsentBody(t *testing.T) {
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenTimeout: time.Hour})
	p, _ := b.Allow()
	p.Done(errBoom) // open
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", "http://127.0.0.1:1", body)
	_, err := (&Recovery{Breaker: b}).Transport(nil).RoundTrip(req)
	if !errors.Is(err, breaker.ErrOpen) || body.closed.Load() != 1 {
		t.Fatalf("err = %v, body closed %d times; want ErrOpen and the body closed once", err, body.closed.Load())
	}
}

type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

func TestTransportCanceledWhileWaiting(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := quickRetry(3)
	p.OnRetry = func(retry.Attempt) { cancel() } // the caller gives up during the 30s wait
	c := client(t, &Recovery{Retry: p})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := c.Do(req)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrStatus) || resp != nil {
		t.Fatalf("got %v, %v; want an error matching both the cancellation and the 503", resp, err)
	}
	resp, err = c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, resp) != "ok" || srv.conns.Load() != 1 {
		t.Errorf("%d connections; the discarded 503 must have freed its connection", srv.conns.Load())
	}
}

func TestTransportBulkheadFull(t *testing.T) {
	srv := newServer(t, failUntil(0))
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue})
	if err := bh.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer bh.Release()
	tr := errtrack.New(errtrack.Config{})
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("PUT", srv.URL, body)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	_, err := client(t, &Recovery{Retry: quickRetry(3), Bulkhead: bh, Tracker: tr}).Do(req)
	if !errors.Is(err, bulkhead.ErrFull) || srv.requests.Load() != 0 || tr.Total() != 1 {
		t.Fatalf("err = %v, %d requests, %d tracked; want one ErrFull, not retried", err, srv.requests.Load(), tr.Total())
	}
	if body.closed.Load() != 1 {
		t.Errorf("unsent body closed %d times, want 1", body.closed.Load())
	}
	if tr.ByClass()[errtrack.BulkheadFull] != 1 {
		t.Errorf("tracked %v, want bulkhead_full", tr.ByClass())
	}
}

func TestTransportInvalidHostBreaker(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); !strings.HasPrefix(p, "middleware: HostBreaker: breaker: ") {
			t.Errorf("panic %q, want one naming HostBreaker and the field", p)
		}
	}()
	(&Recovery{HostBreaker: &breaker.Config{OpenTimeout: -time.Second}}).Transport(nil)
}

func TestTransportConcurrent(t *testing.T) {
	// Every request fails once with 503, then succeeds; many at a time,
	// through a per-host breaker and a bulkhead. Under -race this checks the
	// shared state; goleak checks that no connection was left open.
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := newServer(t, func(w http.ResponseWriter, req *http.Request, _ int) {
		id := req.Header.Get("X-Request-Id")
		mu.Lock()
		again := seen[id]
		seen[id] = true
		mu.Unlock()
		if !again {
			http.Error(w, strings.Repeat("x", 1000), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, id)
	})
	tr := errtrack.New(errtrack.Config{})
	r := &Recovery{
		Retry:       quickRetry(3),
		HostBreaker: &breaker.Config{FailureThreshold: 1000},
		Bulkhead:    bulkhead.New(bulkhead.Config{MaxConcurrent: 4}),
		Timeout:     10 * time.Second,
		Tracker:     tr,
	}
	c := client(t, r)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("%d-%d", w, i)
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Header.Set("X-Request-Id", id)
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != id {
					errs <- fmt.Errorf("request %s: body %q, %v", id, b, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.requests.Load(); n != 2*workers*each || tr.Total() != workers*each {
		t.Errorf("%d requests, %d tracked; want %d and %d", n, tr.Total(), 2*workers*each, workers*each)
	}
}

// idleCloser counts CloseIdleConnections calls.
type idleCloser struct {
	http.RoundTripper
	closed int
}

func (c *idleCloser) CloseIdleConnections() { c.closed++ }

func TestTransportForwardsCloseIdleConnections(t *testing.T) {
	base := &idleCloser{RoundTripper: http.DefaultTransport}
	client := &http.Client{Transport: (&Recovery{}).Transport(base)}
	client.CloseIdleConnections()
	if base.closed != 1 {
		t.Fatalf("base CloseIdleConnections called %d times, want 1", base.closed)
	}
	// A base without the method is left alone.
	(&http.Client{Transport: (&Recovery{}).Transport(roundTripperOnly{})}).CloseIdleConnections()
}

type roundTripperOnly struct{}

func (roundTripperOnly) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("unused")
}

// The tracker keeps failed attempts' errors; it must not keep their
// responses (and their buffered bodies) alive with them.
func TestTransportTrackedErrorsReleaseResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 1000), http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tracker := errtrack.New(errtrack.Config{})
	r := &Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: time.Microsecond, Jitter: backoff.NoJitter}},
		Tracker: tracker,
	}
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: r.Transport(base)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(body) < 1000 {
		t.Fatalf("got %d with %d bytes, want the last 503 with its body", resp.StatusCode, len(body))
	}
	recs := tracker.Recent()
	if len(recs) != 3 {
		t.Fatalf("tracked %d errors, want 3", len(recs))
	}
	for i, rec := range recs {
		var se *StatusError
		if !errors.As(rec.Err, &se) {
			t.Fatalf("record %d: %v is not a *StatusError", i, rec.Err)
		}
		if se.resp != nil {
			t.Errorf("record %d still holds its response", i)
		}
	}
}

// fakeBase answers with a recorder's result per attempt, numbered from 1.
type fakeBase func(rec *httptest.ResponseRecorder, n int)

func (f fakeBase) transport() http.RoundTripper {
	n := 0
	return rtFunc(func(*http.Request) (*http.Response, error) {
		n++
		rec := httptest.NewRecorder()
		f(rec, n)
		return rec.Result(), nil
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func TestTransportRetryAfterUpToMaxRetryAfter(t *testing.T) {
	// MaxRetryAfter bounds the Retry-After a Transport honours, whichever
	// way it compares with the retry policy's own default cap (1 minute).
	tests := []struct {
		name          string
		header        string
		maxRetryAfter time.Duration
		policyMax     time.Duration // Retry.MaxRetryAfter
		want          time.Duration
	}{
		{"above the policy's default", "90", 2 * time.Minute, 0, 90 * time.Second},
		{"clamped above the policy's default", "600", 2 * time.Minute, 0, 2 * time.Minute},
		{"below the policy's default", "90", 10 * time.Second, 0, 10 * time.Second},
		{"policy's cap when unset", "90", 0, 80 * time.Second, 80 * time.Second},
		{"default", "90", 0, 0, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base := fakeBase(func(rec *httptest.ResponseRecorder, n int) {
					if n == 1 {
						rec.Header().Set("Retry-After", tt.header)
						rec.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					io.WriteString(rec, "ok")
				}).transport()
				p := quickRetry(2)
				p.MaxRetryAfter = tt.policyMax
				r := &Recovery{Retry: p, MaxRetryAfter: tt.maxRetryAfter}
				start := time.Now()
				resp, err := (&http.Client{Transport: r.Transport(base)}).Get("http://api.example/")
				if err != nil {
					t.Fatal(err)
				}
				if body := readAll(t, resp); body != "ok" {
					t.Fatalf("body %q, want the second answer", body)
				}
				if took := time.Since(start); took != tt.want {
					t.Errorf("waited %v, want %v", took, tt.want)
				}
			})
		})
	}
}

func TestTransportStreamedFailureNotRetried(t *testing.T) {
	// A failure response that will not be retried is handed over as it
	// arrives, as the base transport would: RoundTrip does not wait for a
	// body the server is still sending.
	tests := []struct {
		name   string
		r      *Recovery
		method string
	}{
		{"zero Recovery", &Recovery{}, "GET"},
		{"breaker only", &Recovery{Breaker: breaker.New(breaker.Config{})}, "GET"},
		{"request not replayable", &Recovery{Retry: quickRetry(3)}, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "first part, ")
				w.(http.Flusher).Flush()
				<-release
				io.WriteString(w, "the rest")
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL, nil)
			resp, err := client(t, tt.r).Do(req)
			close(release) // only now may the body end
			if err != nil {
				t.Fatalf("err = %v; want the 503 while its body was still coming", err)
			}
			if body := readAll(t, resp); resp.StatusCode != 503 || body != "first part, the rest" {
				t.Errorf("got %d %q, want the whole 503", resp.StatusCode, body)
			}
		})
	}
}

// TestTransportBreakersReachable reads, forces open and resets the
// per-host breakers of a Transport, and checks that requests see it.
func TestTransportBreakersReachable(t *testing.T) {
	bad := newServer(t, failUntil(100))
	good := newServer(t, failUntil(0))
	r := &Recovery{HostBreaker: &breaker.Config{FailureThreshold: 2, OpenTimeout: time.Hour}}
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	tr := r.Transport(base)
	c := &http.Client{Transport: tr}
	get := func(url string) (int, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, err
		}
		readAll(t, resp)
		return resp.StatusCode, nil
	}
	badHost, goodHost := bad.Listener.Addr().String(), good.Listener.Addr().String()

	if code, err := get(bad.URL); code != 503 || err != nil {
		t.Fatalf("bad host: %d, %v", code, err)
	}
	if code, err := get(good.URL); code != 200 || err != nil {
		t.Fatalf("good host: %d, %v", code, err)
	}
	if st := tr.Breaker(badHost).Stats(); st.Failures != 1 || st.Successes != 0 || st.State != breaker.Closed {
		t.Errorf("bad host's breaker: %+v, want 1 failure, closed", st)
	}
	if st := tr.Breaker(goodHost).Stats(); st.Successes != 1 || st.Failures != 0 {
		t.Errorf("good host's breaker: %+v, want 1 success", st)
	}
	hosts := map[string]*breaker.Breaker{}
	for host, b := range tr.Breakers() {
		hosts[host] = b
	}
	if len(hosts) != 2 || hosts[badHost] != tr.Breaker(badHost) || hosts[goodHost] != tr.Breaker(goodHost) {
		t.Errorf("Breakers() = %v, want the breakers of %s and %s", hosts, badHost, goodHost)
	}

	// Forced open, the good host is refused without a request.
	tr.Breaker(goodHost).ForceOpen()
	before := good.requests.Load()
	if _, err := get(good.URL); !errors.Is(err, breaker.ErrOpen) || good.requests.Load() != before {
		t.Fatalf("good host forced open: err = %v after %d new requests; want ErrOpen and none", err, good.requests.Load()-before)
	}
	// Reset, it is served again.
	tr.Breaker(goodHost).Reset()
	if code, err := get(good.URL); code != 200 || err != nil {
		t.Fatalf("good host after Reset: %d, %v", code, err)
	}
	// A host no request has reached yet gets its breaker at once, and the
	// first request to it finds it as set.
	fresh := newServer(t, failUntil(0))
	freshHost := fresh.Listener.Addr().String()
	tr.Breaker(freshHost).ForceOpen()
	if _, err := get(fresh.URL); !errors.Is(err, breaker.ErrOpen) || fresh.requests.Load() != 0 {
		t.Fatalf("fresh host forced open before any request: err = %v, %d requests", err, fresh.requests.Load())
	}
}

func TestTransportBreakerFallsBackToShared(t *testing.T) {
	shared := breaker.New(breaker.Config{})
	tests := []struct {
		name string
		r    *Recovery
		want *breaker.Breaker
		n    int // per-host breakers
	}{
		{"no breaker", &Recovery{}, nil, 0},
		{"shared only", &Recovery{Breaker: shared}, shared, 0},
		{"host breakers", &Recovery{Breaker: shared, HostBreaker: &breaker.Config{}}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.r.Transport(roundTripperOnly{})
			b := tr.Breaker("api.example")
			if tt.r.HostBreaker == nil && b != tt.want {
				t.Errorf("Breaker = %p, want %p", b, tt.want)
			}
			if tt.r.HostBreaker != nil && (b == nil || b == shared || tr.Breaker("api.example") != b) {
				t.Errorf("Breaker = %p, want one breaker of the host's own", b)
			}
			n := 0
			for range tr.Breakers() {
				n++
			}
			if n != tt.n {
				t.Errorf("Breakers() yields %d, want %d", n, tt.n)
			}
		})
	}
	// Past MaxHosts, further hosts share the Recovery's Breaker, as their
	// requests do.
	tr := (&Recovery{Breaker: shared, HostBreaker: &breaker.Config{}}).Transport(roundTripperOnly{})
	for i := range MaxHosts {
		if b := tr.Breaker(fmt.Sprintf("h%d", i)); b == shared || b == nil {
			t.Fatalf("host %d: Breaker = %p, want its own", i, b)
		}
	}
	if b := tr.Breaker("one-too-many"); b != shared {
		t.Errorf("host past MaxHosts: Breaker = %p, want the shared one %p", b, shared)
	}
}

// nilPtrError's Error dereferences its receiver: it panics on a typed nil.
type nilPtrError struct{ msg string }

func (e *nilPtrError) Error() string { return e.msg }

// TestTransportTracksTypedNilError has the base transport fail with a
// typed-nil error: tracking it must not turn the failure into a panic.
func TestTransportTracksTypedNilError(t *testing.T) {
	base := rtFunc(func(*http.Request) (*http.Response, error) { return nil, (*nilPtrError)(nil) })
	tracker := errtrack.New(errtrack.Config{})
	r := &Recovery{Retry: quickRetry(2), Breaker: breaker.New(breaker.Config{}), Tracker: tracker}
	_, err := r.Transport(base).RoundTrip(mustGet(t, "http://api.example/"))
	var ex *retry.ExhaustedError
	var np *nilPtrError
	if !errors.As(err, &ex) || ex.Attempts != 2 || !errors.As(err, &np) || np != nil {
		t.Fatalf("err is not a retry.ExhaustedError after 2 attempts wrapping the typed nil")
	}
	recs := tracker.Recent()
	if len(recs) != 2 {
		t.Fatalf("tracked %d errors, want 2", len(recs))
	}
	for i, rec := range recs {
		if rec.Class != errtrack.Unknown || rec.Err != error((*nilPtrError)(nil)) {
			t.Errorf("record %d: class %q, err %#v; want the typed nil itself, unknown", i, rec.Class, rec.Err)
		}
	}
	if st := r.Breaker.Stats(); st.Failures != 2 {
		t.Errorf("breaker stats %+v, want 2 failures", st)
	}
}
