package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/timeout"
)

func TestFormatTimeout(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0n"},
		{0, "0n"},
		{1, "1n"},
		{99999999, "99999999n"},
		{100 * time.Millisecond, "100000u"},
		{100*time.Millisecond + 1, "100000u"}, // rounded down
		{295 * time.Millisecond, "295000u"},
		{99999999 * time.Microsecond, "99999999u"},
		{100 * time.Second, "100000m"},
		{30 * time.Hour, "108000S"},
		{99999999 * time.Second, "99999999S"},
		{100000000 * time.Second, "1666666M"},
		{math.MaxInt64, "2562047H"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := FormatTimeout(tt.d)
			if got != tt.want {
				t.Errorf("FormatTimeout(%v) = %q, want %q", tt.d, got, tt.want)
			}
			back, ok := ParseTimeout(got)
			if !ok || back > max(tt.d, 0) {
				t.Errorf("ParseTimeout(%q) = %v, %v: want valid and at most %v", got, back, ok, tt.d)
			}
		})
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"100m", 100 * time.Millisecond, true},
		{" 1S ", time.Second, true},
		{"0n", 0, true},
		{"00000000H", 0, true},
		{"5M", 5 * time.Minute, true},
		{"2H", 2 * time.Hour, true},
		{"7u", 7 * time.Microsecond, true},
		{"99999999n", 99999999, true},
		{"99999999H", math.MaxInt64, true}, // saturates
		{"2562048H", math.MaxInt64, true},
		{"", 0, false},
		{"m", 0, false},
		{"100", 0, false},
		{"100ms", 0, false},
		{"100s", 0, false}, // units are case-sensitive: s is not S
		{"100h", 0, false},
		{"-100m", 0, false},
		{"+100m", 0, false},
		{"1.5S", 0, false},
		{"1 S", 0, false},
		{"123456789m", 0, false}, // nine digits
		{strings.Repeat("9", 400) + "S", 0, false},
		{"0x10m", 0, false},
		{"١٠m", 0, false}, // non-ASCII digits
		{"100m,200m", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			got, ok := ParseTimeout(tt.v)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseTimeout(%q) = %v, %v, want %v, %v", tt.v, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"100m", "0n", "99999999H", "-1S", "1.5m", " 7u", "12345678901n", "5M,3S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseTimeout(v)
		if !ok {
			if d != 0 {
				t.Fatalf("ParseTimeout(%q) = %v, false: want 0", v, d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseTimeout(%q) = %v: negative", v, d)
		}
		// The value formatted again never grants more, and loses at most
		// one part in 10^5 (8 digits in the finest unit that fits).
		back, ok := ParseTimeout(FormatTimeout(d))
		if !ok || back > d || d-back > d/100000+1 {
			t.Fatalf("%q: %v formats as %q, which parses as %v, %v", v, d, FormatTimeout(d), back, ok)
		}
	})
}

// capture is a base RoundTripper that keeps the requests it is sent and
// answers 200.
type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func TestTransportSendsDeadline(t *testing.T) {
	tests := []struct {
		name    string
		r       Recovery
		budget  time.Duration // caller's deadline from now; 0: none
		set     http.Header   // headers the caller set
		header  string
		want    string // "": no header
		wantOld []string
	}{
		{name: "no deadline", header: DefaultDeadlineHeader},
		{name: "caller deadline", budget: 300 * time.Millisecond, header: DefaultDeadlineHeader, want: "295000u"},
		{name: "margin", r: Recovery{DeadlineMargin: 50 * time.Millisecond}, budget: 300 * time.Millisecond, header: DefaultDeadlineHeader, want: "250000u"},
		{name: "no margin", r: Recovery{DeadlineMargin: -1}, budget: 300 * time.Millisecond, header: DefaultDeadlineHeader, want: "300000u"},
		{name: "attempt timeout nearer", r: Recovery{Timeout: 100 * time.Millisecond}, budget: time.Second, header: DefaultDeadlineHeader, want: "95000000n"},
		{name: "total nearer", r: Recovery{Total: 200 * time.Millisecond}, budget: time.Hour, header: DefaultDeadlineHeader, want: "195000u"},
		{name: "caller nearer", r: Recovery{Timeout: time.Second}, budget: 20 * time.Millisecond, header: DefaultDeadlineHeader, want: "15000000n"},
		{name: "within the margin", budget: 3 * time.Millisecond, header: DefaultDeadlineHeader, want: "0n"},
		{name: "timeout without caller deadline", r: Recovery{Timeout: 2 * time.Minute}, header: DefaultDeadlineHeader, want: "119995m"},
		{name: "grpc header", r: Recovery{DeadlineHeader: "grpc-timeout"}, budget: 300 * time.Millisecond, header: "Grpc-Timeout", want: "295000u"},
		{name: "off", r: Recovery{DeadlineHeader: NoDeadlineHeader, Timeout: time.Second}, budget: 300 * time.Millisecond, header: DefaultDeadlineHeader},
		{name: "caller's header kept", budget: 300 * time.Millisecond, set: http.Header{"Request-Timeout": {"9S"}}, header: DefaultDeadlineHeader, want: "9S", wantOld: []string{"9S"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base := &capture{}
				rt := tt.r.Transport(base)
				ctx := context.Background()
				if tt.budget > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.budget)
					defer cancel()
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream/x", nil)
				req.Header.Set("Accept", "text/plain")
				for k, v := range tt.set {
					req.Header[k] = v
				}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				sent := base.reqs[0]
				if got := sent.Header.Get(tt.header); got != tt.want {
					t.Errorf("sent %s: %q, want %q", tt.header, got, tt.want)
				}
				if got := sent.Header.Get("Accept"); got != "text/plain" {
					t.Errorf("sent Accept %q: the caller's headers must go too", got)
				}
				if got := req.Header[DefaultDeadlineHeader]; fmt.Sprint(got) != fmt.Sprint(tt.wantOld) {
					t.Errorf("caller's request header now %q, want %q: RoundTrip must not modify it", got, tt.wantOld)
				}
			})
		})
	}
}

// TestTransportDeadlinePerAttempt checks that each attempt sends what is
// left then, not what was left when the call began.
func TestTransportDeadlinePerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []string
		n := 0
		base := rtFunc(func(req *http.Request) (*http.Response, error) {
			got = append(got, req.Header.Get(DefaultDeadlineHeader))
			n++
			time.Sleep(40 * time.Millisecond)
			code := 503
			if n == 3 {
				code = 200
			}
			return &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}}, nil
		})
		r := &Recovery{Retry: &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: 10 * time.Millisecond, Multiplier: 1, Jitter: backoff.NoJitter}}, DeadlineMargin: -1}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream/", nil)
		resp, err := r.Transport(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := []string{"300000u", "250000u", "200000u"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("attempts sent %q, want %q", got, want)
		}
	})
}

// seen is what next saw of a request.
type seen struct {
	called bool
	left   time.Duration // time to the context's deadline; -1 if none
	header string        // the deadline header next saw
}

func record(s *seen) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		s.called = true
		s.header = req.Header.Get(DefaultDeadlineHeader)
		s.left = -1
		if dl, ok := req.Context().Deadline(); ok {
			s.left = time.Until(dl)
		}
		io.WriteString(w, "ok")
	}
}

func TestHandlerHonoursDeadline(t *testing.T) {
	tests := []struct {
		name     string
		r        Recovery
		values   []string // header lines
		wantCode int
		wantLeft time.Duration // -1: no deadline
	}{
		{name: "no header", r: Recovery{Timeout: time.Second}, wantCode: 200, wantLeft: time.Second},
		{name: "no header no timeout", wantCode: 200, wantLeft: -1},
		{name: "budget nearer", r: Recovery{Timeout: time.Second}, values: []string{"250m"}, wantCode: 200, wantLeft: 250 * time.Millisecond},
		{name: "timeout nearer", r: Recovery{Timeout: time.Second}, values: []string{"5S"}, wantCode: 200, wantLeft: time.Second},
		{name: "budget alone", values: []string{"250m"}, wantCode: 200, wantLeft: 250 * time.Millisecond},
		{name: "total as timeout", r: Recovery{Total: 100 * time.Millisecond}, values: []string{"250m"}, wantCode: 200, wantLeft: 100 * time.Millisecond},
		{name: "huge budget", r: Recovery{Timeout: time.Second}, values: []string{"99999999H"}, wantCode: 200, wantLeft: time.Second},
		{name: "huge budget alone", values: []string{"99999999H"}, wantCode: 200, wantLeft: maxBudget},
		{name: "spent", r: Recovery{Timeout: time.Second}, values: []string{"0m"}, wantCode: 504},
		{name: "spent no timeout", values: []string{"0n"}, wantCode: 504},
		{name: "garbage ignored", r: Recovery{Timeout: time.Second}, values: []string{"-5m"}, wantCode: 200, wantLeft: time.Second},
		{name: "many digits ignored", r: Recovery{Timeout: time.Second}, values: []string{"1000000000n"}, wantCode: 200, wantLeft: time.Second},
		{name: "repeated lines: smallest", r: Recovery{Timeout: time.Second}, values: []string{"900m", "20m", "5S"}, wantCode: 200, wantLeft: 20 * time.Millisecond},
		{name: "comma list: smallest", values: []string{"900m, 30m,bogus"}, wantCode: 200, wantLeft: 30 * time.Millisecond},
		{name: "repeated spent", r: Recovery{Timeout: time.Second}, values: []string{"5S", "0m"}, wantCode: 504},
		{name: "past the first 8 values", r: Recovery{Timeout: time.Second}, values: []string{"1,2,3,4,5,6,7,8", "1m"}, wantCode: 200, wantLeft: time.Second},
		{name: "custom header", r: Recovery{DeadlineHeader: "grpc-timeout"}, values: nil, wantCode: 200, wantLeft: -1},
		{name: "off", r: Recovery{DeadlineHeader: NoDeadlineHeader, Timeout: time.Second}, values: []string{"0m"}, wantCode: 200, wantLeft: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := errtrack.New(errtrack.Config{})
				r := tt.r
				r.Tracker = tr
				var s seen
				h := r.Handler(record(&s))
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				for _, v := range tt.values {
					req.Header.Add(DefaultDeadlineHeader, v)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != tt.wantCode {
					t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
				}
				if tt.wantCode == 504 {
					if s.called {
						t.Error("next was called with its budget spent")
					}
					var te *timeout.Error
					recent := tr.Recent()
					if len(recent) != 1 || !errors.As(recent[0].Err, &te) || te.Name != "deadline" || recent[0].Class != errtrack.Timeout {
						t.Errorf("tracked %v, want one timeout named deadline", recent)
					}
					return
				}
				if !s.called || s.left != tt.wantLeft {
					t.Errorf("next called %v with %v left, want %v", s.called, s.left, tt.wantLeft)
				}
				wantHeader := ""
				if tt.r.DeadlineHeader == NoDeadlineHeader && len(tt.values) > 0 {
					wantHeader = tt.values[0]
				}
				if s.header != wantHeader {
					t.Errorf("next saw %s %q, want %q", DefaultDeadlineHeader, s.header, wantHeader)
				}
			})
		})
	}
}

// TestHandlerBudgetEndsRequest checks that the incoming budget, when it is
// the nearer deadline, ends the request with its own cause.
func TestHandlerBudgetEndsRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		h := (&Recovery{Timeout: time.Second}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			<-req.Context().Done()
			cause = context.Cause(req.Context())
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(DefaultDeadlineHeader, "40m")
		start := time.Now()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if d := time.Since(start); d != 40*time.Millisecond {
			t.Errorf("request ended after %v, want 40ms", d)
		}
		var te *timeout.Error
		if !errors.As(cause, &te) || te.Name != "deadline" {
			t.Errorf("cause %v, want a *timeout.Error named deadline", cause)
		}
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", w.Code)
		}
	})
}

// TestHandlerBudgetSpentInQueue checks that a request whose budget runs
// out while it waits for a bulkhead slot gets 504 and never runs.
func TestHandlerBudgetSpentInQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1, QueueTimeout: time.Second})
		release := make(chan struct{})
		calls := 0
		h := (&Recovery{Bulkhead: bh}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			calls++
			if calls == 1 {
				<-release
			}
		}))
		go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		synctest.Wait()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(DefaultDeadlineHeader, "30m")
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusGatewayTimeout || time.Since(start) != 30*time.Millisecond {
			t.Errorf("status %d after %v, want 504 after 30ms", w.Code, time.Since(start))
		}
		close(release)
		synctest.Wait()
		if calls != 1 {
			t.Errorf("next ran %d times, want 1", calls)
		}
		if st := bh.Stats(); st.InFlight != 0 || st.Queued != 0 {
			t.Errorf("bulkhead %+v, want empty", st)
		}
	})
}

func FuzzHandlerDeadline(f *testing.F) {
	f.Add("250m", "")
	f.Add("99999999H", "0n")
	f.Add("-1S", "1,2,3")
	f.Add(strings.Repeat("9", 100)+"n", "5M, 3S")
	f.Fuzz(func(t *testing.T, a, b string) {
		synctest.Test(t, func(t *testing.T) {
			const own = time.Second
			var s seen
			h := (&Recovery{Timeout: own}).Handler(record(&s))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header[DefaultDeadlineHeader] = []string{a, b}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch w.Code {
			case 200:
				if !s.called || s.left <= 0 || s.left > own {
					t.Fatalf("%q %q: next called %v with %v left: must be in (0, %v]", a, b, s.called, s.left, own)
				}
			case 504:
				if s.called {
					t.Fatalf("%q %q: 504 after next ran", a, b)
				}
			default:
				t.Fatalf("%q %q: status %d", a, b, w.Code)
			}
		})
	})
}

// pipeNet connects in-process HTTP servers and clients through net.Pipe,
// so that a whole chain of them runs inside a synctest bubble.
type pipeNet struct {
	mu    sync.Mutex
	hosts map[string]*pipeListener
}

type pipeListener struct {
	addr   pipeAddr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return l.addr }

func (n *pipeNet) listen(host string) *pipeListener {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := &pipeListener{addr: pipeAddr(host), conns: make(chan net.Conn), closed: make(chan struct{})}
	n.hosts[host] = l
	return l
}

func (n *pipeNet) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.hosts[addr]
	n.mu.Unlock()
	if l == nil {
		return nil, errors.New("pipe: no such host " + addr)
	}
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestDeadlineAcrossHops chains client → A → B → C, each a real
// httptest.Server behind Handler that calls the next through Transport,
// under a 300 ms budget, and checks that the budget holds at every hop: C
// starts work only while budget is left, with a deadline no later than
// the client's, and A's answer reaches the client within the budget.
func TestDeadlineAcrossHops(t *testing.T) {
	const budget = 300 * time.Millisecond
	tests := []struct {
		name       string
		work       [3]time.Duration // A, B, C
		wantCalled bool             // C's handler ran
		wantC      int              // C's status to B; 0: B never called C
		wantCode   int              // the client's status
	}{
		{"fits", [3]time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}, true, 200, 200},
		{"C cut short", [3]time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}, true, 503, 502},
		{"spent on arrival at C", [3]time.Duration{150 * time.Millisecond, 137 * time.Millisecond, time.Millisecond}, false, 504, 502},
		{"B out of time", [3]time.Duration{150 * time.Millisecond, 150 * time.Millisecond, time.Millisecond}, false, 0, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pn := &pipeNet{hosts: map[string]*pipeListener{}}
				var start time.Time
				var mu sync.Mutex
				cCalled, cStatus := false, 0
				var cStart, cDeadline time.Time

				// work sleeps d or until ctx ends.
				work := func(ctx context.Context, d time.Duration) error {
					select {
					case <-time.After(d):
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				hop := func(name, next string, d time.Duration) http.Handler {
					base := &http.Transport{DialContext: pn.dial}
					t.Cleanup(base.CloseIdleConnections)
					out := &http.Client{Transport: (&Recovery{}).Transport(base)}
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if name == "C" {
							mu.Lock()
							cCalled, cStart = true, time.Now()
							cDeadline, _ = req.Context().Deadline()
							mu.Unlock()
						}
						if err := work(req.Context(), d); err != nil {
							return // the timeout response is Handler's
						}
						if next == "" {
							io.WriteString(w, "done")
							return
						}
						oreq, _ := http.NewRequestWithContext(req.Context(), http.MethodGet, "http://"+next+"/", nil)
						resp, err := out.Do(oreq)
						if err != nil {
							http.Error(w, err.Error(), http.StatusBadGateway)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if next == "c" {
							mu.Lock()
							cStatus = resp.StatusCode
							mu.Unlock()
						}
						if resp.StatusCode != 200 {
							http.Error(w, "upstream "+resp.Status, http.StatusBadGateway)
							return
						}
						io.WriteString(w, "done")
					})
				}
				for _, s := range []struct{ host, name, next string }{{"a", "A", "b"}, {"b", "B", "c"}, {"c", "C", ""}} {
					i := map[string]int{"A": 0, "B": 1, "C": 2}[s.name]
					srv := httptest.NewUnstartedServer((&Recovery{Timeout: time.Second}).Handler(hop(s.name, s.next, tt.work[i])))
					srv.Listener = pn.listen(s.host + ":80")
					srv.Config.ErrorLog = discardLog()
					srv.Start()
					t.Cleanup(srv.Close)
				}

				base := &http.Transport{DialContext: pn.dial}
				defer base.CloseIdleConnections()
				client := &http.Client{Transport: (&Recovery{}).Transport(base)}
				ctx, cancel := context.WithTimeout(context.Background(), budget)
				defer cancel()
				start = time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://a/", nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(start)

				if resp.StatusCode != tt.wantCode {
					t.Errorf("client got %d, want %d", resp.StatusCode, tt.wantCode)
				}
				if took > budget {
					t.Errorf("A answered after %v, past the %v budget", took, budget)
				}
				mu.Lock()
				defer mu.Unlock()
				if cCalled != tt.wantCalled || cStatus != tt.wantC {
					t.Errorf("C's handler ran %v, answered B %d; want %v, %d", cCalled, cStatus, tt.wantCalled, tt.wantC)
				}
				if cCalled {
					if end := start.Add(budget); !cStart.Before(end) || cDeadline.After(end) {
						t.Errorf("C started at +%v with deadline +%v: budget ends at +%v", cStart.Sub(start), cDeadline.Sub(start), budget)
					}
				}
			})
		})
	}
}

// TestDeadlineAllocs bounds what the deadline header costs: reading it
// adds nothing to a request that has a timeout anyway; sending it adds a
// copy of the request, of its header map (two allocations), the value and
// its slice.
func TestDeadlineAllocs(t *testing.T) {
	w := &nopWriter{h: http.Header{}}
	plain := httptest.NewRequest("GET", "/", nil)
	budgeted := httptest.NewRequest("GET", "/", nil)
	budgeted.Header.Set(DefaultDeadlineHeader, "30S")
	h := (&Recovery{Timeout: time.Minute}).Handler(http.HandlerFunc(okHandler))
	without := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, plain) })
	with := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, budgeted) })
	if with > without {
		t.Errorf("Handler: %v allocations with a budget, %v without: want no more", with, without)
	}

	base := rtFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	tr := (&Recovery{}).Transport(base)
	off := (&Recovery{DeadlineHeader: NoDeadlineHeader}).Transport(base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://upstream/", nil)
	req.Header.Set("Accept", "text/plain")
	send := func(rt http.RoundTripper) func() {
		return func() {
			resp, _ := rt.RoundTrip(req)
			resp.Body.Close()
		}
	}
	sent, notSent := testing.AllocsPerRun(1000, send(tr)), testing.AllocsPerRun(1000, send(off))
	if sent > notSent+5 {
		t.Errorf("Transport: %v allocations with the header, %v without: want at most 5 more", sent, notSent)
	}
	t.Logf("Handler %v/%v, Transport %v/%v allocations with/without", with, without, sent, notSent)
}

func BenchmarkDeadline(b *testing.B) {
	w := &nopWriter{h: http.Header{}}
	b.Run("handler/timeout", func(b *testing.B) {
		h := (&Recovery{Timeout: time.Minute}).Handler(http.HandlerFunc(okHandler))
		req := httptest.NewRequest("GET", "/", nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	b.Run("handler/timeout+budget", func(b *testing.B) {
		h := (&Recovery{Timeout: time.Minute}).Handler(http.HandlerFunc(okHandler))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(DefaultDeadlineHeader, "30S")
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	base := rtFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, c := range []struct {
		name string
		r    *Recovery
	}{
		{"transport/off", &Recovery{DeadlineHeader: NoDeadlineHeader}},
		{"transport/header", &Recovery{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			rt := c.r.Transport(base)
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://upstream/", nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, _ := rt.RoundTrip(req)
				resp.Body.Close()
			}
		})
	}
}

// TestDeadlineThroughProxy checks that a reverse proxy behind Handler,
// sending through Transport, forwards what is left of the budget, not the
// value it received.
func TestDeadlineThroughProxy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := &pipeNet{hosts: map[string]*pipeListener{}}
		var got string
		upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			got = req.Header.Get(DefaultDeadlineHeader)
		}))
		upstream.Listener = pn.listen("upstream:80")
		upstream.Start()
		defer upstream.Close()

		base := &http.Transport{DialContext: pn.dial}
		defer base.CloseIdleConnections()
		target, _ := url.Parse("http://upstream")
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.Transport = (&Recovery{}).Transport(base)
		h := (&Recovery{Timeout: time.Second}).Handler(proxy)

		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(DefaultDeadlineHeader, "300m")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || got != "295000u" {
			t.Errorf("status %d, upstream saw %q: want 200 and the 300 ms budget less the 5 ms margin", w.Code, got)
		}
	})
}

func TestDeadlineHeaderValidate(t *testing.T) {
	tests := []struct {
		header string
		valid  bool
	}{
		{"", true},
		{NoDeadlineHeader, true},
		{"grpc-timeout", true},
		{"X-Budget_1.v2", true},
		{"Request Timeout", false},
		{"Request-Timeout:", false},
		{"tiempo-límite", false},
		{"a\nb", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			r := &Recovery{DeadlineHeader: tt.header}
			err := r.Validate()
			if (err == nil) != tt.valid || err != nil && !strings.Contains(err.Error(), "DeadlineHeader") {
				t.Fatalf("Validate: %v, want valid %v (an error naming DeadlineHeader)", err, tt.valid)
			}
			defer func() {
				if p := recover(); (p == nil) != tt.valid {
					t.Errorf("Transport panicked with %v; want a panic %v", p, !tt.valid)
				}
			}()
			r.Transport(nil)
		})
	}
}
