// Package waitq is the FIFO queue of callers waiting for a slot, shared by
// package bulkhead and package limit. The queue does not lock: its owner
// guards every method but Wait and Take with its own mutex, the one that
// also guards the owner's count of queued callers, and decides who is
// granted what; the queue only keeps the order and wakes the granted.
package waitq

import (
	"context"
	"sync"
	"time"
)

// Queue is a FIFO of Waiters. The zero Queue is empty and ready to use.
type Queue struct {
	head, tail *Waiter
	pool       sync.Pool // of *Waiter, so waiting allocates nothing
}

// Waiter is one queued caller.
type Waiter struct {
	next, prev *Waiter
	ready      chan struct{} // buffered; receives one value when granted
	timer      *time.Timer   // the wait's bound, reused with the waiter

	// Granted reports whether the owner granted the Waiter a slot. It is
	// guarded by the owner's mutex.
	Granted bool
	// Seq is free for the owner to pass a value along with the grant,
	// guarded by the owner's mutex.
	Seq uint16
}

// Outcome says how a Wait ended.
type Outcome uint8

const (
	// Granted: the owner called Grant.
	Granted Outcome = iota
	// Canceled: the context ended first.
	Canceled
	// Expired: the wait's bound passed first.
	Expired
)

// Push appends a new Waiter at the tail and returns it.
func (q *Queue) Push() *Waiter {
	w, _ := q.pool.Get().(*Waiter)
	if w == nil {
		w = &Waiter{ready: make(chan struct{}, 1)}
	}
	w.Granted, w.prev = false, q.tail
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	return w
}

// Head returns the longest-waiting Waiter, or nil if the queue is empty.
func (q *Queue) Head() *Waiter { return q.head }

// Len counts the Waiters in the queue, walking it: for checks, not for
// hot paths.
func (q *Queue) Len() int {
	n := 0
	for w := q.head; w != nil; w = w.next {
		n++
	}
	return n
}

// Remove takes w out of the queue.
func (q *Queue) Remove(w *Waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
}

// Grant takes w out of the queue, marks it Granted and wakes its Wait.
// Set Seq before Grant if it carries a value.
func (q *Queue) Grant(w *Waiter) {
	q.Remove(w)
	w.Granted = true
	w.ready <- struct{}{} // never blocks: the buffer is empty until now
}

// Release returns w, out of the queue and with its Wait over, to be reused.
func (q *Queue) Release(w *Waiter) { q.pool.Put(w) }

// Wait blocks until w is granted, ctx ends, or bound passes (no bound if
// bound ≤ 0), and reports which came first. It does not lock. After
// Canceled or Expired the owner takes w out of the queue under its mutex,
// unless w was granted meanwhile: then it calls Take, and holds the slot.
func (w *Waiter) Wait(ctx context.Context, bound time.Duration) Outcome {
	var expired <-chan time.Time
	if bound > 0 {
		if w.timer == nil {
			w.timer = time.NewTimer(bound)
		} else {
			w.timer.Reset(bound)
		}
		expired = w.timer.C
	}
	select {
	case <-w.ready:
		w.stop(expired)
		return Granted
	case <-ctx.Done():
		w.stop(expired)
		return Canceled
	case <-expired:
		return Expired
	}
}

// stop stops the timer of a wait that did not expire.
func (w *Waiter) stop(expired <-chan time.Time) {
	// Drain a value sent before Stop, for the pre-Go 1.23 timer semantics
	// that a main module may still ask for.
	if expired != nil && !w.timer.Stop() {
		select {
		case <-expired:
		default:
		}
	}
}

// Take receives the grant of a Waiter whose Wait ended Canceled or Expired
// and that the owner found Granted under its mutex. The grant was sent
// under that mutex, so Take never blocks.
func (w *Waiter) Take() { <-w.ready }
