package breaker

import "time"

// This file holds what lets a breaker share its state with others (replicas
// of a service that protect the same backend): OpenFor opens it for a
// period decided elsewhere, OpenRemaining says how long its own open period
// has left so that it can be published, and Config.ProbeGate lets a
// coordinator decide which of them probes in half-open. None of it costs
// anything on the path of a call in the closed state.

// OpenFor opens the breaker for d from now, as if it had tripped (without
// OpenTimeoutJitter): calls are rejected with ErrOpen, whose RetryAfter
// counts down d, and the first call once d has elapsed moves it to
// half-open. It is how a breaker follows another one that opened, for
// instance a replica's breaker whose open state was published.
//
// A closed or half-open breaker turns open (a transition: a new generation,
// OnStateChange). An open breaker whose period would end before d only has
// its period extended (no transition). OpenFor does nothing, and returns
// false, if d ≤ 0, if the breaker is forced open, or if it is open until
// later than d from now; otherwise it returns true. d is capped at 1<<60 ns.
func (b *Breaker) OpenFor(d time.Duration) bool {
	b.mustBeNew()
	if d <= 0 {
		return false
	}
	d = min(d, maxDuration)
	b.mu.Lock()
	w := b.word.Load()
	from := State(w & stateMask)
	until := b.now() + int64(d)
	if b.forced || from == Open && b.openUntil.Load() >= until {
		b.mu.Unlock()
		return false
	}
	if from == Open {
		b.openUntil.Store(until)
		b.mu.Unlock()
		return true
	}
	// transition(w, Open) with the period given: openUntil before the word.
	b.openUntil.Store(until)
	b.bump(w&^stateMask | uint64(Open))
	b.lastTrans = time.Now()
	b.probes, b.hoSucc = 0, 0
	b.mu.Unlock()
	b.changed(from, Open)
	return true
}

// OpenRemaining returns the time left in the current open period: 0 unless
// the breaker is open and its period has not ended, and 0 when forced open
// (the period has no end). A replica publishes it when its breaker opens.
func (b *Breaker) OpenRemaining() time.Duration {
	b.mustBeNew()
	return b.openErr.RetryAfter()
}

// gate asks Config.ProbeGate whether the half-open probe admitted with
// permit p may go ahead; if not it gives p's probe slot back without an
// outcome and returns ErrTooManyCalls, counted as a rejection.
func (b *Breaker) gate(p Permit) error {
	if b.cfg.ProbeGate() {
		return nil
	}
	b.mu.Lock()
	if gen(b.word.Load()) == gen(p.w) && b.probes > 0 {
		b.probes--
	}
	b.mu.Unlock()
	return b.reject(ErrTooManyCalls)
}
