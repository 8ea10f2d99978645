package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// NoQueue, as Config.MaxQueued, turns the queue off: when every slot is
// taken, Acquire fails at once with ErrFull.
const NoQueue = -1

// NoQueueTimeout, as Config.QueueTimeout, lets a queued caller wait for a
// slot until its own context ends.
const NoQueueTimeout time.Duration = -1

// MaxLimit is the largest accepted MaxConcurrent and MaxQueued.
const MaxLimit = math.MaxInt32

// Config configures a Bulkhead. A zero field takes its default; the zero
// Config gives 10 slots, a queue of 100 and a 5s queue timeout.
type Config struct {
	// MaxConcurrent is how many callers may hold a slot at once.
	// Default 10. Must be in [0, MaxLimit].
	MaxConcurrent int

	// MaxQueued is how many callers may wait for a slot when all are taken;
	// one more is rejected with ErrFull. Default 100. NoQueue (or any
	// negative value) means no queue: reject as soon as all slots are taken.
	// Must not exceed MaxLimit.
	MaxQueued int

	// QueueTimeout is how long a caller waits in the queue before it gives
	// up with ErrQueueTimeout. Default 5s. NoQueueTimeout (or any negative
	// value) means no limit: only the caller's context ends the wait.
	// It is also the RetryAfter hint of rejections (see RejectedError).
	QueueTimeout time.Duration

	// Observers, if any, receive every acquisition and rejection (see
	// Observer). Default none: the bulkhead then builds no events and
	// reads no clock for them.
	Observers []Observer
}

// Validate reports the first invalid field of c, naming it.
func (c Config) Validate() error {
	switch {
	case c.MaxConcurrent < 0 || c.MaxConcurrent > MaxLimit:
		return fmt.Errorf("bulkhead: MaxConcurrent must be in [0, %d], got %d", MaxLimit, c.MaxConcurrent)
	case c.MaxQueued > MaxLimit:
		return fmt.Errorf("bulkhead: MaxQueued must be at most %d, got %d", MaxLimit, c.MaxQueued)
	}
	return nil
}

var (
	// ErrFull is matched (errors.Is) by the error of a caller rejected at
	// once because every slot and queue place was taken.
	ErrFull = errors.New("bulkhead: full")

	// ErrQueueTimeout is matched (errors.Is) by the error of a caller that
	// waited QueueTimeout in the queue without getting a slot.
	ErrQueueTimeout = errors.New("bulkhead: queue timeout")
)

// RejectedError is the error of a rejected call. It wraps ErrFull or
// ErrQueueTimeout, has ErrorClass "bulkhead_full", and carries a RetryAfter
// hint. Each Bulkhead returns the same two values again and again, so a
// rejection does not allocate; the type is immutable.
type RejectedError struct {
	queueTimeout bool // else: full
	retryAfter   time.Duration
}

// Error returns the message of the wrapped sentinel.
func (e *RejectedError) Error() string { return e.Unwrap().Error() }

// Unwrap returns ErrFull or ErrQueueTimeout.
func (e *RejectedError) Unwrap() error {
	if e.queueTimeout {
		return ErrQueueTimeout
	}
	return ErrFull
}

// ErrorClass returns "bulkhead_full".
func (e *RejectedError) ErrorClass() string { return "bulkhead_full" }

// RetryAfter is a coarse hint of when trying again makes sense: the
// bulkhead's QueueTimeout. Every caller queued when the rejection happened
// has got its slot or given up within that span, so the queue has turned
// over. It is 0 (no hint) when QueueTimeout is negative.
func (e *RejectedError) RetryAfter() time.Duration { return e.retryAfter }

// Stats is a snapshot of a Bulkhead's state and its totals since New.
type Stats struct {
	InFlight int // slots held now
	Queued   int // callers waiting for a slot now

	Acquired      uint64 // successful Acquire and TryAcquire calls
	Rejected      uint64 // rejections: queue full, TryAcquire refused, queue timeouts
	QueueTimeouts uint64 // the part of Rejected that waited QueueTimeout
	Canceled      uint64 // callers whose context ended before they got a slot
}

// Bulkhead bounds how many callers run at once and how many wait.
// It is safe for concurrent use. Create it with New; a zero Bulkhead
// rejects every call.
type Bulkhead struct {
	// state packs the slots in use (low 32 bits) and the number of queued
	// callers (high 32 bits), which under mu equals the queue's length.
	// Invariant: a caller is queued only while every slot is in use. So
	// state < max exactly when a slot is free and nobody waits: only then
	// do the lock-free paths change state (Acquire: CAS +1; Release: CAS
	// -1 when nobody waits). Hence:
	//   - slots in use never exceed max: they grow only by a CAS from a
	//     state below max, and a hand-off passes a slot without a change;
	//   - no lost wake-up: a caller queues by a CAS that fails if a
	//     lock-free Release freed a slot meanwhile, and once anyone is
	//     queued every Release takes mu and hands its slot to the head;
	//   - FIFO: while anyone is queued the fast path is closed to
	//     newcomers, and the head of the queue is always served first;
	//   - no leaked slot: a caller leaving the queue learns under mu
	//     whether it was granted a slot meanwhile, and then releases it.
	state    atomic.Uint64
	acquired atomic.Uint64

	max          uint64
	maxQueued    uint64
	full         RejectedError
	queueTimeout time.Duration
	timedOut     RejectedError

	mu         sync.Mutex
	head, tail *waiter   // FIFO queue, guarded by mu
	pool       sync.Pool // of *waiter, so waiting allocates nothing

	rejected, timeouts, canceled atomic.Uint64

	obs []Observer // Config.Observers; see observe.go
}

// queuedOne is one queued caller in state; adding dequeue removes one.
const (
	queuedOne uint64 = 1 << 32
	dequeue          = ^(queuedOne - 1)
)

type waiter struct {
	next, prev *waiter
	ready      chan struct{} // buffered; receives one value when granted
	granted    bool          // guarded by mu
	timer      *time.Timer   // queue timeout, reused with the waiter
}

// New returns a Bulkhead for cfg. It panics with the message of
// cfg.Validate() if cfg is invalid.
func New(cfg Config) *Bulkhead {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 10
	}
	switch {
	case cfg.MaxQueued == 0:
		cfg.MaxQueued = 100
	case cfg.MaxQueued < 0:
		cfg.MaxQueued = 0
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = 5 * time.Second
	}
	hint := max(cfg.QueueTimeout, 0)
	return &Bulkhead{
		max:          uint64(cfg.MaxConcurrent),
		maxQueued:    uint64(cfg.MaxQueued),
		queueTimeout: cfg.QueueTimeout,
		full:         RejectedError{retryAfter: hint},
		timedOut:     RejectedError{queueTimeout: true, retryAfter: hint},
		obs:          slices.Clone(cfg.Observers),
	}
}

// Acquire takes a slot, waiting in the FIFO queue if all are taken. Every
// successful Acquire must be followed by exactly one Release.
//
// It fails with ctx.Err() if ctx is already done or ends while waiting (the
// caller leaves the queue and no slot is lost), with a *RejectedError
// matching ErrFull if the queue is full, and with one matching
// ErrQueueTimeout after QueueTimeout in the queue. A free slot is taken
// without locking or allocating.
func (b *Bulkhead) Acquire(ctx context.Context) error {
	if len(b.obs) != 0 {
		return b.acquireObserved(ctx)
	}
	if err := ctx.Err(); err != nil {
		b.canceled.Add(1)
		return err
	}
	if b.tryFast() {
		b.acquired.Add(1)
		return nil
	}
	return b.acquireSlow(ctx)
}

// TryAcquire takes a slot if one is free and nobody is queued, and reports
// whether it did. It never waits; a refusal counts as Rejected.
func (b *Bulkhead) TryAcquire() bool {
	if len(b.obs) != 0 {
		return b.tryAcquireObserved()
	}
	if b.tryFast() {
		b.acquired.Add(1)
		return true
	}
	b.rejected.Add(1)
	return false
}

func (b *Bulkhead) tryFast() bool {
	for {
		s := b.state.Load()
		if s >= b.max { // all slots taken, or callers queued
			return false
		}
		if b.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (b *Bulkhead) acquireSlow(ctx context.Context) error {
	b.mu.Lock()
	for {
		s := b.state.Load()
		if s < b.max {
			if b.state.CompareAndSwap(s, s+1) {
				b.mu.Unlock()
				b.acquired.Add(1)
				return nil
			}
			continue // a fast path changed state; look again
		}
		if s/queuedOne >= b.maxQueued {
			b.mu.Unlock()
			b.rejected.Add(1)
			return &b.full
		}
		// Fails only if a lock-free Release freed a slot meanwhile.
		if b.state.CompareAndSwap(s, s+queuedOne) {
			break
		}
	}
	w, _ := b.pool.Get().(*waiter)
	if w == nil {
		w = &waiter{ready: make(chan struct{}, 1)}
	}
	w.granted, w.prev = false, b.tail
	if b.tail == nil {
		b.head = w
	} else {
		b.tail.next = w
	}
	b.tail = w
	b.mu.Unlock()

	err := b.wait(ctx, w)
	b.pool.Put(w)
	return err
}

// wait blocks until w is granted a slot, ctx ends or the queue timeout
// passes. It leaves w reusable: unlinked, its channel and timer drained.
func (b *Bulkhead) wait(ctx context.Context, w *waiter) error {
	var expired <-chan time.Time
	if b.queueTimeout > 0 {
		if w.timer == nil {
			w.timer = time.NewTimer(b.queueTimeout)
		} else {
			w.timer.Reset(b.queueTimeout)
		}
		expired = w.timer.C
	}
	stopTimer := func() {
		// Drain a value sent before Stop, for the pre-Go 1.23 timer
		// semantics that a main module may still ask for.
		if expired != nil && !w.timer.Stop() {
			select {
			case <-expired:
			default:
			}
		}
	}
	select {
	case <-w.ready:
		stopTimer()
		b.acquired.Add(1)
		return nil
	case <-ctx.Done():
		stopTimer()
		if !b.leave(w) {
			<-w.ready   // sent under mu, so already buffered
			b.Release() // granted as ctx ended: pass the slot on
		}
		b.canceled.Add(1)
		return ctx.Err()
	case <-expired:
		if !b.leave(w) { // granted as the timer fired: keep the slot
			<-w.ready
			b.acquired.Add(1)
			return nil
		}
		b.rejected.Add(1)
		b.timeouts.Add(1)
		return &b.timedOut
	}
}

// leave removes w from the queue and reports true, or reports false if w
// has already been granted a slot.
func (b *Bulkhead) leave(w *waiter) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.granted {
		return false
	}
	b.unlink(w)
	b.state.Add(dequeue)
	return true
}

func (b *Bulkhead) unlink(w *waiter) {
	if w.prev == nil {
		b.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		b.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
}

// Release returns a slot taken by Acquire or TryAcquire, handing it to the
// longest-waiting queued caller if there is one. Release when no slot is
// held panics. An extra Release while other callers hold slots cannot be
// told from theirs: it goes unnoticed and lets one caller too many in.
func (b *Bulkhead) Release() {
	for {
		s := b.state.Load()
		switch {
		case s >= queuedOne:
			if b.handOff() {
				return
			}
		case s == 0:
			panic("bulkhead: Release without Acquire")
		case b.state.CompareAndSwap(s, s-1):
			return
		}
	}
}

// handOff gives the caller's slot to the head of the queue; the number of
// slots in use does not change. It reports false if the queue emptied
// before mu was taken.
func (b *Bulkhead) handOff() bool {
	b.mu.Lock()
	w := b.head
	if w == nil {
		b.mu.Unlock()
		return false
	}
	b.unlink(w)
	w.granted = true
	b.state.Add(dequeue)
	w.ready <- struct{}{} // never blocks: the buffer is empty until now
	b.mu.Unlock()
	return true
}

// Stats returns a snapshot of b's state and totals. InFlight and Queued
// are read together, atomically.
func (b *Bulkhead) Stats() Stats {
	s := b.state.Load()
	return Stats{
		InFlight:      int(s % queuedOne),
		Queued:        int(s / queuedOne),
		Acquired:      b.acquired.Load(),
		Rejected:      b.rejected.Load(),
		QueueTimeouts: b.timeouts.Load(),
		Canceled:      b.canceled.Load(),
	}
}

// Do runs fn while holding a slot of b, and returns fn's results, or the
// error of Acquire without running fn. The slot is released when fn
// returns, also when it panics; the panic then goes on.
func Do[T any](ctx context.Context, b *Bulkhead, fn func(context.Context) (T, error)) (T, error) {
	if err := b.Acquire(ctx); err != nil {
		var zero T
		return zero, err
	}
	defer b.Release()
	return fn(ctx)
}
