package middleware

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/timeout"
)

// serve starts a loopback server running h behind r.Handler.
func serve(t *testing.T, r *Recovery, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(r.Handler(h))
	srv.Config.ErrorLog = discardLog() // aborted responses are expected
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(t, resp), resp.Header
}

func TestHandlerPanic(t *testing.T) {
	tr := errtrack.New(errtrack.Config{})
	srv, c := serve(t, &Recovery{Tracker: tr, Hooks: Hooks{OnPanic: func(Event) {}}}, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/panic":
			w.Header().Set("X-Half-Done", "1")
			panic("oops")
		case "/late-panic":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("late")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "fine")
	})

	code, body, hdr := get(t, c, srv.URL+"/panic")
	if code != 500 || body != "Internal Server Error\n" || hdr.Get("X-Half-Done") != "" {
		t.Fatalf("panic: %d %q %v; want a clean 500", code, body, hdr)
	}
	if code, body, _ := get(t, c, srv.URL+"/"); code != 200 || body != "fine" {
		t.Fatalf("after a panic: %d %q; want the server still serving", code, body)
	}
	recent := tr.Recent()
	var pe *PanicError
	if len(recent) != 1 || !errors.As(recent[0].Err, &pe) || pe.Value != "oops" || len(pe.Stack) == 0 {
		t.Fatalf("tracked %+v; want the panic once, with its stack", recent)
	}

	// A panic after the response started aborts it: the client must not
	// take a truncated body for a whole one.
	resp, err := c.Get(srv.URL + "/late-panic")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("late panic: the response was not aborted")
	}
	if _, err := c.Get(srv.URL + "/abort"); err == nil {
		t.Error("http.ErrAbortHandler: the response was not aborted")
	}
	if tr.Total() != 2 {
		t.Errorf("tracked %d, want 2: one per panic, none for the deliberate abort", tr.Total())
	}
}

func TestHandlerShedsLoad(t *testing.T) {
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: -1})
	tr := errtrack.New(errtrack.Config{})
	var rejects []Event
	var mu sync.Mutex
	entered, release := make(chan struct{}), make(chan struct{})
	r := &Recovery{Bulkhead: bh, Tracker: tr, Hooks: Hooks{OnReject: func(e Event) {
		mu.Lock()
		rejects = append(rejects, e)
		mu.Unlock()
	}}}
	srv, c := serve(t, r, func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})
	done := make(chan string)
	go func() {
		resp, err := c.Get(srv.URL + "/slow")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-entered
	code, body, hdr := get(t, c, srv.URL+"/")
	close(release)
	// The bulkhead's hint is its queue timeout, 5s by default. The client
	// gets the plain status text; the detail goes to the tracker and hook.
	if code != 503 || hdr.Get("Retry-After") != "5" || body != "Service Unavailable\n" {
		t.Fatalf("while full: %d %q Retry-After=%q; want 503, Service Unavailable, Retry-After 5", code, body, hdr.Get("Retry-After"))
	}
	if body := <-done; body != "done" {
		t.Fatalf("slow request: %q", body)
	}
	if code, _, _ := get(t, c, srv.URL+"/"); code != 200 {
		t.Fatalf("after: %d, want 200", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rejects) != 1 || !errors.Is(rejects[0].Err, bulkhead.ErrFull) || tr.Total() != 1 {
		t.Errorf("rejects %+v, tracked %d; want one ErrFull", rejects, tr.Total())
	}
	if e := rejects[0]; e.Request == nil || e.Request.URL.Path != "/" {
		t.Errorf("reject event %+v; want the request shed", e)
	}
}

func TestHandlerIgnoresBreaker(t *testing.T) {
	// A breaker is client-side: Handler never asks it nor feeds it. One
	// route that panics or fails, however often, does not turn the
	// others into 503s, and a Recovery shared with a client whose
	// dependency is down (its breaker open) does not shed the server's
	// own requests.
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{FailureThreshold: 2, OpenTimeout: 90 * time.Second})
		r := &Recovery{Breaker: b, Hooks: Hooks{OnPanic: func(Event) {}}}
		h := r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			switch req.URL.Path {
			case "/panic":
				panic("bug")
			case "/bad":
				http.Error(w, "bad gateway", http.StatusBadGateway)
			default:
				io.WriteString(w, "ok")
			}
		}))
		serve := func(path string) int {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			return w.Code
		}
		for range 10 {
			if code := serve("/panic"); code != 500 {
				t.Fatalf("/panic: %d, want 500", code)
			}
			if code := serve("/bad"); code != 502 {
				t.Fatalf("/bad: %d, want the handler's 502", code)
			}
		}
		if code := serve("/health"); code != 200 {
			t.Errorf("/health after failing routes: %d, want 200", code)
		}
		if s := b.Stats(); s.Successes+s.Failures+s.Ignored+s.Rejected != 0 || s.State != breaker.Closed {
			t.Errorf("breaker %+v; Handler must not use it", s)
		}
		// The client side opens the breaker: the server still serves.
		for range 2 {
			Do(context.Background(), r, func(context.Context) (int, error) { return 0, errors.New("connection refused") })
		}
		if b.State() != breaker.Open {
			t.Fatalf("breaker %v, want open", b.State())
		}
		if code := serve("/health"); code != 200 {
			t.Errorf("/health with the client's breaker open: %d, want 200", code)
		}
	})
}

func TestHandlerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := errtrack.New(errtrack.Config{})
		var writeErr error
		h := (&Recovery{Timeout: 2 * time.Second, Tracker: tr}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("X-Never", "sent")
			<-req.Context().Done()
			_, writeErr = io.WriteString(w, "too late")
			w.WriteHeader(200)
		}))
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("took %v, want 2s", took)
		}
		if w.Code != 503 || w.Body.String() != "request timed out\n" || w.Header().Get("X-Never") != "" {
			t.Fatalf("got %d %q %v; want the timeout response alone", w.Code, w.Body.String(), w.Header())
		}
		if !errors.Is(writeErr, http.ErrHandlerTimeout) {
			t.Errorf("late write: %v, want http.ErrHandlerTimeout", writeErr)
		}
		var te *timeout.Error
		if recent := tr.Recent(); len(recent) != 1 || !errors.As(recent[0].Err, &te) || te.Limit != 2*time.Second {
			t.Errorf("tracked %+v; want one *timeout.Error", recent)
		}
	})
}

func TestHandlerTimeoutAfterResponseStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := (&Recovery{Timeout: time.Second}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("X-Sent", "yes")
			io.WriteString(w, "started ")
			<-req.Context().Done()
			io.WriteString(w, "finished")
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 || w.Body.String() != "started finished" || w.Header().Get("X-Sent") != "yes" {
			t.Fatalf("got %d %q %v; a started response is left alone", w.Code, w.Body.String(), w.Header())
		}
	})
}

func TestHandlerTimeoutNoRace(t *testing.T) {
	// A handler that writes as fast as it can while its deadline passes:
	// under -race, any unsynchronized write would be reported.
	synctest.Test(t, func(t *testing.T) {
		h := (&Recovery{Timeout: time.Millisecond}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			for req.Context().Err() == nil {
				w.Header().Set("X-Try", "1")
				time.Sleep(100 * time.Microsecond)
			}
			for range 10 {
				w.Write([]byte("x"))
			}
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 503 || w.Header().Get("X-Try") != "" {
			t.Fatalf("got %d %v", w.Code, w.Header())
		}
	})
}

func TestHandlerTracksFailureStatus(t *testing.T) {
	tr := errtrack.New(errtrack.Config{})
	h := (&Recovery{Tracker: tr}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/429":
			w.WriteHeader(429)
		case "/504":
			w.WriteHeader(504)
		case "/404":
			w.WriteHeader(404)
		}
	}))
	for _, p := range []string{"/429", "/504", "/404", "/"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := tr.ByClass(); tr.Total() != 2 || got[errtrack.RateLimit] != 1 || got[errtrack.Unavailable] != 1 {
		t.Errorf("tracked %v; want one rate_limit and one service_unavailable", got)
	}
}

func TestHandlerClientGone(t *testing.T) {
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	if err := bh.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer bh.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	h := (&Recovery{Bulkhead: bh}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if called || w.Code != 503 {
		t.Errorf("called %v, status %d; a queued request whose client left is not served", called, w.Code)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

func TestHandlerTimeoutStubbornHandler(t *testing.T) {
	// A handler that ignores its context: the client still gets the timeout
	// response at the deadline, and the handler's late write fails.
	release := make(chan struct{})
	wrote := make(chan error, 1)
	srv, c := serve(t, &Recovery{Timeout: 50 * time.Millisecond}, func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, err := io.WriteString(w, "late")
		wrote <- err
	})
	code, body, _ := get(t, c, srv.URL)
	close(release)
	if code != 503 || body != "request timed out\n" {
		t.Fatalf("got %d %q while the handler was stuck; want the timeout response", code, body)
	}
	if err := <-wrote; !errors.Is(err, http.ErrHandlerTimeout) {
		t.Errorf("late write: %v, want http.ErrHandlerTimeout", err)
	}
}

func TestHandlerTimeoutKeepsHeaders(t *testing.T) {
	// With a deadline, next writes to its own header map; what it puts
	// there must still reach the client when it writes no body (a CORS
	// preflight) and when it sets trailers after the body.
	tests := []struct {
		name    string
		h       http.HandlerFunc
		header  string // header that must arrive, "Name: value"
		trailer string // trailer that must arrive, "Name: value"
	}{
		{"headers only", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}, "Access-Control-Allow-Origin: *", ""},
		{"declared trailer", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Trailer", "X-Checksum")
			io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "abc")
		}, "", "X-Checksum: abc"},
		{"prefixed trailer", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "body")
			w.(http.Flusher).Flush() // undeclared trailers need a chunked body
			w.Header().Set(http.TrailerPrefix+"X-Status", "ok")
		}, "", "X-Status: ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := serve(t, &Recovery{Timeout: time.Minute}, tt.h)
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp) // trailers arrive with the end of the body
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.trailer != "" {
				k, v, _ := strings.Cut(tt.trailer, ": ")
				if got := resp.Trailer.Get(k); got != v {
					t.Errorf("trailer %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHandlerRetryAfterBounded(t *testing.T) {
	// Retry-After is the rejection's hint rounded up to whole seconds, at
	// least 1 and at most MaxRetryAfter, for any durations.
	tests := []struct {
		name          string
		queueTimeout  time.Duration // the bulkhead's hint
		maxRetryAfter time.Duration
		want          string
	}{
		{"default cap", time.Hour, 0, "60"},
		{"rounded up", 2500 * time.Millisecond, 0, "3"},
		{"at least 1", 10 * time.Millisecond, 0, "1"},
		{"cap below a second", 5 * time.Second, 10 * time.Millisecond, "1"},
		{"huge hint and cap", math.MaxInt64, math.MaxInt64, "9223372037"},
		{"huge cap", 90 * time.Second, math.MaxInt64, "90"},
		{"hint just below huge cap", math.MaxInt64 - 1, math.MaxInt64, "9223372037"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: -1, QueueTimeout: tt.queueTimeout})
			if err := bh.Acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer bh.Release()
			h := (&Recovery{Bulkhead: bh, MaxRetryAfter: tt.maxRetryAfter}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if got := w.Header().Get("Retry-After"); w.Code != 503 || got != tt.want {
				t.Errorf("%d Retry-After=%q, want 503 with %q", w.Code, got, tt.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHandlerPanicHook(t *testing.T) {
	// OnPanic gets the panic's value and stack, and the request; nothing
	// is logged then.
	var events []Event
	logged := &syncBuffer{}
	h := (&Recovery{Hooks: Hooks{OnPanic: func(e Event) { events = append(events, e) }}}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("nil map")
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(logged, "", 0)
	srv.Start()
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/orders?id=7", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 500 || body != "Internal Server Error\n" {
		t.Fatalf("got %d %q, want a plain 500", resp.StatusCode, body)
	}
	if len(events) != 1 {
		t.Fatalf("OnPanic called %d times, want 1", len(events))
	}
	e := events[0]
	var pe *PanicError
	if !errors.As(e.Err, &pe) || pe.Value != "nil map" || !strings.Contains(string(pe.Stack), "TestHandlerPanicHook") {
		t.Errorf("Err %#v; want the *PanicError with its value and the panicking stack", e.Err)
	}
	if e.Request == nil || e.Request.Method != "POST" || e.Request.URL.String() != "/orders?id=7" || e.Request.Context() == nil || e.Host != e.Request.Host {
		t.Errorf("Request %+v, Host %q; want the request served", e.Request, e.Host)
	}
	if s := logged.String(); s != "" {
		t.Errorf("logged %q; with OnPanic set nothing is", s)
	}
}

func TestHandlerPanicLogged(t *testing.T) {
	// Without OnPanic a panic is logged, as net/http logs the panics it
	// recovers: to the server's ErrorLog, else to the standard logger. A
	// deliberate http.ErrAbortHandler is not.
	for _, tt := range []struct {
		name      string
		errorLog  bool // the server has an ErrorLog
		panicWith any
		want      bool // a line is logged
	}{
		{"server's ErrorLog", true, "boom", true},
		{"standard logger", false, "boom", true},
		{"abort handler", true, http.ErrAbortHandler, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logged := &syncBuffer{}
			if !tt.errorLog {
				defer log.SetOutput(log.Writer())
				defer log.SetFlags(log.Flags())
				log.SetOutput(logged)
				log.SetFlags(0)
			}
			served := make(chan struct{})
			h := (&Recovery{}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(tt.panicWith)
			}))
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				defer close(served)
				h.ServeHTTP(w, req)
			}))
			if tt.errorLog {
				srv.Config.ErrorLog = log.New(logged, "", 0)
			}
			srv.Start()
			defer srv.Close()
			if resp, err := http.Get(srv.URL + "/boom"); err == nil {
				readAll(t, resp)
			}
			<-served
			s := logged.String()
			if !tt.want {
				if s != "" {
					t.Errorf("logged %q, want nothing", s)
				}
				return
			}
			if !strings.HasPrefix(s, "middleware: panic serving GET /boom for 127.0.0.1:") || !strings.Contains(s, ": boom\n") ||
				!strings.Contains(s, "goroutine ") || !strings.Contains(s, "TestHandlerPanicLogged") {
				t.Errorf("logged %q; want the request, the panic value and the stack", s)
			}
		})
	}
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }

// handlerCases are the Recovery values the cost of Handler is measured on,
// with the allocations each adds to a successful request at most.
var handlerCases = []struct {
	name   string
	r      func() *Recovery
	allocs float64
}{
	{"zero", func() *Recovery { return &Recovery{} }, 1},
	{"bulkhead+tracker", func() *Recovery {
		return &Recovery{Bulkhead: bulkhead.New(bulkhead.Config{}), Tracker: errtrack.New(errtrack.Config{})}
	}, 1},
	{"timeout", func() *Recovery { return &Recovery{Timeout: time.Minute} }, 7},
}

var okBody = []byte("ok")

func okHandler(w http.ResponseWriter, _ *http.Request) { w.Write(okBody) }

func TestHandlerAllocs(t *testing.T) {
	// Without a timeout, a successful request costs the writer wrapper
	// alone; a timeout adds its context, timer and header map.
	req := httptest.NewRequest("GET", "/", nil)
	w := &nopWriter{h: http.Header{}}
	for _, tt := range handlerCases {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.r().Handler(http.HandlerFunc(okHandler))
			if got := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }); got > tt.allocs {
				t.Errorf("%v allocations per request, want at most %v", got, tt.allocs)
			}
		})
	}
}

func BenchmarkHandler(b *testing.B) {
	req := httptest.NewRequest("GET", "/", nil)
	w := &nopWriter{h: http.Header{}}
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			okHandler(w, req)
		}
	})
	for _, tt := range handlerCases {
		b.Run(tt.name, func(b *testing.B) {
			h := tt.r().Handler(http.HandlerFunc(okHandler))
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
