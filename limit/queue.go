package limit

// The FIFO queue of callers waiting for a slot. Every change to it happens
// under Limiter.mu, following the invariant stated at Limiter.state.

import (
	"context"
	"time"
)

type waiter struct {
	next, prev *waiter
	ready      chan struct{} // buffered; receives one value when granted
	granted    bool          // guarded by mu
	seq        uint16        // guarded by mu: the sequence number of the grant
	timer      *time.Timer   // max wait, reused with the waiter
}

func (l *Limiter) acquireSlow(ctx context.Context) (Token, error) {
	l.mu.Lock()
	for {
		s := l.state.Load()
		if s&admitMask < l.limit.Load() {
			if n := s + 1 + seqOne; l.state.CompareAndSwap(s, n) {
				l.mu.Unlock()
				return l.token(uint16(n >> 48)), nil
			}
			continue // a fast path changed state; look again
		}
		if (s&queuedMask)/queuedOne >= l.maxQueued {
			l.mu.Unlock()
			l.rejected.Add(1)
			return Token{}, &l.full
		}
		// Fails only if a lock-free release freed a slot meanwhile.
		if l.state.CompareAndSwap(s, s+queuedOne) {
			break
		}
	}
	w, _ := l.pool.Get().(*waiter)
	if w == nil {
		w = &waiter{ready: make(chan struct{}, 1)}
	}
	w.granted, w.prev = false, l.tail
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.mu.Unlock()

	t, err := l.wait(ctx, w)
	l.pool.Put(w)
	return t, err
}

// wait blocks until w is granted a slot, ctx ends or MaxWait passes. It
// leaves w reusable: unlinked, its channel and timer drained.
func (l *Limiter) wait(ctx context.Context, w *waiter) (Token, error) {
	var expired <-chan time.Time
	if l.maxWait > 0 {
		if w.timer == nil {
			w.timer = time.NewTimer(l.maxWait)
		} else {
			w.timer.Reset(l.maxWait)
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
		return l.token(w.seq), nil
	case <-ctx.Done():
		stopTimer()
		if !l.leave(w) {
			<-w.ready   // sent under mu, so already buffered
			l.release() // granted as ctx ended: pass the slot on
		}
		l.canceled.Add(1)
		return Token{}, ctx.Err()
	case <-expired:
		if !l.leave(w) { // granted as the timer fired: keep the slot
			<-w.ready
			return l.token(w.seq), nil
		}
		l.rejected.Add(1)
		l.timeouts.Add(1)
		return Token{}, &l.timedOut
	}
}

// leave removes w from the queue and reports true, or reports false if w
// has already been granted a slot.
func (l *Limiter) leave(w *waiter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted {
		return false
	}
	l.unlink(w)
	l.state.Add(dequeue)
	return true
}

func (l *Limiter) unlink(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
}

// grantLocked hands slots to queued callers while the limit allows, after
// the limit grew. It requires l.mu to be held.
func (l *Limiter) grantLocked() {
	for l.head != nil && l.state.Load()&inflightMask < l.limit.Load() {
		l.grantHeadLocked(1)
	}
}

// grantHeadLocked gives a slot to the head of the queue; add is 1 for a
// new slot, 0 for one handed over by a releasing call. It requires l.mu.
func (l *Limiter) grantHeadLocked(add uint64) {
	w := l.head
	l.unlink(w)
	w.granted = true
	n := l.state.Add(add + seqOne - queuedOne)
	w.seq = uint16(n >> 48)
	w.ready <- struct{}{} // never blocks: the buffer is empty until now
}

// release frees a slot, or hands it to the longest-waiting caller.
func (l *Limiter) release() {
	for {
		s := l.state.Load()
		switch {
		case s&queuedMask != 0:
			if l.releaseSlow() {
				return
			}
		case s&inflightMask == 0:
			panic("limit: Done without Acquire")
		case l.state.CompareAndSwap(s, s-1):
			return
		}
	}
}

// releaseSlow releases a slot while callers are queued. It reports false
// if the queue emptied before mu was taken.
func (l *Limiter) releaseSlow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == nil {
		return false
	}
	if l.state.Load()&inflightMask > l.limit.Load() {
		l.state.Add(minusOne) // over a lowered limit: nobody gets this slot
		return true
	}
	l.grantHeadLocked(0)
	return true
}
