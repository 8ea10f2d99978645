package redis

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/retry"
)

// BudgetConfig configures a SharedBudget.
type BudgetConfig struct {
	// Conn reaches Redis. Conn.Client is required.
	Conn Conn

	// Name identifies the shared budget: replicas with the same Name share
	// it. Required; at most 200 bytes.
	Name string

	// Ratio is the fleet's retries allowed per call made by the fleet over
	// the window. Default 0.1. At most 1000.
	Ratio float64

	// MinPerSecond is the floor, for the whole fleet: retries allowed each
	// second of the window whatever the traffic. Default 10. At most 1e6.
	MinPerSecond float64

	// Window is the span over which calls and retries are counted, in whole
	// seconds (per-second bucket keys that expire). Default 10s. In [1s, 10m].
	Window time.Duration

	// FlushInterval is how often the replica adds its counts to Redis and
	// reads the fleet's. Default 100ms. In [1ms, Window].
	FlushInterval time.Duration
}

// SharedBudget is a retry budget shared by the replicas of Name: over the
// window, the fleet's retries stay within Ratio × the fleet's calls plus
// the floor. Use Budget() as the Budget of every retry.Policy that calls the
// backend.
//
// A call costs no round trip: Request and Retry are atomic operations on
// local counters, and a goroutine (stopped by Close) flushes them every
// FlushInterval in one round trip, which also returns the fleet's counts.
// Staleness bound: a replica's view includes its own counts at once and the
// other replicas' as of the last flush, so it lags by at most FlushInterval
// plus Conn.Timeout; in that time each replica may spend the headroom it
// saw, so the fleet can exceed the budget by at most the replicas' combined
// headroom of one FlushInterval.
//
// Fail local: while Redis fails, the replica decides from its last view of
// the fleet plus its own counts; once that view is older than Window, from
// its own counts alone, in a window that restarts every Window. Counts not
// flushed are sent when Redis answers again (those older than Window are
// dropped).
type SharedBudget struct {
	conn          Conn
	prefix        string
	ratio, floor  float64
	windowSec     int64
	window, flush time.Duration
	budget        *retry.Budget

	reqShards  [reqShards]reqShard // calls since New, by shard: Request must not contend
	localRetry atomic.Int64        // retries since New
	view       atomic.Pointer[budgetView]

	flushedReq, flushedRetry int64 // sent to Redis; the flusher's own

	flushes, errs atomic.Uint64

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

const reqShards = 16

// reqShard is one cache line of the call count. Parallel callers pick a
// shard by the address of their stack, as the breaker's counters do.
type reqShard struct {
	n atomic.Int64
	_ [56]byte
}

func (s *SharedBudget) localReq() int64 {
	var n int64
	for i := range s.reqShards {
		n += s.reqShards[i].n.Load()
	}
	return n
}

// budgetView is the fleet's counts read at a flush, with the local totals
// they include.
type budgetView struct {
	fleetReq, fleetRetry int64
	baseReq, baseRetry   int64
	at                   time.Time
}

var _ retry.BudgetSharer = (*SharedBudget)(nil)

// SharedBudgetStats is a snapshot of a SharedBudget.
type SharedBudgetStats struct {
	retry.BudgetStats

	FleetRequests, FleetRetries int64  // in the window, as this replica sees it
	Flushes, Errors             uint64 // round trips made, and failed
}

// NewBudget returns a SharedBudget for cfg, or an error naming the invalid
// field. It does not need Redis to be reachable.
func NewBudget(cfg BudgetConfig) (*SharedBudget, error) {
	conn, err := cfg.Conn.check("BudgetConfig")
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Name == "" || len(cfg.Name) > 200:
		return nil, fmt.Errorf("redis: BudgetConfig.Name must have 1 to 200 bytes, got %d", len(cfg.Name))
	case !(cfg.Ratio >= 0 && cfg.Ratio <= 1000):
		return nil, fmt.Errorf("redis: BudgetConfig.Ratio must be in [0, 1000], got %v", cfg.Ratio)
	case !(cfg.MinPerSecond >= 0 && cfg.MinPerSecond <= 1e6):
		return nil, fmt.Errorf("redis: BudgetConfig.MinPerSecond must be in [0, 1e6], got %v", cfg.MinPerSecond)
	case cfg.Window != 0 && (cfg.Window < time.Second || cfg.Window > 10*time.Minute):
		return nil, fmt.Errorf("redis: BudgetConfig.Window must be in [1s, 10m], got %v", cfg.Window)
	}
	if cfg.Ratio == 0 {
		cfg.Ratio = 0.1
	}
	if cfg.MinPerSecond == 0 {
		cfg.MinPerSecond = 10
	}
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.FlushInterval < time.Millisecond || cfg.FlushInterval > cfg.Window {
		return nil, fmt.Errorf("redis: BudgetConfig.FlushInterval must be in [1ms, Window], got %v", cfg.FlushInterval)
	}
	sec := int64(cfg.Window / time.Second)
	s := &SharedBudget{
		conn:      conn,
		prefix:    conn.Prefix + ":budget:{" + cfg.Name + "}:",
		ratio:     cfg.Ratio,
		floor:     cfg.MinPerSecond * float64(sec),
		windowSec: sec,
		window:    time.Duration(sec) * time.Second,
		flush:     cfg.FlushInterval,
		done:      make(chan struct{}),
	}
	s.view.Store(&budgetView{at: time.Now()})
	s.budget = retry.NewSharedBudget(s)
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Budget returns the retry.Budget to put on retry policies.
func (s *SharedBudget) Budget() *retry.Budget { return s.budget }

// Request counts one call; the Budget calls it. One atomic add, on one of
// several cache lines so that parallel callers rarely share one.
func (s *SharedBudget) Request() {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9e3779b97f4a7c15
	s.reqShards[h>>60].n.Add(1)
}

// Retry reports whether the fleet's budget has room for one more retry, as
// this replica sees it, and counts it if so; the Budget calls it.
func (s *SharedBudget) Retry() bool {
	v := s.view.Load()
	reqs := v.fleetReq + s.localReq() - v.baseReq
	limit := s.ratio*float64(reqs) + s.floor
	for {
		r := s.localRetry.Load()
		if float64(v.fleetRetry+r-v.baseRetry+1) > limit {
			return false
		}
		if s.localRetry.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// Stats returns the Budget's stats and the fleet's counts as seen here.
func (s *SharedBudget) Stats() SharedBudgetStats {
	v := s.view.Load()
	return SharedBudgetStats{
		BudgetStats:   s.budget.Stats(),
		FleetRequests: v.fleetReq + s.localReq() - v.baseReq,
		FleetRetries:  v.fleetRetry + s.localRetry.Load() - v.baseRetry,
		Flushes:       s.flushes.Load(),
		Errors:        s.errs.Load(),
	}
}

// Close flushes the counts one last time and stops the goroutine. The
// Budget then decides from the last view and the local counts.
func (s *SharedBudget) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.flushOnce()
	})
	return nil
}

func (s *SharedBudget) run() {
	defer s.wg.Done()
	t := time.NewTicker(s.flush)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.flushOnce()
		}
	}
}

// flushScript: ARGV prefix, requests, retries, window in s. Adds the counts
// to this second's buckets and returns the sums of the window's buckets.
var flushScript = goredis.NewScript(`
local sec = tonumber(redis.call('TIME')[1])
local p, w = ARGV[1], tonumber(ARGV[4])
local ttl = (w + 2) * 1000
local d = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local kind = {'r:', 't:'}
local sums = {0, 0}
for k = 1, 2 do
  if d[k] > 0 then
    local key = p .. kind[k] .. sec
    redis.call('incrby', key, d[k])
    redis.call('pexpire', key, ttl)
  end
  for i = 0, w - 1 do
    sums[k] = sums[k] + (tonumber(redis.call('get', p .. kind[k] .. (sec - i))) or 0)
  end
end
return sums`)

func (s *SharedBudget) flushOnce() {
	req, ret := s.localReq(), s.localRetry.Load()
	ctx, cancel := s.conn.ctx()
	v, err := flushScript.Run(ctx, s.conn.Client, nil, s.prefix, req-s.flushedReq, ret-s.flushedRetry, s.windowSec).Int64Slice()
	cancel()
	s.flushes.Add(1)
	if err == nil && len(v) != 2 {
		err = fmt.Errorf("redis: budget script returned %d values", len(v))
	}
	now := time.Now()
	if s.conn.fail("budget.flush", err) {
		s.errs.Add(1)
		if old := s.view.Load(); now.Sub(old.at) >= s.window {
			// Local: a window of this replica's counts, restarting now;
			// counts older than it are dropped, not sent later.
			s.view.Store(&budgetView{baseReq: req, baseRetry: ret, at: now})
			s.flushedReq, s.flushedRetry = req, ret
		}
		return
	}
	s.flushedReq, s.flushedRetry = req, ret
	s.view.Store(&budgetView{fleetReq: v[0], fleetRetry: v[1], baseReq: req, baseRetry: ret, at: now})
}
