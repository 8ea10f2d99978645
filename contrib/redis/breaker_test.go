package redis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
)

// upstream is a loopback HTTP backend whose health can be switched.
type upstream struct {
	srv     *httptest.Server
	failing atomic.Bool
	hits    atomic.Int64
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if u.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// call makes one request through r.
func (u *upstream) call(ctx context.Context, r *middleware.Recovery) error {
	_, err := middleware.Do(ctx, r, func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.srv.URL, nil)
		resp, err := u.srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
		}
		return resp.StatusCode, nil
	})
	return err
}

// fleet is n SharedBreakers of one Name, each with its Recovery.
type fleet struct {
	sb  []*SharedBreaker
	rec []*middleware.Recovery
}

func newFleet(t testing.TB, c goredis.UniversalClient, n int, name string, mod func(*BreakerConfig)) *fleet {
	t.Helper()
	f := &fleet{}
	for i := range n {
		cfg := BreakerConfig{
			Conn:         Conn{Client: c, Timeout: 50 * time.Millisecond},
			Name:         name,
			ReplicaID:    fmt.Sprintf("r%d", i),
			PollInterval: 100 * time.Millisecond,
			Breaker:      breaker.Config{FailureThreshold: 5, OpenTimeout: 500 * time.Millisecond, SuccessThreshold: 1},
		}
		if mod != nil {
			mod(&cfg)
		}
		sb, err := NewBreaker(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sb.Close() })
		f.sb = append(f.sb, sb)
		f.rec = append(f.rec, &middleware.Recovery{Breaker: sb.Breaker()})
	}
	return f
}

// waitSubscribed waits until n subscribers listen on the fleet's channel.
func waitSubscribed(t testing.TB, c goredis.UniversalClient, channel string, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && m[channel] >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d subscribers on %s not reached", n, channel)
}

// waitAll waits up to d for every breaker of f to be in state want, and
// returns how long it took.
func (f *fleet) waitAll(t testing.TB, want breaker.State, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		all := true
		for _, s := range f.sb {
			if s.Breaker().State() != want {
				all = false
			}
		}
		if all {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	var states []string
	for _, s := range f.sb {
		states = append(states, s.Breaker().State().String())
	}
	t.Fatalf("not all %v within %v: %v", want, d, states)
	return 0
}

func TestBreakerConfigErrors(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	slow := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer slow.Close()
	tests := []struct {
		name  string
		cfg   BreakerConfig
		field string
	}{
		{"no client", BreakerConfig{Name: "x"}, "Conn.Client"},
		{"client without timeouts", BreakerConfig{Conn: Conn{Client: slow}, Name: "x"}, "Conn.Client"},
		{"no name", BreakerConfig{Conn: Conn{Client: c}}, "Name"},
		{"long name", BreakerConfig{Conn: Conn{Client: c}, Name: strings.Repeat("n", 201)}, "Name"},
		{"negative timeout", BreakerConfig{Conn: Conn{Client: c, Timeout: -1}, Name: "x"}, "Conn.Timeout"},
		{"huge timeout", BreakerConfig{Conn: Conn{Client: c, Timeout: time.Hour}, Name: "x"}, "Conn.Timeout"},
		{"negative poll", BreakerConfig{Conn: Conn{Client: c}, Name: "x", PollInterval: -1}, "PollInterval"},
		{"tiny lease", BreakerConfig{Conn: Conn{Client: c}, Name: "x", ProbeLease: time.Microsecond}, "ProbeLease"},
		{"bad breaker", BreakerConfig{Conn: Conn{Client: c}, Name: "x", Breaker: breaker.Config{OpenTimeout: -1}}, "OpenTimeout"},
		{"bad replica", BreakerConfig{Conn: Conn{Client: c}, Name: "x", ReplicaID: "a b"}, "ReplicaID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBreaker(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

// One replica's breaker trips on a failing upstream; the others open
// within the bound without a single call of their own, only one probes in
// half-open, and all close when its probe succeeds.
func TestBreakerFleetFollows(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	const n = 5
	f := newFleet(t, c, n, "follow", nil)
	waitSubscribed(t, c, f.sb[0].channel, n)

	up.failing.Store(true)
	for range 5 {
		up.call(t.Context(), f.rec[0])
	}
	if got := f.sb[0].Breaker().State(); got != breaker.Open {
		t.Fatalf("tripping replica: %v, want open", got)
	}
	took := f.waitAll(t, breaker.Open, 200*time.Millisecond)
	t.Logf("all %d replicas open %v after the first", n, took)
	hits := up.hits.Load()
	for _, r := range f.rec[1:] {
		if err := up.call(t.Context(), r); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("follower call: %v, want ErrOpen", err)
		}
	}
	if got := up.hits.Load(); got != hits {
		t.Fatalf("followers reached the upstream %d times while open", got-hits)
	}

	// Half-open: every replica tries at once; exactly one probes.
	up.failing.Store(false)
	time.Sleep(550 * time.Millisecond)
	hits = up.hits.Load()
	var wg sync.WaitGroup
	for _, r := range f.rec {
		wg.Go(func() { up.call(t.Context(), r) })
	}
	wg.Wait()
	if got := up.hits.Load() - hits; got != 1 {
		t.Fatalf("%d probes reached the upstream in half-open, want 1", got)
	}
	f.waitAll(t, breaker.Closed, 200*time.Millisecond)
	for i, r := range f.rec {
		if err := up.call(t.Context(), r); err != nil {
			t.Fatalf("replica %d after closing: %v", i, err)
		}
	}
}

// A probe that fails reopens every replica.
func TestBreakerFleetReopens(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	f := newFleet(t, c, 3, "reopen", nil)
	waitSubscribed(t, c, f.sb[0].channel, 3)
	up.failing.Store(true)
	for range 5 {
		up.call(t.Context(), f.rec[1])
	}
	f.waitAll(t, breaker.Open, 200*time.Millisecond)
	time.Sleep(550 * time.Millisecond)
	var probes atomic.Int32
	for _, r := range f.rec {
		if err := up.call(t.Context(), r); err != nil && !errors.Is(err, breaker.ErrTooManyCalls) && !errors.Is(err, breaker.ErrOpen) {
			probes.Add(1)
		}
	}
	if got := probes.Load(); got != 1 {
		t.Fatalf("%d probes, want 1", got)
	}
	f.waitAll(t, breaker.Open, 200*time.Millisecond)
}

// The open state is written with a TTL of the open period, and the probe
// lease with ProbeLease: nothing stays in Redis forever.
func TestBreakerKeysExpire(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	f := newFleet(t, c, 1, "ttl", func(cfg *BreakerConfig) { cfg.ProbeLease = 300 * time.Millisecond })
	b := f.sb[0].Breaker()
	for range 5 {
		b.Do(t.Context(), func(context.Context) error { return errors.New("down") })
	}
	deadline := time.Now().Add(time.Second)
	var ttl time.Duration
	for time.Now().Before(deadline) {
		ttl = c.PTTL(t.Context(), f.sb[0].openKey).Val()
		if ttl > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if ttl <= 0 || ttl > 500*time.Millisecond {
		t.Fatalf("open key PTTL = %v, want in (0, 500ms]", ttl)
	}
	time.Sleep(550 * time.Millisecond)
	p, err := b.Allow()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if ttl := c.PTTL(t.Context(), f.sb[0].leaseKey).Val(); ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("lease PTTL = %v, want in (0, 300ms]", ttl)
	}
	p.Done(nil)
	time.Sleep(350 * time.Millisecond)
	if n := c.Exists(t.Context(), f.sb[0].openKey, f.sb[0].leaseKey).Val(); n != 0 {
		t.Fatalf("%d keys left after closing and ProbeLease, want 0", n)
	}
}

// A close announcement about an older open period (a command run late by a
// resumed Redis) neither closes a replica nor clears the open state.
func TestBreakerStaleCloseIgnored(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	f := newFleet(t, c, 2, "stale", func(cfg *BreakerConfig) { cfg.Breaker.OpenTimeout = 5 * time.Second })
	waitSubscribed(t, c, f.sb[0].channel, 2)
	for range 5 {
		f.sb[0].Breaker().Do(t.Context(), func(context.Context) error { return errors.New("down") })
	}
	f.waitAll(t, breaker.Open, 200*time.Millisecond)
	if got := f.sb[1].epoch.Load(); got != 1 {
		t.Fatalf("follower epoch %d, want 1", got)
	}
	// What a replica that probed during an earlier period would send.
	keys := []string{f.sb[0].openKey, f.sb[0].epochKey, f.sb[0].openKey + ":seq:late"}
	e, err := closeScript.Run(t.Context(), c, keys, "late", f.sb[0].channel, 0, 1, 0).Int64()
	if err != nil || e != 1 {
		t.Fatalf("stale close: epoch %d, %v; want refused at epoch 1", e, err)
	}
	if c.Exists(t.Context(), f.sb[0].openKey).Val() != 1 {
		t.Fatal("a stale close deleted the open state")
	}
	c.Publish(t.Context(), f.sb[0].channel, "closed late 0")
	time.Sleep(50 * time.Millisecond)
	if got := f.sb[1].Breaker().State(); got != breaker.Open {
		t.Fatalf("after a stale close message: %v, want open", got)
	}
	// A current one closes it.
	c.Publish(t.Context(), f.sb[0].channel, "closed prober 1")
	f.waitAll(t, breaker.Closed, 200*time.Millisecond)
}

// A replica whose open publication ran but whose answer, naming the
// epoch, was lost (Redis paused, the command ran on resume) still closes
// the fleet when its probe succeeds, instead of leaving the others to wait
// for its probe lease to end.
func TestBreakerOwnCloseClearsOpenState(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	f := newFleet(t, c, 2, "own", func(cfg *BreakerConfig) {
		cfg.Breaker.OpenTimeout = 200 * time.Millisecond
		cfg.ProbeLease = 5 * time.Second // the follower must close by the announcement
		cfg.PollInterval = time.Minute   // and no poll may tell the epoch in between
	})
	waitSubscribed(t, c, f.sb[0].channel, 2)
	fail := func(context.Context) error { return errors.New("down") }
	for range 5 {
		f.sb[0].Breaker().Do(t.Context(), fail)
	}
	f.waitAll(t, breaker.Open, 200*time.Millisecond)
	deadline := time.Now().Add(time.Second)
	for f.sb[0].Stats().Published == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	f.sb[0].epoch.Store(0) // the answer naming epoch 1 never arrived

	time.Sleep(250 * time.Millisecond) // half-open
	if err := f.sb[0].Breaker().Do(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	f.waitAll(t, breaker.Closed, 100*time.Millisecond)

	// The next opening reaches the fleet at once.
	for range 5 {
		f.sb[1].Breaker().Do(t.Context(), fail)
	}
	f.waitAll(t, breaker.Open, 200*time.Millisecond)
}

// A publication that runs after a newer one of the same replica (sent on
// another connection before Redis paused) changes nothing.
func TestBreakerLatePublicationIgnored(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	f := newFleet(t, c, 1, "late", nil)
	fail := func(context.Context) error { return errors.New("down") }
	for range 5 {
		f.sb[0].Breaker().Do(t.Context(), fail)
	}
	deadline := time.Now().Add(time.Second)
	for f.sb[0].Stats().Published == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	sb := f.sb[0]
	if err := c.Del(t.Context(), sb.openKey).Err(); err != nil {
		t.Fatal(err)
	}
	keys := []string{sb.openKey, sb.epochKey, sb.seqKey}
	for _, tt := range []struct {
		name   string
		script *goredis.Script
		args   []any
	}{
		{"open", openScript, []any{sb.id, 60000, sb.channel, 1}},
		{"close", closeScript, []any{sb.id, sb.channel, 99, 1, 1}},
	} {
		e, err := tt.script.Run(t.Context(), c, keys, tt.args...).Int64()
		if err != nil || e != -1 {
			t.Errorf("late %s: %d, %v; want -1 (ignored)", tt.name, e, err)
		}
	}
	if c.Exists(t.Context(), sb.openKey).Val() != 0 {
		t.Fatal("a late open publication wrote the open state")
	}
	if got := c.Get(t.Context(), sb.epochKey).Val(); got != "1" {
		t.Fatalf("epoch %q after late publications, want 1", got)
	}
}
