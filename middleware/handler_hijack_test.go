package middleware

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
)

// deadlineSignal makes h report each run of a request's deadline timer on
// the returned channel, so a test can wait until a deadline has surely
// passed instead of sleeping.
func deadlineSignal(h http.Handler) chan struct{} {
	fired := make(chan struct{}, 16)
	h.(*handler).expired = func() {
		select {
		case fired <- struct{}{}:
		default:
		}
	}
	return fired
}

// startServer serves h on loopback, logging to t.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = discardLog()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// dialUpgrade opens a connection to srv and asks to switch it to the echo
// protocol, returning it once the 101 has arrived.
func dialUpgrade(t *testing.T, srv *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprint(conn, "GET /echo HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s, want 101", resp.Status)
	}
	return conn, br
}

// echoLines checks that conn, upgraded, still echoes what it is sent.
func echoLines(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	for i := range 3 {
		conn.SetDeadline(time.Now().Add(10 * time.Second)) // a failure, not a hang
		want := fmt.Sprintf("ping %d\n", i)
		if _, err := io.WriteString(conn, want); err != nil {
			t.Fatalf("write on the upgraded connection: %v", err)
		}
		got, err := br.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("echo: %q, %v; want %q: the upgraded connection broke at the deadline", got, err, want)
		}
	}
}

// echoBackend upgrades a request to a line echo protocol, as a websocket
// server would, and echoes until the connection closes.
func echoBackend(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("backend hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString(line)
			brw.Flush()
		}
	}
}

func TestHandlerTimeoutReverseProxyUpgrade(t *testing.T) {
	// A stock ReverseProxy proxies an Upgrade request and holds the
	// upgraded connection past the request timeout. The timeout must
	// stand down: no 503 written onto the hijacked connection (which
	// crashed the process from the timer's goroutine), and no context
	// ending at the deadline (which makes the proxy close the backend).
	backend := startServer(t, echoBackend(t))
	target, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = discardLog()
	tr := errtrack.New(errtrack.Config{})
	// Long enough for the upgrade to complete well before the deadline.
	h := (&Recovery{Timeout: 250 * time.Millisecond, Tracker: tr}).Handler(proxy)
	fired := deadlineSignal(h)
	front := startServer(t, h)
	for range 2 {
		conn, br := dialUpgrade(t, front)
		<-fired // the deadline has passed
		echoLines(t, conn, br)
		conn.Close()
	}
	// The server still serves plain requests.
	if code, _, _ := get(t, http.DefaultClient, front.URL+"/plain"); code != http.StatusUpgradeRequired {
		t.Errorf("plain request: %d, want the backend's 426", code)
	}
	if tr.Total() != 0 {
		t.Errorf("tracked %v; want nothing (no timeout, and a 426 is no failure)", tr.ByClass())
	}
}

func TestHandlerTimeoutHijack(t *testing.T) {
	// A handler hijacks the connection through http.ResponseController,
	// then outlives its deadline: the connection is its own.
	type result struct {
		ctxErr   error
		deadline bool
		writeErr error
		flushErr error
	}
	results := make(chan result, 1)
	var h http.Handler
	var fired chan struct{}
	h = (&Recovery{Timeout: 100 * time.Millisecond}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rc := http.NewResponseController(w)
		conn, brw, err := rc.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		<-fired
		var res result
		res.ctxErr = req.Context().Err()
		_, res.deadline = req.Context().Deadline()
		_, res.writeErr = io.WriteString(w, "through the writer")
		res.flushErr = rc.Flush()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		brw.Flush()
		results <- res
	}))
	fired = deadlineSignal(h)
	srv := startServer(t, h)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "hello" {
		t.Errorf("got %d %q, want the handler's own 200 hello", resp.StatusCode, body)
	}
	res := <-results
	if res.ctxErr != nil || res.deadline {
		t.Errorf("after the deadline: ctx.Err %v, has deadline %v; a hijacked request keeps its context", res.ctxErr, res.deadline)
	}
	if !errors.Is(res.writeErr, http.ErrHijacked) || !errors.Is(res.flushErr, http.ErrHijacked) {
		t.Errorf("write %v, flush %v on a hijacked response; want http.ErrHijacked", res.writeErr, res.flushErr)
	}
}

func TestHandlerTimeoutHijackAfterDeadline(t *testing.T) {
	// A hijack after the timeout response fails and leaves it whole.
	hijackErr := make(chan error, 1)
	var fired chan struct{}
	h := (&Recovery{Timeout: 5 * time.Millisecond}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		<-fired
		<-req.Context().Done()
		_, _, err := http.NewResponseController(w).Hijack()
		hijackErr <- err
	}))
	fired = deadlineSignal(h)
	srv := startServer(t, h)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 503 || body != timeoutBody {
		t.Errorf("got %d %q, want the timeout response", resp.StatusCode, body)
	}
	if err := <-hijackErr; !errors.Is(err, http.ErrHandlerTimeout) {
		t.Errorf("hijack after the timeout: %v, want http.ErrHandlerTimeout", err)
	}
}

func TestHandlerTimeoutPanicAfterHijack(t *testing.T) {
	// A panic once the connection is hijacked is tracked, and nothing is
	// written onto the connection for it.
	tr := errtrack.New(errtrack.Config{})
	h := (&Recovery{Timeout: time.Minute, Tracker: tr, Hooks: Hooks{OnPanic: func(Event) {}}}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		brw.Flush()
		panic("after hijack")
	}))
	served := make(chan struct{})
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		defer close(served)
		h.ServeHTTP(w, req)
	}))
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	if !strings.HasSuffix(string(got), "\r\n\r\nok") {
		t.Errorf("read %q; want the handler's response and nothing after it", got)
	}
	<-served
	if recent := tr.Recent(); len(recent) != 1 || !errors.Is(recent[0].Err, ErrPanic) {
		t.Errorf("tracked %+v; want the panic", recent)
	}
}

func TestHandlerTimeoutStalledUpload(t *testing.T) {
	// A client sends a Content-Length, then stalls; the handler returns at
	// its deadline without reading the body. The bulkhead slot must be
	// free as soon as it returns, while the client still stalls, and the
	// client must have its 503: writing it must not wait for the body.
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1, QueueTimeout: 5 * time.Second})
	returned := make(chan struct{})
	srv, c := serve(t, &Recovery{Timeout: 5 * time.Millisecond, Bulkhead: bh}, func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			<-req.Context().Done()
			close(returned)
			return
		}
		io.WriteString(w, "ok")
	})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nthe first bytes of 1000")
	<-returned
	// The upload still stalls. A request queued behind it is served once
	// the slot is released, long before its 5s queue timeout.
	if code, body, _ := get(t, c, srv.URL); code != 200 || body != "ok" {
		t.Fatalf("next request: %d %q; want 200 ok (the stalled upload kept the slot)", code, body)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled client: %v; want the timeout response", err)
	}
	if body := readAll(t, resp); resp.StatusCode != 503 || body != timeoutBody || !resp.Close {
		t.Errorf("stalled client: %d %q close=%v; want the timeout response, closing the connection", resp.StatusCode, body, resp.Close)
	}
}
