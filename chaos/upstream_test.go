package chaos

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idHeader carries a test-chosen request id, so the upstream can count how
// many times each logical request reached it.
const idHeader = "X-Chaos-Id"

// upstream is a real HTTP server on a loopback port whose failures the test
// controls. It counts every request it receives, by id.
type upstream struct {
	t    testing.TB
	addr string

	status     atomic.Int32 // answer this status instead of 200 (0: answer 200)
	retryAfter atomic.Int32 // seconds for Retry-After on failures (0: none)
	drop       atomic.Bool  // close the connection without answering
	failFirst  atomic.Int32 // answer 503 to the first arrival of every n-th request id (0: never)
	panicFirst atomic.Int32 // panic on the first arrival of every n-th request id (0: never)
	panics     atomic.Int64 // panics raised
	handler    http.Handler // what the server runs: u itself, or u wrapped
	body       []byte

	hits    atomic.Int64
	mu      sync.Mutex
	seen    map[string]int  // arrivals by method and id, unless noCount
	noCount atomic.Bool     // do not keep seen (the soak, which sends too many)
	faulted map[string]bool // ids whose first arrival got a fault, until the second
	srv     *http.Server
	done    chan struct{}
}

// startUpstream serves on a free loopback port; every 200 answer carries a
// body of bodySize bytes. It is closed when the test ends.
func startUpstream(t testing.TB, bodySize int) *upstream {
	t.Helper()
	return startUpstreamWith(t, bodySize, nil)
}

// startUpstreamWith is startUpstream with the handler wrapped by wrap.
func startUpstreamWith(t testing.TB, bodySize int, wrap func(http.Handler) http.Handler) *upstream {
	t.Helper()
	u := &upstream{t: t, addr: "127.0.0.1:0", seen: map[string]int{}, faulted: map[string]bool{}}
	u.handler = u
	if wrap != nil {
		u.handler = wrap(u)
	}
	u.body = make([]byte, bodySize)
	for i := range u.body {
		u.body[i] = 'a' + byte(i%26)
	}
	u.Up()
	t.Cleanup(u.Down)
	return u
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.hits.Add(1)
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	if id := r.Header.Get(idHeader); id != "" {
		if !u.noCount.Load() {
			u.mu.Lock()
			u.seen[r.Method+" "+id]++
			u.mu.Unlock()
		}
		if u.firstFault(w, id) {
			return
		}
	}
	if u.drop.Load() {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
			return
		}
	}
	status := int(u.status.Load())
	if status != 0 && status != http.StatusOK {
		if s := u.retryAfter.Load(); s > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(s)))
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(u.body)))
	_, _ = w.Write(u.body)
}

// firstFault answers with the fault failFirst or panicFirst asks for, on
// the first arrival of a request id they select, and reports whether it did.
func (u *upstream) firstFault(w http.ResponseWriter, id string) bool {
	n, err := strconv.Atoi(id)
	if err != nil {
		return false
	}
	pe, fe := int(u.panicFirst.Load()), int(u.failFirst.Load())
	doPanic, doFail := pe > 0 && n%pe == 0, fe > 0 && n%fe == 0
	if !doPanic && !doFail {
		return false
	}
	u.mu.Lock()
	again := u.faulted[id]
	if again {
		delete(u.faulted, id)
	} else {
		u.faulted[id] = true
	}
	u.mu.Unlock()
	switch {
	case again:
		return false
	case doPanic:
		u.panics.Add(1)
		panic("chaos: upstream panics on request " + id)
	default:
		http.Error(w, "chaos: first attempt fails", http.StatusServiceUnavailable)
		return true
	}
}

// Times reports how many times the request with this method and id arrived.
func (u *upstream) Times(method, id string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[method+" "+id]
}

// MaxTimes reports the most times any single request of this method arrived.
func (u *upstream) MaxTimes(method string) (most int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, n := range u.seen {
		if len(k) > len(method) && k[:len(method)+1] == method+" " {
			most = max(most, n)
		}
	}
	return most
}

// Down closes the server, its listener and every connection it holds.
func (u *upstream) Down() {
	u.mu.Lock()
	srv, done := u.srv, u.done
	u.srv = nil
	u.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// Up serves again on the same port.
func (u *upstream) Up() {
	u.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be reusable
		if ln, err = net.Listen("tcp", u.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		u.t.Fatalf("upstream listen: %v", err)
	}
	srv := &http.Server{Handler: u.handler, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			u.t.Errorf("upstream serve: %v", err)
		}
	}()
	u.mu.Lock()
	u.addr, u.srv, u.done = ln.Addr().String(), srv, done
	u.mu.Unlock()
}

// Addr is the server's host:port.
func (u *upstream) Addr() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addr
}
