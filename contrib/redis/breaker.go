package redis

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
)

// BreakerConfig configures a SharedBreaker.
type BreakerConfig struct {
	// Conn reaches Redis. Conn.Client is required.
	Conn Conn

	// Name identifies the shared breaker: every replica that protects the
	// same backend uses the same Name. Required; at most 200 bytes.
	Name string

	// Breaker configures the local breaker. Its OnStateChange and ProbeGate
	// hooks are kept and run before the sharing ones.
	Breaker breaker.Config

	// PollInterval is how often the shared state is read from Redis, to
	// catch a publication missed while the subscription was down, and how
	// often the publication of an open state that failed is tried again. It bounds how late a
	// replica follows an open breaker when pub/sub fails. Default 1s.
	PollInterval time.Duration

	// ProbeLease is how long the replica elected to probe in half-open
	// keeps the lease. It is never given back early: after the probe's
	// outcome is announced, a replica that has not heard it yet is still
	// refused, and if the prober dies the others wait for the lease to end.
	// Default Breaker.ProbeTimeout, or Breaker.OpenTimeout,
	// or 60s. At least 1ms.
	ProbeLease time.Duration

	// ReplicaID names this replica in the shared state. Default: random.
	ReplicaID string
}

// SharedBreaker is a local breaker.Breaker whose open state is shared with
// the other replicas of the same Name, through Redis. The local breaker
// decides every call by itself: a call costs no Redis round trip except a
// half-open probe's admission. When it opens, the open state is written to
// Redis with a TTL of the open period and announced on a channel, and the
// other replicas open for what is left of it. In half-open, one replica
// wins a probe lease and probes; the others are refused with
// breaker.ErrTooManyCalls until it closes (announced: they close too) or
// reopens (announced: they reopen). No lock is held across a call.
//
// A SharedBreaker runs one goroutine, stopped by Close.
type SharedBreaker struct {
	b    *breaker.Breaker
	conn Conn
	id   string

	openKey, leaseKey, epochKey, seqKey, channel string
	poll                                         time.Duration
	leaseMs                                      int64

	events       chan transition
	applying     atomic.Bool  // the worker is applying a remote change
	refusedUntil atomic.Int64 // unix ns: another replica holds the probe lease
	pending      atomic.Int32 // a transition whose publication failed, +1; 0 none
	epoch        atomic.Int64 // the newest open period of the fleet seen

	// Used by the worker goroutine only: the number of this replica's
	// latest publication, and that of its latest open one.
	seq, openSeq int64

	published, applied, errs atomic.Uint64

	ps        *goredis.PubSub
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type transition struct {
	from, to breaker.State
	remote   bool
}

// SharedBreakerStats is a snapshot of a SharedBreaker.
type SharedBreakerStats struct {
	breaker.Stats

	Published uint64 // transitions this replica wrote to Redis
	Applied   uint64 // transitions of other replicas applied here
	Errors    uint64 // Redis operations that failed (and fell back to local)
}

// NewBreaker returns a SharedBreaker for cfg, subscribed to its channel. It
// returns an error naming the field if cfg is invalid; it does not need
// Redis to be reachable (the breaker then works locally and joins the
// fleet when Redis answers).
func NewBreaker(cfg BreakerConfig) (*SharedBreaker, error) {
	conn, err := cfg.Conn.check("BreakerConfig")
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" || len(cfg.Name) > 200 {
		return nil, fmt.Errorf("redis: BreakerConfig.Name must have 1 to 200 bytes, got %d", len(cfg.Name))
	}
	if err := cfg.Breaker.Validate(); err != nil {
		return nil, fmt.Errorf("redis: BreakerConfig.Breaker: %w", err)
	}
	if cfg.PollInterval < 0 {
		return nil, fmt.Errorf("redis: BreakerConfig.PollInterval must be ≥ 0, got %v", cfg.PollInterval)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	lease := cfg.ProbeLease
	if lease < 0 || lease > 0 && lease < time.Millisecond {
		return nil, fmt.Errorf("redis: BreakerConfig.ProbeLease must be 0 or ≥ 1ms, got %v", lease)
	}
	for _, d := range []time.Duration{cfg.Breaker.ProbeTimeout, cfg.Breaker.OpenTimeout, time.Minute} {
		if lease == 0 {
			lease = d
		}
	}
	id := cfg.ReplicaID
	if id == "" {
		var r [8]byte
		for i := range r {
			r[i] = byte(rand.Uint32())
		}
		id = hex.EncodeToString(r[:])
	}
	if strings.ContainsAny(id, " \n") {
		return nil, errors.New("redis: BreakerConfig.ReplicaID must not contain a space or a newline")
	}
	base := conn.Prefix + ":breaker:{" + cfg.Name + "}"
	s := &SharedBreaker{
		conn:     conn,
		id:       id,
		openKey:  base + ":open",
		leaseKey: base + ":lease",
		epochKey: base + ":epoch",
		seqKey:   base + ":seq:" + id,
		channel:  base + ":events",
		poll:     cfg.PollInterval,
		leaseMs:  max(1, lease.Milliseconds()),
		events:   make(chan transition, 64),
		done:     make(chan struct{}),
		// Publications are numbered from the clock, so that a replica
		// restarted under the same ReplicaID numbers above its past self
		// (in microseconds: Lua compares numbers as float64, exact below
		// 2^53).
		seq: time.Now().UnixMicro(),
	}
	bc := cfg.Breaker
	userChange, userGate := bc.OnStateChange, bc.ProbeGate
	bc.OnStateChange = func(from, to breaker.State) {
		if userChange != nil {
			userChange(from, to)
		}
		select {
		case s.events <- transition{from, to, s.applying.Load()}:
		default: // the worker is far behind (Redis is slow): resync publishes
			if to == breaker.Open {
				s.pending.Store(int32(breaker.Open) + 1)
			}
		}
	}
	bc.ProbeGate = func() bool {
		if userGate != nil && !userGate() {
			return false
		}
		return s.gate()
	}
	s.b = breaker.New(bc)
	ctx, cancel := conn.ctx()
	s.ps = conn.Client.Subscribe(ctx, s.channel)
	cancel()
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Breaker returns the local breaker, to use as any breaker (in
// middleware.Recovery, breaker.Do, Allow and Done).
func (s *SharedBreaker) Breaker() *breaker.Breaker { return s.b }

// Stats returns the local breaker's Stats and the sharing counters.
func (s *SharedBreaker) Stats() SharedBreakerStats {
	return SharedBreakerStats{
		Stats:     s.b.Stats(),
		Published: s.published.Load(),
		Applied:   s.applied.Load(),
		Errors:    s.errs.Load(),
	}
}

// Close stops sharing: it stops the goroutine and the subscription. The
// local breaker keeps working alone. Close does not close Conn.Client.
func (s *SharedBreaker) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		err = s.ps.Close()
	})
	return err
}

func (s *SharedBreaker) fail(op string, err error) bool {
	if !s.conn.fail(op, err) {
		return false
	}
	s.errs.Add(1)
	return true
}

func (s *SharedBreaker) run() {
	defer s.wg.Done()
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	msgs := s.ps.Channel()
	for {
		select {
		case <-s.done:
			return
		case t := <-s.events:
			if !t.remote {
				s.publish(t)
			}
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			s.apply(m.Payload)
		case <-tick.C:
			s.resync()
		}
	}
}

// The scripts: one round trip each. Two kinds of lateness are guarded
// against, because a command that timed out may still run later (a paused
// Redis runs what it had buffered when it resumes, and commands sent on
// different connections may then run out of order):
//   - Each replica numbers its publications, and its seq key (a hash)
//     holds the newest one that ran: an older one is ignored.
//   - The epoch key counts the fleet's open periods. A close announcement
//     names the epoch it ends, and neither Redis nor a replica accepts one
//     older than the newest open period, so a late close cannot close
//     breakers that opened since. The seq key also records which open
//     period the replica's latest open publication joined, so that its
//     close counts for that period even if the answer naming it never
//     reached the replica: else the fleet would miss the close and wait
//     for the probe lease to end.
var (
	// KEYS open key, epoch key, seq key; ARGV replica, ms, channel, seq.
	// Writes the open state unless another replica's is there, and
	// announces it. Returns the epoch, or -1 for a late publication.
	openScript = goredis.NewScript(`
if tonumber(redis.call('hget', KEYS[3], 'seq') or 0) >= tonumber(ARGV[4]) then return -1 end
local e
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  e = redis.call('incr', KEYS[2])
  redis.call('pexpire', KEYS[2], 86400000)
  redis.call('publish', ARGV[3], 'open ' .. ARGV[2] .. ' ' .. ARGV[1] .. ' ' .. e)
else
  e = tonumber(redis.call('get', KEYS[2]) or 0)
end
redis.call('hset', KEYS[3], 'seq', ARGV[4], 'open', ARGV[4], 'epoch', e)
redis.call('pexpire', KEYS[3], 86400000)
return e`)

	// KEYS open key, epoch key, seq key; ARGV replica, channel, epoch,
	// seq, seq of the replica's latest open publication. Announces that
	// the breaker closed, unless a newer open period began than the one
	// the replica knows of. The probe lease is kept until it expires: a
	// replica that has not heard the news yet must not take it and probe
	// again. Returns the epoch, or -1 for a late publication.
	closeScript = goredis.NewScript(`
if tonumber(redis.call('hget', KEYS[3], 'seq') or 0) >= tonumber(ARGV[4]) then return -1 end
redis.call('hset', KEYS[3], 'seq', ARGV[4])
redis.call('pexpire', KEYS[3], 86400000)
local known = tonumber(ARGV[3])
if redis.call('hget', KEYS[3], 'open') == ARGV[5] then
  known = math.max(known, tonumber(redis.call('hget', KEYS[3], 'epoch')))
end
local e = tonumber(redis.call('get', KEYS[2]) or 0)
if e > known then return e end
redis.call('del', KEYS[1])
redis.call('publish', ARGV[2], 'closed ' .. ARGV[1] .. ' ' .. e)
return e`)

	// KEYS lease key; ARGV replica, ms. -1: the lease is ours; otherwise
	// the ms left on another replica's lease.
	leaseScript = goredis.NewScript(`
local v = redis.call('get', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return -1
end
return math.max(1, redis.call('pttl', KEYS[1]))`)

	// KEYS open key, epoch key. {owner or false, pttl, epoch}.
	stateScript = goredis.NewScript(`
return {redis.call('get', KEYS[1]), redis.call('pttl', KEYS[1]), tonumber(redis.call('get', KEYS[2]) or 0)}`)
)

// publish writes a local transition to Redis.
func (s *SharedBreaker) publish(t transition) {
	ctx, cancel := s.conn.ctx()
	defer cancel()
	var e int64
	var err error
	keys := []string{s.openKey, s.epochKey, s.seqKey}
	switch {
	case t.to == breaker.Open:
		rem := s.b.OpenRemaining()
		if rem <= 0 {
			return
		}
		s.seq++
		s.openSeq = s.seq
		e, err = openScript.Run(ctx, s.conn.Client, keys, s.id, max(1, rem.Milliseconds()), s.channel, s.seq).Int64()
	case t.to == breaker.Closed && t.from == breaker.HalfOpen:
		s.seq++
		e, err = closeScript.Run(ctx, s.conn.Client, keys, s.id, s.channel, s.epoch.Load(), s.seq, s.openSeq).Int64()
	default:
		return
	}
	if s.fail("breaker.publish", err) {
		// Only an open state is published again later: a close announced
		// late could close replicas that have tripped since, while without
		// it they simply probe for themselves.
		if t.to == breaker.Open {
			s.pending.Store(int32(t.to) + 1)
		}
		return
	}
	s.seeEpoch(e)
	s.pending.Store(0)
	s.published.Add(1)
}

// seeEpoch records epoch e if it is the newest seen.
func (s *SharedBreaker) seeEpoch(e int64) {
	for {
		old := s.epoch.Load()
		if e <= old || s.epoch.CompareAndSwap(old, e) {
			return
		}
	}
}

// apply applies a message of another replica.
func (s *SharedBreaker) apply(msg string) {
	f := strings.Fields(msg)
	switch {
	case len(f) == 4 && f[0] == "open" && f[2] != s.id:
		ms, err1 := strconv.ParseInt(f[1], 10, 64)
		e, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil || ms <= 0 {
			return
		}
		s.seeEpoch(e)
		s.openFor(time.Duration(min(ms, 1<<40)) * time.Millisecond)
	case len(f) == 3 && f[0] == "closed" && f[1] != s.id:
		e, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || e < s.epoch.Load() {
			return // about an open period older than the newest one
		}
		s.refusedUntil.Store(0)
		if st := s.b.Stats(); st.State != breaker.Closed && !st.Forced {
			s.applying.Store(true)
			s.b.Reset()
			s.applying.Store(false)
			s.applied.Add(1)
		}
	}
}

func (s *SharedBreaker) openFor(d time.Duration) {
	s.applying.Store(true)
	changed := s.b.OpenFor(d)
	s.applying.Store(false)
	if changed {
		s.applied.Add(1)
	}
}

// resync retries a failed publication whose state still holds, and reads
// the shared open state in case an announcement was missed.
func (s *SharedBreaker) resync() {
	if p := s.pending.Load(); p != 0 {
		to := breaker.State(p - 1)
		if s.b.State() == to {
			s.publish(transition{from: breaker.HalfOpen, to: to})
		} else {
			s.pending.Store(0)
		}
	}
	ctx, cancel := s.conn.ctx()
	defer cancel()
	v, err := stateScript.Run(ctx, s.conn.Client, []string{s.openKey, s.epochKey}).Slice()
	if s.fail("breaker.poll", err) || len(v) != 3 {
		return
	}
	owner, _ := v[0].(string)
	pttl, _ := v[1].(int64)
	e, _ := v[2].(int64)
	s.seeEpoch(e)
	if owner != "" && owner != s.id && pttl > 0 {
		s.openFor(time.Duration(pttl) * time.Millisecond)
	}
}

// gate is the local breaker's ProbeGate: it lets this replica probe if it
// holds, or wins, the probe lease. Redis failing, it lets the probe go:
// every replica then probes for itself, as without sharing.
func (s *SharedBreaker) gate() bool {
	now := time.Now().UnixNano()
	if now < s.refusedUntil.Load() {
		return false
	}
	ctx, cancel := s.conn.ctx()
	ms, err := leaseScript.Run(ctx, s.conn.Client, []string{s.leaseKey}, s.id, s.leaseMs).Int64()
	cancel()
	if s.fail("breaker.lease", err) || ms < 0 {
		return true
	}
	s.refusedUntil.Store(now + ms*int64(time.Millisecond))
	return false
}
