package bulkhead

import (
	"context"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/seed94f50169/resilience/internal/waitq"
)

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
	// state packs the slots claimed (low 32 bits) and the number of queued
	// callers (high 32 bits), which under mu equals the queue's length. A
	// slot is claimed by its holder, and for a moment by a caller whose
	// optimistic add found the bulkhead full: it takes the claim back at
	// once, through the same path as Release. So claimed >= held always.
	// Who writes state, and how:
	//   - Acquire's fast path adds one claim; it keeps it only if the word
	//     was below max, that is a slot was free and nobody was queued;
	//   - Release (and the undo of a failed claim) subtracts one claim; if
	//     callers were queued and fewer than max claims remain, it takes mu
	//     and hands the free slots to the head of the queue;
	//   - under mu only: queueing (a CAS that adds one queued caller, made
	//     only while claims >= max), a hand-off (one claim more and one
	//     queued caller less, in one add, made only while claims < max) and
	//     leaving the queue (one queued caller less).
	// Hence:
	//   - slots held never exceed max: a fast claim is kept only from a
	//     word below max, and a hand-off happens only while claims, which
	//     count every holder, are below max;
	//   - no lost wake-up: a caller queues only while claims >= max, so a
	//     later drop below max is made by a subtraction that sees the queue
	//     and hands over; one made before the caller queued fails its CAS;
	//   - FIFO: while anyone is queued the fast path keeps no claim, and the
	//     head of the queue is always served first;
	//   - no leaked slot: a caller leaving the queue learns under mu
	//     whether it was granted a slot meanwhile, and then releases it.
	// A caller may find the bulkhead full, and queue or be rejected, while
	// a slot is held by nobody but still claimed by a caller backing out;
	// that claim is gone a few instructions later and, if the caller
	// queued, its slot is handed to the queue.
	state atomic.Uint64
	_     [56]byte // keep the other fields off state's cache line

	acquired []counter // successful acquisitions, sharded by goroutine stack
	shift    uint      // 64 - log2(len(acquired))

	max          uint64
	obs          []Observer // Config.Observers, read with max; see observe.go
	maxQueued    uint64
	full         rejectedError
	queueTimeout time.Duration
	timedOut     rejectedError

	mu    sync.Mutex
	queue waitq.Queue // FIFO of queued callers, guarded by mu

	rejected, timeouts, canceled atomic.Uint64
}

// queuedOne is one queued caller in state; adding dequeue removes one;
// claimMask selects the claims.
const (
	queuedOne uint64 = 1 << 32
	dequeue          = ^(queuedOne - 1)
	claimMask        = queuedOne - 1
)

// counter is one shard of the acquisitions total, on a cache line of its
// own.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

// New returns a Bulkhead for cfg. It panics with the message of
// cfg.Validate() if cfg is invalid.
func New(cfg Config) *Bulkhead {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	switch cfg.MaxQueued {
	case 0:
		cfg.MaxQueued = DefaultMaxQueued
	case NoQueue:
		cfg.MaxQueued = 0
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	hint := max(cfg.QueueTimeout, 0)
	n := 4 // shards of acquired: 4 per CPU, at most 64
	for n < 4*runtime.GOMAXPROCS(0) && n < 64 {
		n *= 2
	}
	return &Bulkhead{
		acquired:     make([]counter, n),
		shift:        uint(64 - bits.TrailingZeros(uint(n))),
		max:          uint64(cfg.MaxConcurrent),
		maxQueued:    uint64(cfg.MaxQueued),
		queueTimeout: cfg.QueueTimeout,
		full:         rejectedError{retryAfter: hint},
		timedOut:     rejectedError{queueTimeout: true, retryAfter: hint},
		obs:          slices.Clone(cfg.Observers),
	}
}

// Acquire takes a slot, waiting in the FIFO queue if all are taken. Every
// successful Acquire must be followed by exactly one Release.
//
// It fails with ctx.Err() if ctx is already done or ends while waiting (the
// caller leaves the queue and no slot is lost), with an error matching
// ErrFull if the queue is full, and with one matching ErrQueueTimeout
// after QueueTimeout in the queue (both have RetryAfter and ErrorClass;
// see ErrFull). A free slot is taken
// without locking or allocating.
func (b *Bulkhead) Acquire(ctx context.Context) error {
	if len(b.obs) != 0 {
		return b.acquireObserved(ctx)
	}
	if err := ctx.Err(); err != nil {
		b.canceled.Add(1)
		return err
	}
	if b.state.Add(1) <= b.max { // a slot was free and nobody queued
		b.count()
		return nil
	}
	b.Release() // take the claim back
	return b.acquireSlow(ctx)
}

// TryAcquire takes a slot if one is free and nobody is queued, and reports
// whether it did. It never waits; a refusal counts as Rejected.
func (b *Bulkhead) TryAcquire() bool {
	if len(b.obs) != 0 {
		return b.tryAcquireObserved()
	}
	if b.state.Add(1) <= b.max {
		b.count()
		return true
	}
	b.Release()
	b.rejected.Add(1)
	return false
}

// count adds one acquisition to the caller's shard of the total. The
// address of a local variable identifies the goroutine's stack; in 2 KiB
// units (the smallest stack), spread by a Fibonacci hash, it makes
// goroutines running in parallel mostly write different cache lines.
func (b *Bulkhead) count() {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9e3779b97f4a7c15
	b.acquired[h>>b.shift].n.Add(1)
}

func (b *Bulkhead) acquireSlow(ctx context.Context) error {
	b.mu.Lock()
	for {
		s := b.state.Load()
		if s < b.max {
			if b.state.CompareAndSwap(s, s+1) {
				b.mu.Unlock()
				b.count()
				return nil
			}
			continue // a lock-free path changed state; look again
		}
		if s/queuedOne >= b.maxQueued {
			b.mu.Unlock()
			b.rejected.Add(1)
			return &b.full
		}
		// Fails if a lock-free path changed the claims meanwhile.
		if b.state.CompareAndSwap(s, s+queuedOne) {
			break
		}
	}
	w := b.queue.Push()
	b.mu.Unlock()

	err := b.wait(ctx, w)
	b.queue.Release(w)
	return err
}

// wait blocks until w is granted a slot, ctx ends or the queue timeout
// passes. It leaves w reusable: out of the queue, its grant taken.
func (b *Bulkhead) wait(ctx context.Context, w *waitq.Waiter) error {
	switch w.Wait(ctx, b.queueTimeout) {
	case waitq.Granted:
		b.count()
		return nil
	case waitq.Canceled:
		if !b.leave(w) {
			w.Take()
			b.Release() // granted as ctx ended: pass the slot on
		}
		b.canceled.Add(1)
		return ctx.Err()
	default: // waitq.Expired
		if !b.leave(w) { // granted as the timer fired: keep the slot
			w.Take()
			b.count()
			return nil
		}
		b.rejected.Add(1)
		b.timeouts.Add(1)
		return &b.timedOut
	}
}

// leave takes w out of the queue and reports true, or reports false if w
// has already been granted a slot.
func (b *Bulkhead) leave(w *waitq.Waiter) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.Granted {
		return false
	}
	b.queue.Remove(w)
	b.state.Add(dequeue)
	return true
}

// Release returns a slot taken by Acquire or TryAcquire, handing it to the
// longest-waiting queued caller if there is one. Release when no slot is
// held panics. An extra Release while other callers hold slots cannot be
// told from theirs: it goes unnoticed and lets one caller too many in.
func (b *Bulkhead) Release() {
	if s := b.state.Add(^uint64(0)); s >= queuedOne {
		b.released(s)
	}
}

// released follows a subtraction of one claim that left state s with
// callers queued, or that found no claim to subtract.
func (b *Bulkhead) released(s uint64) {
	switch {
	case s&claimMask == claimMask: // there was no claim: undo, complain
		b.state.Add(1)
		panic("bulkhead: Release without Acquire")
	case s&claimMask < b.max:
		b.handOff()
	}
	// Otherwise every slot is still claimed: the subtraction that takes
	// the claims below max will hand over.
}

// handOff gives free slots to the head of the queue, one claim more and
// one queued caller less each, while fewer than max slots are claimed.
func (b *Bulkhead) handOff() {
	b.mu.Lock()
	for w := b.queue.Head(); w != nil && b.state.Load()&claimMask < b.max; w = b.queue.Head() {
		b.state.Add(1 + dequeue)
		b.queue.Grant(w)
	}
	b.mu.Unlock()
}

// Stats returns a snapshot of b's state and totals. InFlight and Queued
// are read together, atomically.
func (b *Bulkhead) Stats() Stats {
	s := b.state.Load()
	var acquired uint64
	for i := range b.acquired {
		acquired += b.acquired[i].n.Load()
	}
	return Stats{
		InFlight:      int(min(s&claimMask, b.max)), // less a claim being taken back
		Queued:        int(s / queuedOne),
		Acquired:      acquired,
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
