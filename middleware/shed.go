package middleware

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ShedConfig configures a Shedder. The zero ShedConfig is valid: every zero
// field means the default written in its comment.
type ShedConfig struct {
	// MaxConcurrent is how many requests may run at once. Default 10.
	MaxConcurrent int

	// MaxQueued is how many requests may wait for a slot. Default 100.
	MaxQueued int

	// Target is how long a request may wait while the server is
	// overloaded: its queue has not been empty for Interval. Default 5ms.
	Target time.Duration

	// Interval is how long a request may wait otherwise, and how long the
	// queue must stand (never empty) before the server counts as
	// overloaded. Default 100ms.
	Interval time.Duration

	// Priority returns a request's priority: higher is served first and
	// shed last. Default: every request has priority 0.
	Priority func(*http.Request) int
}

// Validate reports the first invalid field of c, naming it. Zero fields
// are valid defaults; negative ones are not.
func (c ShedConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxConcurrent", int64(c.MaxConcurrent)},
		{"MaxQueued", int64(c.MaxQueued)},
		{"Target", int64(c.Target)},
		{"Interval", int64(c.Interval)},
	} {
		if f.v < 0 {
			return fmt.Errorf("middleware: ShedConfig.%s must not be negative, got %d", f.name, f.v)
		}
	}
	return nil
}

// Shedder is an admission queue for a server, in front of Handler's
// bulkhead (see Recovery.Shed): at most MaxConcurrent requests run; others
// wait, at most MaxQueued of them, and are served highest priority first.
//
// Within a priority, waiters are served first in, first out while the
// queue drains; once it has not been empty for Interval (a standing queue:
// the server is overloaded) they are served last in, first out, so the
// requests served are the fresh ones whose clients are still waiting, and
// a waiter may wait only Target instead of Interval (CoDel's rule: a queue
// is for absorbing bursts, not for holding a backlog). A full queue sheds
// its oldest waiter of the lowest priority to admit a request of a higher
// one, and otherwise sheds the newcomer.
//
// A Shedder is safe for concurrent use. Admission without waiting takes one
// lock and allocates nothing; a request that waits reads the clock and
// allocates its place in the queue and its timer.
type Shedder struct {
	cfg ShedConfig

	mu       sync.Mutex
	running  int
	queue    []*shedWaiter // in arrival order
	standing time.Time     // when the queue last became non-empty; zero while empty
	shed     uint64
}

type shedWaiter struct {
	prio    int
	ready   chan struct{} // closed when granted or evicted
	granted bool          // set, under mu, when the waiter holds a slot
}

// NewShedder returns a Shedder. It panics with the message of
// cfg.Validate() if cfg is invalid.
func NewShedder(cfg ShedConfig) *Shedder {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 10
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = 100
	}
	if cfg.Target == 0 {
		cfg.Target = 5 * time.Millisecond
	}
	if cfg.Interval == 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	return &Shedder{cfg: cfg}
}

// ShedError is a request a Shedder refused. It has ErrorClass "shed" and a
// RetryAfter hint of the Shedder's Interval, so Handler answers it as it
// answers a full bulkhead: 503 with Retry-After.
type ShedError struct {
	// Overloaded reports that the queue had stood for Interval when the
	// request arrived (the server had a backlog), so it could wait only
	// Target, or was refused at once.
	Overloaded bool
	wait       time.Duration
}

// Error says why the request was shed.
func (e *ShedError) Error() string {
	if e.Overloaded {
		return "middleware: request shed: overloaded"
	}
	return "middleware: request shed"
}

// ErrorClass returns "shed".
func (e *ShedError) ErrorClass() string { return "shed" }

// RetryAfter returns the Shedder's Interval.
func (e *ShedError) RetryAfter() time.Duration { return e.wait }

// ShedStats is a snapshot of a Shedder.
type ShedStats struct {
	// Running and Queued are the requests served and waiting now.
	Running, Queued int
	// Shed counts the requests refused since NewShedder.
	Shed uint64
}

// Stats returns a snapshot of s.
func (s *Shedder) Stats() ShedStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ShedStats{Running: s.running, Queued: len(s.queue), Shed: s.shed}
}

// overloaded reports whether the queue has stood for Interval. s.mu held.
func (s *Shedder) overloaded(now time.Time) bool {
	return len(s.queue) > 0 && now.Sub(s.standing) >= s.cfg.Interval
}

// Acquire takes a slot for a request of priority prio, waiting if need be.
// It returns a *ShedError if the request is shed, or ctx's error if ctx
// ends first; on a nil error, call Release once the request is done.
func (s *Shedder) Acquire(ctx context.Context, prio int) error {
	s.mu.Lock()
	if s.running < s.cfg.MaxConcurrent && len(s.queue) == 0 {
		s.running++
		s.mu.Unlock()
		return nil
	}
	now := time.Now()
	over := s.overloaded(now)
	if len(s.queue) >= s.cfg.MaxQueued {
		i := s.lowest()
		if i < 0 || s.queue[i].prio >= prio {
			s.shed++
			s.mu.Unlock()
			return &ShedError{Overloaded: over, wait: s.cfg.Interval}
		}
		ev := s.queue[i]
		s.remove(i)
		close(ev.ready) // woken neither queued nor granted: shed
	}
	w := &shedWaiter{prio: prio, ready: make(chan struct{})}
	if len(s.queue) == 0 {
		s.standing = now
	}
	s.queue = append(s.queue, w)
	s.mu.Unlock()

	wait := s.cfg.Interval
	if over {
		wait = s.cfg.Target
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	if w.granted {
		s.mu.Unlock()
		if err := ctx.Err(); err != nil { // granted while giving up: pass it on
			s.Release()
			return err
		}
		return nil
	}
	queued := s.drop(w)
	s.shed++
	s.mu.Unlock()
	if queued && ctx.Err() != nil {
		return ctx.Err()
	}
	return &ShedError{Overloaded: over, wait: s.cfg.Interval}
}

// Release frees the slot of a request Acquire admitted, and grants it to
// the waiter next in line.
func (s *Shedder) Release() {
	s.mu.Lock()
	s.running--
	if len(s.queue) > 0 && s.running < s.cfg.MaxConcurrent {
		i := s.next(time.Now())
		w := s.queue[i]
		s.remove(i)
		w.granted = true
		s.running++
		close(w.ready)
	}
	s.mu.Unlock()
}

// next returns the index of the waiter to serve: the highest priority,
// the oldest of it (FIFO) or, once the queue has stood for Interval, the
// newest (LIFO). s.mu held, queue not empty.
func (s *Shedder) next(now time.Time) int {
	lifo := s.overloaded(now)
	best := 0
	for i, w := range s.queue {
		b := s.queue[best]
		if w.prio > b.prio || w.prio == b.prio && lifo && i > best {
			best = i
		}
	}
	return best
}

// lowest returns the index of the oldest waiter of the lowest priority,
// or -1. s.mu held.
func (s *Shedder) lowest() int {
	low := -1
	for i, w := range s.queue {
		if low < 0 || w.prio < s.queue[low].prio {
			low = i
		}
	}
	return low
}

// remove takes the waiter at i out of the queue. s.mu held.
func (s *Shedder) remove(i int) {
	copy(s.queue[i:], s.queue[i+1:])
	s.queue[len(s.queue)-1] = nil
	s.queue = s.queue[:len(s.queue)-1]
	if len(s.queue) == 0 {
		s.standing = time.Time{}
	}
}

// drop takes w out of the queue and reports whether it was still there
// (false: a fuller queue evicted it). s.mu held.
func (s *Shedder) drop(w *shedWaiter) bool {
	for i, q := range s.queue {
		if q == w {
			s.remove(i)
			return true
		}
	}
	return false
}

// priority returns req's priority under cfg.
func (s *Shedder) priority(req *http.Request) int {
	if f := s.cfg.Priority; f != nil {
		return f(req)
	}
	return 0
}
