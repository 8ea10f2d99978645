package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
)

// eachCall is a limit.Config whose every call closes a window of its own,
// so one call's outcome shows in Stats at once.
func eachCall(cfg limit.Config) limit.Config {
	cfg.Window, cfg.WindowSamples = time.Nanosecond, 1
	return cfg
}

// strictBreaker counts every error, context errors included, so that any
// outcome reported to it shows.
func strictBreaker() *breaker.Breaker {
	return breaker.New(breaker.Config{FailureThreshold: 1, IsIgnored: func(error) bool { return false }})
}

func TestDoLimitRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limit.New(limit.Config{InitialLimit: 1})
		held, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer held.Ignore()
		b := strictBreaker()
		tr := errtrack.New(errtrack.Config{})
		var rejects int
		r := &Recovery{Retry: fastRetry(3), Breaker: b, Limit: l, Tracker: tr,
			Hooks: Hooks{OnReject: func(e Event) {
				if errors.Is(e.Err, limit.ErrLimitExceeded) {
					rejects++
				}
			}}}
		fn, calls := flaky(0, nil)

		_, err = Do(context.Background(), r, fn)
		var class interface{ ErrorClass() string }
		if !errors.Is(err, limit.ErrLimitExceeded) || !errors.As(err, &class) || class.ErrorClass() != "limit_exceeded" || calls.Load() != 0 {
			t.Fatalf("err = %v, calls %d; want the limit's rejection at once", err, calls.Load())
		}
		if tr.Total() != 1 || rejects != 1 {
			t.Errorf("tracked %d, rejects %d; want 1 each: a limit rejection is not retried by default", tr.Total(), rejects)
		}
		if s := b.Stats(); s.Failures != 0 || s.Successes != 0 || b.State() != breaker.Closed {
			t.Errorf("breaker %+v: a limit rejection is neither a success nor a failure", s)
		}

		p := *r.Retry
		p.Retryable = func(err error) bool { return errors.Is(err, limit.ErrLimitExceeded) }
		r.Retry = &p
		_, err = Do(context.Background(), r, fn)
		if !errors.Is(err, limit.ErrLimitExceeded) || tr.Total() != 4 || calls.Load() != 0 {
			t.Fatalf("err = %v, tracked %d; want 3 more rejections when the policy retries them", err, tr.Total())
		}
		if s := l.Stats(); s.Samples != 0 || s.Rejected != 4 {
			t.Errorf("limiter %+v: rejections feed no sample", s)
		}
	})
}

// TestDoLimitSamples: every attempt that ran reports its outcome and RTT;
// what never reached the backend, or ended after the caller gave up, does
// not.
func TestDoLimitSamples(t *testing.T) {
	tests := []struct {
		name           string
		r              func(l *limit.Limiter) *Recovery
		fn             func(ctx context.Context) (int, error)
		ctx            func() (context.Context, context.CancelFunc)
		samples, drops uint64
		rtt            time.Duration
	}{
		{"success", func(l *limit.Limiter) *Recovery { return &Recovery{Limit: l} },
			sleepy(30*time.Millisecond, nil), nil, 1, 0, 30 * time.Millisecond},
		{"every attempt", func(l *limit.Limiter) *Recovery { return &Recovery{Limit: l, Retry: fastRetry(3)} },
			failing(2, 20*time.Millisecond), nil, 3, 2, 20 * time.Millisecond},
		{"attempt timeout is a drop", func(l *limit.Limiter) *Recovery { return &Recovery{Limit: l, Timeout: 50 * time.Millisecond} },
			sleepy(time.Hour, nil), nil, 1, 1, 50 * time.Millisecond},
		{"caller gave up", func(l *limit.Limiter) *Recovery { return &Recovery{Limit: l} },
			sleepy(time.Hour, nil), func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			}, 0, 0, 0},
		{"total budget ran out", func(l *limit.Limiter) *Recovery { return &Recovery{Limit: l, Total: time.Second} },
			sleepy(time.Hour, nil), nil, 0, 0, 0},
		{"breaker open", func(l *limit.Limiter) *Recovery {
			b := breaker.New(breaker.Config{})
			b.ForceOpen()
			return &Recovery{Limit: l, Breaker: b}
		}, sleepy(0, nil), nil, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := limit.New(eachCall(limit.Config{}))
				ctx := context.Background()
				if tt.ctx != nil {
					var cancel context.CancelFunc
					ctx, cancel = tt.ctx()
					defer cancel()
				}
				Do(ctx, tt.r(l), tt.fn)
				s := l.Stats()
				if s.Samples != tt.samples || s.Drops != tt.drops || s.InFlight != 0 {
					t.Fatalf("Stats = %+v, want %d samples, %d drops, nothing held", s, tt.samples, tt.drops)
				}
				if s.ShortRTT != tt.rtt {
					t.Fatalf("ShortRTT = %v, want %v", s.ShortRTT, tt.rtt)
				}
			})
		})
	}
}

// sleepy returns fn that sleeps d (or until ctx ends) and returns err.
func sleepy(d time.Duration, err error) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		select {
		case <-time.After(d):
			return 1, err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// failing fails its first n calls, each taking d.
func failing(n int, d time.Duration) func(context.Context) (int, error) {
	calls := 0
	return func(ctx context.Context) (int, error) {
		calls++
		time.Sleep(d)
		if calls <= n {
			return 0, errBoom
		}
		return calls, nil
	}
}

func TestDoLimitPanic(t *testing.T) {
	l := limit.New(limit.Config{InitialLimit: 1})
	r := &Recovery{Limit: l, Breaker: breaker.New(breaker.Config{})}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v", p)
			}
		}()
		Do(context.Background(), r, func(context.Context) (int, error) { panic("boom") })
	}()
	if s := l.Stats(); s.InFlight != 0 || s.Samples != 0 {
		t.Fatalf("Stats = %+v: the slot must come back, with no sample", s)
	}
	if _, err := Do(context.Background(), r, func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatalf("Do after a panic: %v", err)
	}
}

func TestDoLimitAllocs(t *testing.T) {
	r := &Recovery{Retry: &retry.Policy{}, Breaker: breaker.New(breaker.Config{}), Limit: limit.New(limit.Config{})}
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { Do(ctx, r, fn) }); n != 0 {
		t.Errorf("%v allocs per successful Do with a limit, want 0", n)
	}
}

func TestTransportLimit(t *testing.T) {
	srv := newServer(t, failUntil(1))
	l := limit.New(eachCall(limit.Config{InitialLimit: 1}))
	c := client(t, &Recovery{Retry: quickRetry(3), Limit: l})
	resp, err := c.Get(srv.URL)
	if err != nil || readAll(t, resp) != "ok 2" {
		t.Fatalf("Get = %v; want the second attempt's answer", err)
	}
	if s := l.Stats(); s.Samples != 2 || s.Drops != 1 || s.InFlight != 0 {
		t.Fatalf("Stats = %+v, want 2 samples (the 503 a drop), nothing held", s)
	}

	held, _ := l.Acquire(context.Background())
	defer held.Ignore()
	_, err = c.Get(srv.URL)
	if !errors.Is(err, limit.ErrLimitExceeded) || srv.requests.Load() != 2 {
		t.Fatalf("Get at the limit = %v after %d requests; want the rejection, not retried", err, srv.requests.Load())
	}
}

// TestTransportHostLimits: each host gets a limiter of its own; a host
// at its limit does not hold up another.
func TestTransportHostLimits(t *testing.T) {
	a := newServer(t, failUntil(0))
	b := newServer(t, failUntil(0))
	shared := limit.New(limit.Config{})
	r := &Recovery{HostLimit: &limit.Config{InitialLimit: 1, MaxLimit: 1}, Limit: shared}
	c := client(t, r)
	tp := c.Transport.(*Transport)
	hostA := mustHost(t, a.URL)
	held, err := tp.limits.get(hostA).Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(a.URL); !errors.Is(err, limit.ErrLimitExceeded) {
		t.Fatalf("Get on the full host = %v, want ErrLimitExceeded", err)
	}
	resp, err := c.Get(b.URL)
	if err != nil {
		t.Fatalf("Get on the other host = %v", err)
	}
	readAll(t, resp)
	held.Ignore()
	if la, lb := tp.limits.get(hostA), tp.limits.get(mustHost(t, b.URL)); la == lb || la.Stats().Rejected != 1 || lb.Stats().Acquired != 1 {
		t.Fatalf("host limiters %+v, %+v; want one each", la.Stats(), lb.Stats())
	}
	if s := shared.Stats(); s.Acquired != 0 {
		t.Fatalf("shared limiter used: %+v", s)
	}
}

func TestHostSetBounded(t *testing.T) {
	shared := new(int)
	made := 0
	h := newHostSet(func() *int { made++; return new(int) }, shared)
	for i := range MaxHosts + 10 {
		h.get(strings.Repeat("h", i+1))
	}
	if made != MaxHosts || h.get("h") == shared || h.get("new host") != shared {
		t.Fatalf("made %d, want %d, then the shared one", made, MaxHosts)
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestTransportInvalidHostLimit(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); !strings.HasPrefix(p, "middleware: HostLimit: limit: MaxLimit") {
			t.Errorf("panic %q, want one naming HostLimit and the field", p)
		}
	}()
	(&Recovery{HostLimit: &limit.Config{MaxLimit: -1}}).Transport(nil)
}

func TestValidateHostLimit(t *testing.T) {
	err := (&Recovery{HostLimit: &limit.Config{Tolerance: 0.5}}).Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "middleware: HostLimit: limit: Tolerance") {
		t.Fatalf("Validate() = %v", err)
	}
}

// TestHandlerLimitSheds: Handler answers 503 with a Retry-After when the
// limit is reached, without calling the handler; served requests feed the
// limiter, and their slots of the bulkhead and the limit come back.
func TestHandlerLimitSheds(t *testing.T) {
	l := limit.New(eachCall(limit.Config{InitialLimit: 1, MaxLimit: 1}))
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 5})
	tr := errtrack.New(errtrack.Config{})
	var rejects []error
	var mu sync.Mutex
	entered, release := make(chan struct{}), make(chan struct{})
	srv, c := serve(t, &Recovery{Limit: l, Bulkhead: bh, Tracker: tr, Hooks: Hooks{OnReject: func(e Event) {
		mu.Lock()
		rejects = append(rejects, e.Err)
		mu.Unlock()
	}}}, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/slow":
			entered <- struct{}{}
			<-release
		case "/fail":
			http.Error(w, "down", http.StatusBadGateway)
			return
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
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" || body != "Service Unavailable\n" {
		t.Fatalf("at the limit: %d %q Retry-After=%q; want 503 with Retry-After 1", code, body, hdr.Get("Retry-After"))
	}
	if body := <-done; body != "done" {
		t.Fatalf("slow request: %q", body)
	}
	if code, _, _ := get(t, c, srv.URL+"/fail"); code != http.StatusBadGateway {
		t.Fatalf("/fail: %d", code)
	}
	if s := l.Stats(); s.Samples != 2 || s.Drops != 1 || s.Rejected != 1 || s.InFlight != 0 {
		t.Fatalf("limiter %+v; want the two served requests sampled, the 502 a drop", s)
	}
	if s := bh.Stats(); s.InFlight != 0 || s.Acquired != 3 {
		t.Fatalf("bulkhead %+v; want every slot back, the shed request's too", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if tr.ByClass()["limit_exceeded"] != 1 || len(rejects) != 1 || !errors.Is(rejects[0], limit.ErrLimitExceeded) {
		t.Fatalf("tracked %v, rejects %v; want one limit_exceeded", tr.ByClass(), rejects)
	}
}

// overloadedThrottle returns a throttle that has seen n requests and no
// accept, so it rejects nearly every request (reproducibly, by its seed).
func overloadedThrottle(n int) *throttle.Throttle {
	th := throttle.New(throttle.Config{MaxRejectionRate: 1, Seed: 7})
	for range n {
		p, err := th.Allow()
		if err == nil {
			p.Done(context.DeadlineExceeded)
		}
	}
	return th
}

// TestDoThrottleRejection: a throttled attempt never reaches the breaker
// or fn, and is not retried unless the policy says so.
func TestDoThrottleRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := overloadedThrottle(1000)
		b := strictBreaker()
		tr := errtrack.New(errtrack.Config{})
		var retries int
		r := &Recovery{Retry: fastRetry(3), Breaker: b, Throttle: th, Tracker: tr,
			Hooks: Hooks{OnRetry: func(Event) { retries++ }}}
		var ran int
		fn := func(context.Context) (int, error) { ran++; return 1, nil }
		var throttled int
		for range 50 {
			if _, err := Do(context.Background(), r, fn); errors.Is(err, throttle.ErrThrottled) {
				throttled++
			} else if err != nil {
				t.Fatalf("Do = %v", err)
			}
		}
		if throttled < 40 || retries != 0 || ran != 50-throttled {
			t.Fatalf("%d of 50 throttled, %d retries, fn ran %d times; want most throttled, none retried", throttled, retries, ran)
		}
		if s := b.Stats(); s.Successes != uint64(ran) || s.Failures != 0 || s.Rejected != 0 {
			t.Fatalf("breaker %+v: throttled attempts must not reach it", s)
		}
		if got := tr.ByClass()["throttled"]; got != uint64(throttled) {
			t.Fatalf("tracked %d throttled, want %d", got, throttled)
		}

		p := *r.Retry
		p.Retryable = func(err error) bool { return errors.Is(err, throttle.ErrThrottled) }
		r.Retry = &p
		retries = 0
		Do(context.Background(), r, fn)
		if retries == 0 {
			t.Fatal("a throttled attempt was not retried although Retryable accepts it")
		}
	})
}

// TestDoThrottleOutcomes: the throttle hears of every attempt that reached
// the backend, and of nothing else.
func TestDoThrottleOutcomes(t *testing.T) {
	overload := &StatusError{Code: http.StatusServiceUnavailable}
	open := breaker.New(breaker.Config{})
	open.ForceOpen()
	full := limit.New(limit.Config{InitialLimit: 1})
	held, _ := full.Acquire(context.Background())
	defer held.Ignore()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name              string
		r                 Recovery
		ctx               context.Context
		err               error
		requests, accepts uint64
	}{
		{"success", Recovery{}, nil, nil, 1, 1},
		{"overload", Recovery{}, nil, overload, 1, 0},
		{"an error the backend answered", Recovery{}, nil, errBoom, 1, 1},
		{"each attempt", Recovery{Retry: fastRetry(3)}, nil, errBoom, 3, 3},
		{"breaker open", Recovery{Breaker: open}, nil, nil, 0, 0},
		{"limit reached", Recovery{Limit: full}, nil, nil, 0, 0},
		{"caller gave up", Recovery{}, canceled, errBoom, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				th := throttle.New(throttle.Config{})
				r := tt.r
				r.Throttle = th
				ctx := tt.ctx
				if ctx == nil {
					ctx = context.Background()
				}
				Do(ctx, &r, func(context.Context) (int, error) { return 1, tt.err })
				if s := th.Stats(); s.Requests != tt.requests || s.Accepts != tt.accepts {
					t.Fatalf("throttle %+v, want %d requests, %d accepts", s, tt.requests, tt.accepts)
				}
			})
		})
	}
}

func TestTransportHostThrottles(t *testing.T) {
	a := newServer(t, failUntil(0))
	b := newServer(t, failUntil(0))
	r := &Recovery{HostThrottle: &throttle.Config{}}
	c := client(t, r)
	for _, u := range []string{a.URL, b.URL, b.URL} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	tp := c.Transport.(*Transport)
	ta, tb := tp.throttles.get(mustHost(t, a.URL)), tp.throttles.get(mustHost(t, b.URL))
	if ta == tb || ta.Stats().Accepts != 1 || tb.Stats().Accepts != 2 {
		t.Fatalf("host throttles %+v, %+v; want one per host", ta.Stats(), tb.Stats())
	}
}

func TestTransportInvalidHostThrottle(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); !strings.HasPrefix(p, "middleware: HostThrottle: throttle: K") {
			t.Errorf("panic %q, want one naming HostThrottle and the field", p)
		}
	}()
	(&Recovery{HostThrottle: &throttle.Config{K: 0.5}}).Transport(nil)
}

// TestHandlerRateLimit: a client over its rate gets 429 with a Retry-After
// and never reaches the handler; keys are independent.
func TestHandlerRateLimit(t *testing.T) {
	tr := errtrack.New(errtrack.Config{})
	var served int
	var mu sync.Mutex
	h := func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		served++
		mu.Unlock()
		io.WriteString(w, "ok")
	}
	tests := []struct {
		name string
		key  func(*http.Request) string
		send func(c *http.Client, url string, i int) (int, http.Header)
		want []int
	}{
		{"by remote IP", nil, func(c *http.Client, url string, _ int) (int, http.Header) {
			code, _, hdr := get(t, c, url)
			return code, hdr
		}, []int{200, 429, 429}},
		{"by a key of the request", func(req *http.Request) string { return req.Header.Get("X-Client") },
			func(c *http.Client, url string, i int) (int, http.Header) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("X-Client", []string{"a", "b", "a"}[i])
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
				return resp.StatusCode, resp.Header
			}, []int{200, 200, 429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ratelimit.NewGroup(ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 0.25, Burst: 1}})
			srv, c := serve(t, &Recovery{RateLimit: g, RateLimitKey: tt.key, Tracker: tr}, h)
			for i, want := range tt.want {
				code, hdr := tt.send(c, srv.URL, i)
				if code != want {
					t.Fatalf("request %d: %d, want %d", i, code, want)
				}
				// One token per 4s: the next is 4s away, or just under.
				if code == 429 && hdr.Get("Retry-After") != "4" {
					t.Fatalf("request %d: Retry-After %q, want 4", i, hdr.Get("Retry-After"))
				}
			}
		})
	}
	if served != 3 {
		t.Fatalf("served %d, want only the 3 admitted requests", served)
	}
	if got := tr.ByClass()["rate_limited"]; got != 3 {
		t.Fatalf("tracked %v, want 3 rate_limited", tr.ByClass())
	}
}

// TestDoRateLimit: Do waits for its token, outside the total budget, and
// is refused at once, unretried, when the token would come after its
// deadline.
func TestDoRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := ratelimit.NewGroup(ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 1, Burst: 1}})
		b := strictBreaker()
		tr := errtrack.New(errtrack.Config{})
		r := &Recovery{RateLimit: g, Total: 100 * time.Millisecond, Retry: fastRetry(3), Breaker: b, Tracker: tr}
		fn, calls := flaky(0, nil)
		start := time.Now()
		for range 3 {
			if _, err := Do(context.Background(), r, fn); err != nil {
				t.Fatalf("Do = %v", err)
			}
		}
		if got := time.Since(start); got != 2*time.Second || calls.Load() != 3 {
			t.Fatalf("3 calls at 1/s took %v (%d calls), want 2s", got, calls.Load())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := Do(ctx, r, fn)
		var ra interface{ RetryAfter() time.Duration }
		if !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &ra) || ra.RetryAfter() != time.Second || calls.Load() != 3 {
			t.Fatalf("Do past the deadline = %v, %d calls; want ErrLimited at once", err, calls.Load())
		}
		if time.Since(start) != 2*time.Second || tr.Total() != 1 || b.Stats().Failures != 0 {
			t.Fatalf("refusal waited, was retried or reached the breaker: tracked %d, %+v", tr.Total(), b.Stats())
		}
	})
}

func TestTransportRateLimitPerHost(t *testing.T) {
	a := newServer(t, failUntil(0))
	b := newServer(t, failUntil(0))
	g := ratelimit.NewGroup(ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 0.001, Burst: 1, MaxWait: time.Millisecond}})
	c := client(t, &Recovery{RateLimit: g, Retry: quickRetry(3)})
	for _, u := range []string{a.URL, b.URL} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("first request to %s: %v", u, err)
		}
		readAll(t, resp)
	}
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("PUT", a.URL, body)
	if _, err := c.Do(req); !errors.Is(err, ratelimit.ErrLimited) || a.requests.Load() != 1 {
		t.Fatalf("second request to a host = %v after %d requests; want ErrLimited", err, a.requests.Load())
	}
	if body.closed.Load() != 1 {
		t.Errorf("refused request's body closed %d times, want 1", body.closed.Load())
	}
}

// TestDoLimitInsideBulkhead: the limit's token is taken once the bulkhead
// admitted the attempt, so the RTT it measures leaves out time queued in
// the bulkhead.
func TestDoLimitInsideBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, QueueTimeout: bulkhead.NoQueueTimeout})
		l := limit.New(eachCall(limit.Config{}))
		r := &Recovery{Bulkhead: bh, Limit: l}
		if err := bh.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(time.Second)
			bh.Release()
		}()
		if _, err := Do(context.Background(), r, sleepy(10*time.Millisecond, nil)); err != nil {
			t.Fatal(err)
		}
		if s := l.Stats(); s.Samples != 1 || s.ShortRTT != 10*time.Millisecond {
			t.Fatalf("Stats = %+v, want one 10ms sample", s)
		}
	})
}

// TestDoLimitHedged: each attempt of a hedged call holds its own slot;
// the winner feeds the limiter and the throttle, the attempt that lost
// (its context ended by the hedge) feeds neither.
func TestDoLimitHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limit.New(eachCall(limit.Config{}))
		th := throttle.New(throttle.Config{})
		r := &Recovery{Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}, Limit: l, Throttle: th}
		var calls int
		var mu sync.Mutex
		v, err := Do(context.Background(), r, func(ctx context.Context) (int, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n == 1 {
				return sleepy(time.Second, nil)(ctx) // slow: the hedge wins
			}
			return sleepy(20*time.Millisecond, nil)(ctx)
		})
		if err != nil || v != 1 || calls != 2 {
			t.Fatalf("Do = %v, %v after %d calls; want the hedge's answer", v, err, calls)
		}
		synctest.Wait()
		if s := l.Stats(); s.Acquired != 2 || s.Samples != 1 || s.ShortRTT != 20*time.Millisecond || s.InFlight != 0 {
			t.Fatalf("limiter %+v; want both attempts admitted, only the winner's 20ms sampled", s)
		}
		if s := th.Stats(); s.Requests != 1 || s.Accepts != 1 {
			t.Fatalf("throttle %+v; want only the winner reported", s)
		}
	})
}
