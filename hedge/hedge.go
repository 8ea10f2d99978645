package hedge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The defaults of the Policy fields.
const (
	DefaultQuantile  = 0.95
	DefaultMinDelay  = time.Millisecond
	DefaultMaxDelay  = time.Second
	DefaultWindow    = 1000
	DefaultMaxHedges = 1
)

const (
	maxWindow = 1 << 20 // keeps the histogram counts far from overflow
	maxHedges = 16      // more extra attempts than this help nobody
)

// Budget is spent by hedges: Do deposits once per call and each hedge
// withdraws; a hedge the budget refuses is not sent. *retry.Budget
// implements it, so that hedges and retries to the same backend can share
// one budget and, together, add only a bounded fraction to its load.
type Budget interface {
	// Deposit credits the budget for one call.
	Deposit()
	// Withdraw reports whether one more attempt may be sent, spending
	// what it costs.
	Withdraw() bool
}

// Policy says when Do sends hedges. A zero Policy is usable: one hedge,
// sent once the first attempt has run longer than the p95 of recent
// attempts' latencies (at least 1ms, at most 1s; 1s until 200 latencies
// have been seen).
//
// A Policy holds the state of its latency estimate and its counters, so
// use it through a pointer, share it between the calls to one backend, and
// do not change its fields once it is in use. It is safe for concurrent
// use.
type Policy struct {
	// Delay, if positive, is a fixed delay: the first hedge is sent once
	// the first attempt has run for Delay, and each further hedge Delay
	// after the one before. Zero means an adaptive delay, the Quantile of
	// recent latencies, between MinDelay and MaxDelay. Must not be
	// negative.
	Delay time.Duration

	// Quantile is the quantile of recent attempts' latencies used as the
	// adaptive delay, in (0, 1): at 0.95, about 5% of calls are hedged,
	// the ones slower than 95% of attempts. Zero means DefaultQuantile (0.95).
	Quantile float64

	// MinDelay is the floor of the adaptive delay, so that a very fast
	// backend is not hedged after a few microseconds. Zero means
	// DefaultMinDelay (1ms), or MaxDelay if that is less. Must not be
	// negative, nor exceed MaxDelay (or DefaultMaxDelay).
	MinDelay time.Duration

	// MaxDelay caps the adaptive delay, and is the delay while the
	// estimate is cold (fewer latencies seen than ⌈10/(1−Quantile)⌉, 200
	// for p95, or Window if that is fewer). Zero means DefaultMaxDelay (1s).
	// Must not be negative.
	MaxDelay time.Duration

	// Window is the number of latencies in one window of the estimate:
	// the adaptive delay is the Quantile of the last Window to 2×Window
	// latencies. Zero means DefaultWindow (1000); values above 1<<20 count
	// as 1<<20. Must not be negative.
	Window int

	// MaxHedges is the number of extra attempts a call may send after the
	// first. Zero means DefaultMaxHedges (1); values above 16 count as 16.
	// Must not be negative.
	MaxHedges int

	// Hedgeable reports whether a failed attempt leaves the call's other
	// attempts worth waiting for. When it returns false, Do ends the call
	// at once with that error, ending the other attempts. Nil means every
	// error except one that has a StatusCode() int method returning 400 to
	// 499 (the request itself is wrong: every replica would refuse it).
	// Either way, an error with a Permanent() bool method returning true
	// (retry.Permanent) and any failure once the caller's context has
	// ended end the call.
	Hedgeable func(error) bool

	// Budget, if set, is spent by hedges (see Budget); hedges that it
	// refuses are not sent. Share it with retry.Policy.Budget so that
	// retries and hedges together stay within it.
	Budget Budget

	// OnHedge, if set, is called as each hedge starts, on the hedge's
	// goroutine, outside any lock.
	OnHedge func(Hedge)

	// Observers, if any, receive every hedge and every refused hedge,
	// after OnHedge (see Observer). Default none.
	Observers []Observer

	est     estimator
	timers  sync.Pool // of *timerHolder
	calls   atomic.Uint64
	hedges  atomic.Uint64
	won     atomic.Uint64
	refused atomic.Uint64
}

// Hedge describes a hedge that is starting.
type Hedge struct {
	Attempt int           // 2 for the first hedge, 3 for the next...
	Delay   time.Duration // the delay the call used
}

// Stats is a snapshot of a Policy's counters.
type Stats struct {
	Calls   uint64        // calls of Do
	Hedges  uint64        // hedges sent
	Won     uint64        // hedges whose success was the call's result
	Refused uint64        // hedges the Budget refused
	Delay   time.Duration // the delay a call would use now
	Samples int           // latencies the adaptive estimate covers
}

// Stats returns a snapshot of the policy's counters and current delay.
func (p *Policy) Stats() Stats {
	return Stats{
		Calls:   p.calls.Load(),
		Hedges:  p.hedges.Load(),
		Won:     p.won.Load(),
		Refused: p.refused.Load(),
		Delay:   p.delay(),
		Samples: p.est.samples(),
	}
}

// Validate reports the first field that is out of range, naming it. Do
// returns the same error, without calling fn, for a Policy it rejects.
func (p *Policy) Validate() error {
	switch {
	case p.Delay < 0:
		return fmt.Errorf("hedge: Delay must not be negative, got %v", p.Delay)
	case !(p.Quantile >= 0 && p.Quantile < 1):
		return fmt.Errorf("hedge: Quantile must be in [0, 1), got %v", p.Quantile)
	case p.MinDelay < 0:
		return fmt.Errorf("hedge: MinDelay must not be negative, got %v", p.MinDelay)
	case p.MaxDelay < 0:
		return fmt.Errorf("hedge: MaxDelay must not be negative, got %v", p.MaxDelay)
	case p.MinDelay > p.maxDelay():
		return fmt.Errorf("hedge: MinDelay must not exceed MaxDelay (%v), got %v", p.maxDelay(), p.MinDelay)
	case p.Window < 0:
		return fmt.Errorf("hedge: Window must not be negative, got %d", p.Window)
	case p.MaxHedges < 0:
		return fmt.Errorf("hedge: MaxHedges must not be negative, got %d", p.MaxHedges)
	}
	return nil
}

// invalid reports whether Validate would return an error, in a few
// instructions, so that Do can check every call.
func (p *Policy) invalid() bool {
	// The OR of signed values is negative if any of them is.
	negative := int64(p.Delay|p.MinDelay|p.MaxDelay)|int64(p.Window|p.MaxHedges) < 0
	return negative || !(p.Quantile >= 0 && p.Quantile < 1) || p.MinDelay > p.maxDelay()
}

func (p *Policy) maxDelay() time.Duration {
	if p.MaxDelay == 0 {
		return DefaultMaxDelay
	}
	return p.MaxDelay
}

// The accessors below apply the defaults to a Policy that Validate accepts.

func (p *Policy) quantile() float64 {
	if p.Quantile == 0 {
		return DefaultQuantile
	}
	return p.Quantile
}

func (p *Policy) window() int {
	if p.Window == 0 {
		return DefaultWindow
	}
	return min(p.Window, maxWindow)
}

func (p *Policy) maxHedges() int {
	if p.MaxHedges == 0 {
		return DefaultMaxHedges
	}
	return min(p.MaxHedges, maxHedges)
}

// delay returns the delay a call starting now uses.
func (p *Policy) delay() time.Duration {
	if p.Delay > 0 {
		return p.Delay
	}
	lo, hi := p.MinDelay, p.maxDelay()
	if lo == 0 {
		lo = min(DefaultMinDelay, hi)
	}
	d := time.Duration(p.est.delay.Load())
	if d == 0 {
		return hi
	}
	return min(max(d, lo), hi)
}

// record feeds the adaptive estimate with the latency of an attempt.
func (p *Policy) record(d time.Duration) {
	p.est.record(d, p.window(), p.quantile())
}

// ends reports whether err ends the call at once.
func (p *Policy) ends(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	var perm interface{ Permanent() bool }
	if errors.As(err, &perm) && perm.Permanent() {
		return true
	}
	if p.Hedgeable != nil {
		return !p.Hedgeable(err)
	}
	var status interface{ StatusCode() int }
	if errors.As(err, &status) {
		if c := status.StatusCode(); c >= 400 && c <= 499 {
			return true
		}
	}
	return false
}
