package agent

import (
	"context"
	"sync"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// spool holds events until fusion acknowledges them. It is bounded: put
// blocks while it is full, which slows the producer instead of dropping.
type spool struct {
	max int

	mu      sync.Mutex
	buf     []fusion.Event
	removed chan struct{} // closed and replaced whenever events leave
	added   chan struct{} // capacity 1: a wake-up for the sender
	waits   uint64        // puts that had to wait for room
}

func newSpool(max int) *spool {
	return &spool{max: max, removed: make(chan struct{}), added: make(chan struct{}, 1)}
}

// put appends ev, waiting while the spool is full.
func (s *spool) put(ctx context.Context, ev fusion.Event) error {
	waited := false
	for {
		s.mu.Lock()
		if len(s.buf) < s.max {
			s.buf = append(s.buf, ev)
			if waited {
				s.waits++
			}
			s.mu.Unlock()
			select {
			case s.added <- struct{}{}:
			default:
			}
			return nil
		}
		removed := s.removed
		s.mu.Unlock()
		waited = true
		select {
		case <-removed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// peek returns a copy of up to n events from the head.
func (s *spool) peek(n int) []fusion.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fusion.Event(nil), s.buf[:min(n, len(s.buf))]...)
}

// commit removes the n events at the head, once acknowledged.
func (s *spool) commit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf[:0], s.buf[n:]...)
	close(s.removed)
	s.removed = make(chan struct{})
}

func (s *spool) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

func (s *spool) backpressureWaits() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waits
}

// waitEmpty waits until every event has been acknowledged.
func (s *spool) waitEmpty(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, removed := len(s.buf), s.removed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-removed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
