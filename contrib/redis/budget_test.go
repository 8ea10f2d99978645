package redis

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func newBudget(t testing.TB, c goredis.UniversalClient, cfg BudgetConfig) *SharedBudget {
	t.Helper()
	cfg.Conn.Client = c
	if cfg.Conn.Timeout == 0 {
		cfg.Conn.Timeout = 50 * time.Millisecond
	}
	b, err := NewBudget(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBudgetConfigErrors(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	conn := Conn{Client: c}
	tests := []struct {
		name  string
		cfg   BudgetConfig
		field string
	}{
		{"no client", BudgetConfig{Name: "x"}, "Conn.Client"},
		{"no name", BudgetConfig{Conn: conn}, "Name"},
		{"negative ratio", BudgetConfig{Conn: conn, Name: "x", Ratio: -1}, "Ratio"},
		{"huge floor", BudgetConfig{Conn: conn, Name: "x", MinPerSecond: 1e12}, "MinPerSecond"},
		{"short window", BudgetConfig{Conn: conn, Name: "x", Window: time.Millisecond}, "Window"},
		{"long flush", BudgetConfig{Conn: conn, Name: "x", Window: time.Second, FlushInterval: time.Minute}, "FlushInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBudget(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

// runFleet has every replica call the upstream through a Recovery with
// retries on its budget, from two goroutines each, for d.
func runFleet(t testing.TB, up *upstream, budgets []*retry.Budget, d time.Duration) {
	var wg sync.WaitGroup
	start := time.Now()
	for _, b := range budgets {
		r := &middleware.Recovery{Retry: &retry.Policy{
			MaxAttempts: 3, Budget: b,
			Backoff: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: backoff.NoJitter},
		}}
		for range 2 {
			wg.Go(func() {
				for time.Since(start) < d {
					up.call(context.Background(), r)
				}
			})
		}
	}
	wg.Wait()
}

// Four replicas on a failing upstream: the fleet's retries stay within the
// one shared budget (one floor for the fleet, not one per replica).
func TestBudgetFleetSharesOneBudget(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	up.failing.Store(true)
	const replicas, ratio, floorPerSec = 4, 0.1, 0.5
	var budgets []*retry.Budget
	var shared []*SharedBudget
	for range replicas {
		sb := newBudget(t, c, BudgetConfig{Name: "fleet", Ratio: ratio, MinPerSecond: floorPerSec, FlushInterval: 20 * time.Millisecond})
		shared = append(shared, sb)
		budgets = append(budgets, sb.Budget())
	}
	runFleet(t, up, budgets, time.Second)
	var retries, refused uint64
	for _, sb := range shared {
		st := sb.Stats()
		retries += st.Retries
		refused += st.Refused
	}
	requests := uint64(up.hits.Load()) - retries
	limit := ratio*float64(requests) + floorPerSec*10
	t.Logf("%d requests, %d retries (%d refused); the shared budget allows %.0f", requests, retries, refused, limit)
	if refused == 0 {
		t.Fatal("no retry refused: the test did not exhaust the budget")
	}
	// Slack for the staleness bound: each replica may spend the headroom it
	// saw at its last flush.
	if float64(retries) > limit*1.1+replicas {
		t.Fatalf("%d retries, over the shared budget of %.0f", retries, limit)
	}

}

// Redis down: calls never fail because of it, the budget decides locally,
// and once Redis is back the replicas see each other's counts again.
func TestBudgetFailsLocal(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	up := newUpstream(t)
	var ec errCounter
	a := newBudget(t, c, BudgetConfig{Conn: Conn{OnError: ec.hook}, Name: "local", FlushInterval: 10 * time.Millisecond, Window: time.Second})
	b := newBudget(t, c, BudgetConfig{Conn: Conn{OnError: ec.hook}, Name: "local", FlushInterval: 10 * time.Millisecond, Window: time.Second})
	srv.kill()
	r := &middleware.Recovery{Retry: &retry.Policy{Budget: a.Budget()}}
	for range 50 {
		if err := up.call(context.Background(), r); err != nil {
			t.Fatalf("call with Redis down: %v", err)
		}
	}
	// A flush runs every 10ms; give a loaded machine time to run one.
	for end := time.Now().Add(2 * time.Second); ec.n.Load() == 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if ec.n.Load() == 0 {
		t.Fatal("no Redis failure reported within 2s")
	}
	// Local decisions: a's own 50 requests allow 5 retries plus the floor.
	if !a.Retry() {
		t.Fatal("local budget refused with room")
	}
	srv.restart()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && b.Stats().FleetRequests < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	if got := b.Stats().FleetRequests; got < 50 {
		t.Fatalf("replica b sees %d fleet requests after Redis returned, want a's 50", got)
	}
}

func TestBudgetHotPathAllocs(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	sb := newBudget(t, c, BudgetConfig{Name: "allocs"})
	p := retry.Policy{Budget: sb.Budget()}
	fn := func(context.Context) error { return nil }
	if n := testing.AllocsPerRun(1000, func() { p.Do(context.Background(), fn) }); n != 0 {
		t.Fatalf("%v allocs per successful call, want 0", n)
	}
}
