package limit

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/internal/waitq"
)

// Stats is a snapshot of a Limiter's state, its estimates and its totals
// since New.
type Stats struct {
	Limit    int // the current limit
	InFlight int // calls holding a slot now
	Queued   int // callers waiting for a slot now

	Acquired      uint64 // successful Acquire calls
	Rejected      uint64 // rejections: limit reached with a full queue, queue timeouts
	QueueTimeouts uint64 // the part of Rejected that waited MaxWait
	Canceled      uint64 // callers whose context ended before they got a slot
	Samples       uint64 // measured outcomes counted in a window
	Drops         uint64 // the part of Samples that were drops
	Windows       uint64 // sample windows closed: steps of the algorithm
	Probes        uint64 // probe windows closed

	ShortRTT time.Duration // average RTT of the last window; 0 before the first
	LongRTT  time.Duration // Gradient2: long-term average of the windows, its reference; else 0
	MinRTT   time.Duration // Vegas: least window average since the last probe, its reference; else 0
}

// Layout of Limiter.state.
const (
	inflightMask uint64 = 1<<24 - 1
	queuedOne    uint64 = 1 << 24
	queuedMask          = inflightMask << 24
	admitMask           = 1<<48 - 1 // in flight and queued
	seqOne       uint64 = 1 << 48
	minusOne            = ^uint64(0)       // adding it removes one slot
	dequeue             = ^(queuedOne - 1) // adding it removes one queued caller
)

// Limiter bounds how many calls run at once by a limit that follows the
// measured latency and drops. It is safe for concurrent use. Create it
// with New; a zero Limiter rejects every call.
type Limiter struct {
	// state packs the slots in use (bits 0-23), the queued callers (bits
	// 24-47, equal under mu to the queue's length) and a sequence number
	// of admissions (bits 48-63, wrapping), which picks the sampled calls.
	// Invariant: a caller is queued only while the slots in use reach the
	// limit, so state&admitMask < limit exactly when a slot is free and
	// nobody waits: only then do the lock-free paths change state (Acquire:
	// CAS +1; release: CAS -1 when nobody waits). The limit itself changes
	// only under mu, and whoever raises it grants waiters up to it. Hence,
	// as in package bulkhead:
	//   - no lost wake-up: a caller queues by a CAS under mu that fails if
	//     a lock-free release freed a slot meanwhile, and once anyone is
	//     queued every release takes mu and hands its slot on;
	//   - FIFO: while anyone is queued the fast path is closed to
	//     newcomers, and the head of the queue is served first;
	//   - no leaked slot: a caller leaving the queue learns under mu
	//     whether it was granted a slot meanwhile, and then releases it.
	// A lowered limit is not enforced on calls already running: releases
	// then free slots without handing them on until in flight < limit.
	state       atomic.Uint64
	limit       atomic.Uint64 // the current limit; stored under mu
	sampleBelow atomic.Uint32 // 2^16/stride: see sampled; stored under mu
	acquired    atomic.Uint64

	epoch         time.Time
	maxQueued     uint64
	maxWait       time.Duration
	isIgnored     func(error) bool
	isDrop        func(error) bool
	onLimitChange func(from, to int)
	obs           []Observer // Config.Observers; see observe.go
	full          rejectedError
	timedOut      rejectedError
	retryAfter    atomic.Int64 // the hint of rejections, in ns

	mu        sync.Mutex
	queue     waitq.Queue // FIFO of queued callers, guarded by mu
	est       estimator   // guarded by mu
	stride    uint64      // guarded by mu
	idle      *time.Timer // guarded by mu: resets the stride; armed while stride > 1
	lastStart int64       // guarded by mu: start of the latest-started sampled call
	lastSeq   uint16      // guarded by mu: its sequence number

	rejected, timeouts, canceled atomic.Uint64
}

// New returns a Limiter for cfg. It panics with the message of
// cfg.Validate() if cfg is invalid.
func New(cfg Config) *Limiter {
	cfg, err := cfg.normalize()
	if err != nil {
		panic(err.Error())
	}
	l := &Limiter{
		epoch:         time.Now(),
		maxQueued:     uint64(cfg.MaxQueued),
		maxWait:       cfg.MaxWait,
		isIgnored:     cfg.IsIgnored,
		isDrop:        cfg.IsDrop,
		onLimitChange: cfg.OnLimitChange,
		obs:           slices.Clone(cfg.Observers),
		est:           newEstimator(cfg),
		stride:        1,
	}
	l.sampleBelow.Store(1 << 16)
	l.full = rejectedError{l: l}
	l.timedOut = rejectedError{l: l, queueTimeout: true}
	l.limit.Store(uint64(cfg.InitialLimit))
	l.retryAfter.Store(int64(minRetryAfter))
	return l
}

// now returns the time since l.epoch in ns, plus one, so it is never 0.
func (l *Limiter) now() int64 { return int64(time.Since(l.epoch)) + 1 }

// Token is a slot held by one call, returned by Acquire. It is a small
// value: copy it freely, but end it exactly once, with Done or Ignore. The
// zero Token (what a failed Acquire returns) holds nothing, and its Done
// and Ignore do nothing.
type Token struct {
	l     *Limiter
	start int64 // when the call started, by l.now(), if it is sampled; else 0
	seq   uint16
}

// Acquire takes a slot, waiting in the FIFO queue if the limit is reached
// and a queue is configured. Every successful Acquire must be followed by
// exactly one Done or Ignore on the returned Token.
//
// It fails with ctx.Err() if ctx is already done or ends while waiting (the
// caller leaves the queue and no slot is lost), with an error matching
// ErrLimitExceeded if the limit is reached and the queue is full (or off),
// and with one matching ErrQueueTimeout after MaxWait in the queue (both
// have RetryAfter and ErrorClass; see ErrLimitExceeded). A free slot is taken, and without a queue a rejection made,
// without locking or allocating.
func (l *Limiter) Acquire(ctx context.Context) (Token, error) {
	if len(l.obs) != 0 {
		return l.acquireObserved(ctx)
	}
	return l.acquire(ctx)
}

// acquire is Acquire without observers.
func (l *Limiter) acquire(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		l.canceled.Add(1)
		return Token{}, err
	}
	lim := l.limit.Load()
	for {
		s := l.state.Load()
		if s&admitMask >= lim { // limit reached, or callers queued
			if l.maxQueued == 0 && s&admitMask >= l.limit.Load() {
				// No queue to join: shedding load takes no lock.
				l.rejected.Add(1)
				return Token{}, &l.full
			}
			return l.acquireSlow(ctx)
		}
		if n := s + 1 + seqOne; l.state.CompareAndSwap(s, n) {
			return l.token(uint16(n >> 48)), nil
		}
	}
}

// token returns the Token of an admitted call with sequence number seq,
// reading the clock only if the call is sampled.
func (l *Limiter) token(seq uint16) Token {
	l.acquired.Add(1)
	if !sampled(seq, l.sampleBelow.Load()) {
		return Token{l: l}
	}
	return Token{l: l, start: l.now(), seq: seq}
}

// Done ends the call and reports its outcome: nil is a success; an error
// is ignored (IsIgnored), a drop (IsDrop) or else a success. A sampled
// call feeds its RTT, measured from Acquire to Done, and its outcome to
// the algorithm, which may change the limit; OnLimitChange is then called
// after the slot is released. Done panics if no slot is held at all.
func (t Token) Done(err error) {
	l := t.l
	if l == nil {
		return
	}
	if t.start == 0 || (err != nil && l.isIgnored(err)) {
		l.release()
		return
	}
	from, to := l.record(t, err != nil && l.isDrop(err))
	l.release()
	if from != to && l.onLimitChange != nil {
		l.onLimitChange(from, to)
	}
	if from != to && len(l.obs) != 0 {
		notify(l.obs, Event{Kind: EventLimitChange, From: from, To: to})
	}
}

// Ignore ends the call without reporting an outcome: the slot is released
// and nothing is sampled. Use it for calls that say nothing about the
// backend, such as ones the caller abandoned.
func (t Token) Ignore() {
	if t.l != nil {
		t.l.release()
	}
}

// Stats returns a snapshot of l's state, estimates and totals. InFlight
// and Queued are read together, atomically.
func (l *Limiter) Stats() Stats {
	s := l.state.Load()
	st := Stats{
		Limit:         int(l.limit.Load()),
		InFlight:      int(s & inflightMask),
		Queued:        int((s & queuedMask) / queuedOne),
		Acquired:      l.acquired.Load(),
		Rejected:      l.rejected.Load(),
		QueueTimeouts: l.timeouts.Load(),
		Canceled:      l.canceled.Load(),
	}
	l.mu.Lock()
	st.Samples, st.Drops = l.est.samples, l.est.drops
	st.Windows, st.Probes = l.est.windows, l.est.probes
	st.ShortRTT = time.Duration(l.est.shortRTT)
	st.LongRTT = time.Duration(l.est.longRTT)
	st.MinRTT = time.Duration(l.est.noLoadRTT)
	l.mu.Unlock()
	return st
}

// Do runs fn while holding a slot of l, and returns fn's results, or the
// error of Acquire without running fn. fn's outcome is reported with Done,
// unless it failed after ctx ended (the caller gave up: Ignore). The slot
// is released when fn returns, also when it panics; the panic then goes
// on, and nothing is sampled.
func Do[T any](ctx context.Context, l *Limiter, fn func(context.Context) (T, error)) (T, error) {
	t, err := l.Acquire(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	finished := false
	defer func() {
		if !finished {
			t.Ignore()
		}
	}()
	v, err := fn(ctx)
	finished = true
	if err != nil && ctx.Err() != nil {
		t.Ignore()
	} else {
		t.Done(err)
	}
	return v, err
}
