package hedge

import (
	"context"
	"sync"
	"time"
)

// attemptCtx is the context of one attempt: the caller's context, which Do
// can also end on its own (when another attempt has won, or when Do
// returns). It costs nothing until fn asks for its Done channel: only
// then does it derive a context.WithCancel from the caller's context, so a
// first attempt that never selects on Done allocates nothing for its
// context. Once derived, it answers Value for the derived context, so that
// contexts derived from it in turn attach to that one directly (no
// goroutine per derived context) and context.Cause works.
type attemptCtx struct {
	parent context.Context
	owner  interface{ coordinate() } // the call, for the hedge timer

	mu     sync.Mutex
	inner  context.Context // derived on the first Done; nil before
	cancel context.CancelFunc
	ended  bool // Do has ended this attempt
}

func (a *attemptCtx) Deadline() (time.Time, bool) { return a.parent.Deadline() }

func (a *attemptCtx) Done() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inner == nil {
		a.inner, a.cancel = context.WithCancel(a.parent)
		if a.ended {
			a.cancel()
		}
	}
	return a.inner.Done()
}

func (a *attemptCtx) Err() error {
	a.mu.Lock()
	inner, ended := a.inner, a.ended
	a.mu.Unlock()
	switch {
	case inner != nil:
		return inner.Err()
	case ended:
		if err := a.parent.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
	return a.parent.Err()
}

func (a *attemptCtx) Value(key any) any {
	a.mu.Lock()
	inner := a.inner
	a.mu.Unlock()
	if inner != nil {
		return inner.Value(key)
	}
	return a.parent.Value(key)
}

func (a *attemptCtx) String() string { return "hedge.attempt" }

// end ends the attempt's context; it reports whether the attempt was still
// live.
func (a *attemptCtx) end() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended {
		return false
	}
	a.ended = true
	if a.cancel != nil {
		a.cancel()
	}
	return true
}

// endedByDo reports whether Do ended the attempt while the caller's context
// was still alive, that is, whether the attempt lost.
func (a *attemptCtx) endedByDo() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ended && a.parent.Err() == nil
}

// timerHolder carries a reusable hedge timer, so that the first attempt of
// a call costs no timer allocation. cur is the attempt the timer is armed
// for; fire hands over to its call.
type timerHolder struct {
	t   *time.Timer
	cur *attemptCtx // written before Reset, read by fire after it
}

func (h *timerHolder) fire() { h.cur.owner.coordinate() }
