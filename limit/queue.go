package limit

// The FIFO queue of callers waiting for a slot. Every change to it happens
// under Limiter.mu, following the invariant stated at Limiter.state.

import (
	"context"

	"github.com/seed94f50169/resilience/internal/waitq"
)

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
	w := l.queue.Push()
	l.mu.Unlock()

	t, err := l.wait(ctx, w)
	l.queue.Release(w)
	return t, err
}

// wait blocks until w is granted a slot, ctx ends or MaxWait passes. It
// leaves w reusable: out of the queue, its grant taken.
func (l *Limiter) wait(ctx context.Context, w *waitq.Waiter) (Token, error) {
	switch w.Wait(ctx, l.maxWait) {
	case waitq.Granted:
		return l.token(w.Seq), nil
	case waitq.Canceled:
		if !l.leave(w) {
			w.Take()
			l.release() // granted as ctx ended: pass the slot on
		}
		l.canceled.Add(1)
		return Token{}, ctx.Err()
	default: // waitq.Expired
		if !l.leave(w) { // granted as the timer fired: keep the slot
			w.Take()
			return l.token(w.Seq), nil
		}
		l.rejected.Add(1)
		l.timeouts.Add(1)
		return Token{}, &l.timedOut
	}
}

// leave takes w out of the queue and reports true, or reports false if w
// has already been granted a slot.
func (l *Limiter) leave(w *waitq.Waiter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.Granted {
		return false
	}
	l.queue.Remove(w)
	l.state.Add(dequeue)
	return true
}

// grantLocked hands slots to queued callers while the limit allows, after
// the limit grew. It requires l.mu to be held.
func (l *Limiter) grantLocked() {
	for l.queue.Head() != nil && l.state.Load()&inflightMask < l.limit.Load() {
		l.grantHeadLocked(1)
	}
}

// grantHeadLocked gives a slot to the head of the queue; add is 1 for a
// new slot, 0 for one handed over by a releasing call. It requires l.mu.
func (l *Limiter) grantHeadLocked(add uint64) {
	w := l.queue.Head()
	n := l.state.Add(add + seqOne - queuedOne)
	w.Seq = uint16(n >> 48)
	l.queue.Grant(w)
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
	if l.queue.Head() == nil {
		return false
	}
	if l.state.Load()&inflightMask > l.limit.Load() {
		l.state.Add(minusOne) // over a lowered limit: nobody gets this slot
		return true
	}
	l.grantHeadLocked(0)
	return true
}
