package backoff

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"time"
)

// Defaults taken by zero fields of a Policy (the pforge retry defaults).
const (
	defaultInitial      = 100 * time.Millisecond
	defaultMultiplier   = 2.0
	defaultMax          = 5 * time.Second
	defaultJitterFactor = 0.25
)

// Jitter selects how a Policy randomizes each delay. The zero value is
// FullJitter, so jitter is on unless a policy says otherwise.
//
// In the definitions below, d is the exponential delay for the attempt,
// already capped at Max. Every mode stays within [0, Max].
type Jitter int

const (
	// FullJitter draws uniformly from [0, d].
	FullJitter Jitter = iota
	// NoJitter uses d itself: the schedule is deterministic.
	NoJitter
	// EqualJitter keeps half of d and draws the rest: d/2 + uniform [0, d/2].
	EqualJitter
	// DecorrelatedJitter draws uniformly from [Initial, 3·previous], capped
	// at Max, where previous is the delay drawn before (Initial at first).
	// It ignores Multiplier. See the package documentation for what the
	// stateless Policy.Delay means in this mode.
	DecorrelatedJitter
	// SpreadJitter draws uniformly from [d·(1−JitterFactor), d·(1+JitterFactor)],
	// capped at Max: with the default factor 0.25, a 200ms delay becomes
	// 150–250ms.
	SpreadJitter
)

// String returns the name of the mode, such as "FullJitter".
func (j Jitter) String() string {
	switch j {
	case FullJitter:
		return "FullJitter"
	case NoJitter:
		return "NoJitter"
	case EqualJitter:
		return "EqualJitter"
	case DecorrelatedJitter:
		return "DecorrelatedJitter"
	case SpreadJitter:
		return "SpreadJitter"
	}
	return "Jitter(" + strconv.Itoa(int(j)) + ")"
}

// Policy describes an exponential backoff schedule. The zero value is the
// pforge schedule: 100ms, doubling, capped at 5s, with full jitter.
//
// A Policy is a plain value: copy it, compare it, share it between
// goroutines. Delay and Sequence never fail; a field that Validate would
// reject as out of range takes its default, and a Max below Initial caps
// every delay at Max.
type Policy struct {
	// Initial is the delay before the first retry (n = 1), before jitter.
	// Zero means 100ms.
	Initial time.Duration

	// Multiplier scales the delay after each further consecutive failure:
	// retry n waits Initial·Multiplier^(n−1), capped at Max. Zero means 2;
	// 1 gives a constant schedule.
	Multiplier float64

	// Max caps every delay, jitter included. Zero means 5s.
	Max time.Duration

	// Jitter selects how each delay is randomized. The zero value is
	// FullJitter.
	Jitter Jitter

	// JitterFactor is the relative spread of SpreadJitter: 0.25 gives
	// d±25%. Zero means 0.25; other modes ignore it.
	JitterFactor float64

	// Seed, when non-zero, makes the jitter reproducible: the random draw
	// for retry n is a fixed function of Seed and n, so two policies with
	// the same fields produce the same schedule, on any goroutine. Zero
	// means a fresh draw from math/rand/v2 each time. A non-zero Seed is
	// meant for tests and simulations: clients sharing a seed share their
	// jitter, which defeats its purpose.
	Seed uint64
}

// Validate reports the first field that is out of range, naming it:
// a negative Initial or Max, a Multiplier that is not finite or is below 1
// (other than the zero default), a JitterFactor outside [0, 1], an unknown
// Jitter, or a Max below Initial once defaults are applied.
func (p Policy) Validate() error {
	switch {
	case p.Initial < 0:
		return fmt.Errorf("backoff: Initial must not be negative, got %v", p.Initial)
	case p.Max < 0:
		return fmt.Errorf("backoff: Max must not be negative, got %v", p.Max)
	case math.IsNaN(p.Multiplier) || math.IsInf(p.Multiplier, 0):
		return fmt.Errorf("backoff: Multiplier must be finite, got %v", p.Multiplier)
	case p.Multiplier != 0 && p.Multiplier < 1:
		return fmt.Errorf("backoff: Multiplier must be at least 1 (or 0 for the default 2), got %v", p.Multiplier)
	case !(p.JitterFactor >= 0 && p.JitterFactor <= 1):
		return fmt.Errorf("backoff: JitterFactor must be within [0, 1], got %v", p.JitterFactor)
	case p.Jitter < FullJitter || p.Jitter > SpreadJitter:
		return fmt.Errorf("backoff: Jitter %v is not a known mode", p.Jitter)
	}
	if n := p.normalized(); n.Max < n.Initial {
		return fmt.Errorf("backoff: Max (%v) must not be less than Initial (%v)", n.Max, n.Initial)
	}
	return nil
}

// normalized returns p with every zero or out-of-range field replaced by its
// default.
func (p Policy) normalized() Policy {
	if p.Initial <= 0 {
		p.Initial = defaultInitial
	}
	if !(p.Multiplier >= 1) || math.IsInf(p.Multiplier, 1) {
		p.Multiplier = defaultMultiplier
	}
	if p.Max <= 0 {
		p.Max = defaultMax
	}
	if !(p.JitterFactor > 0 && p.JitterFactor <= 1) {
		p.JitterFactor = defaultJitterFactor
	}
	if p.Jitter < FullJitter || p.Jitter > SpreadJitter {
		p.Jitter = FullJitter
	}
	return p
}

// Delay returns the delay before retry n, where n = 1 is the first retry
// (Initial before jitter); n < 1 counts as 1. The result is never negative
// and never above Max, for any n and any field values.
//
// Delay is stateless. For DecorrelatedJitter, which depends on the delay
// drawn before, it takes the un-jittered exponential delay of retry n as
// "previous" and draws from [Initial, 3·Initial·Multiplier^(n−1)], capped
// at Max; for n = 1 that is exactly the first draw of a Sequence. Use a
// Sequence for the true decorrelated chain.
func (p Policy) Delay(n int) time.Duration {
	p = p.normalized()
	if n < 1 {
		n = 1
	}
	d := p.base(n)
	return p.jitter(d, d, uint64(n))
}

// base returns Initial·Multiplier^(n−1) capped at Max, for n ≥ 1, on a
// normalized policy. It cannot overflow: the product is compared with Max
// as a float before it is converted back.
func (p *Policy) base(n int) time.Duration {
	limit := float64(p.Max)
	d := float64(p.Initial)
	if d >= limit {
		return p.Max
	}
	if n <= 64 {
		for i := 1; i < n; i++ {
			d *= p.Multiplier
			if d >= limit {
				return p.Max
			}
		}
	} else if d *= math.Pow(p.Multiplier, float64(n-1)); !(d < limit) {
		return p.Max
	}
	return time.Duration(d)
}

// jitter randomizes the capped delay d of draw n; prev is the previous delay
// for DecorrelatedJitter. The policy must be normalized and d ≤ Max.
func (p *Policy) jitter(d, prev time.Duration, n uint64) time.Duration {
	switch p.Jitter {
	case NoJitter:
		return d
	case EqualJitter:
		half := d / 2
		return half + p.uniform(0, d-half, n)
	case DecorrelatedJitter:
		lo, hi := min(p.Initial, p.Max), p.Max
		if prev < p.Max/3 {
			hi = max(3*prev, lo)
		}
		return p.uniform(lo, hi, n)
	case SpreadJitter:
		spread := d
		if s := float64(d) * p.JitterFactor; s < float64(d) {
			spread = time.Duration(s)
		}
		hi := p.Max
		if d < p.Max-spread {
			hi = d + spread
		}
		return p.uniform(d-spread, hi, n)
	default: // FullJitter
		return p.uniform(0, d, n)
	}
}

// uniform draws from [lo, hi] (0 ≤ lo ≤ hi), using draw n of the seeded
// stream when Seed is set and math/rand/v2 otherwise.
func (p *Policy) uniform(lo, hi time.Duration, n uint64) time.Duration {
	if hi <= lo {
		return lo
	}
	var r uint64
	if p.Seed != 0 {
		r = mix(p.Seed + n*0x9e3779b97f4a7c15)
	} else {
		r = rand.Uint64()
	}
	// The high word of r·(span+1) is uniform in [0, span] up to a bias of
	// span/2^64, and span+1 ≤ 2^63 cannot overflow.
	x, _ := bits.Mul64(r, uint64(hi-lo)+1)
	return lo + time.Duration(x)
}

// mix is the SplitMix64 finalizer: a bijection that scatters nearby inputs.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Sequence returns a stateful schedule that starts with no failures.
func (p Policy) Sequence() *Sequence {
	return &Sequence{p: p.normalized()}
}

// Sequence walks a Policy's schedule one consecutive failure at a time, as
// a control loop does: call Next after each failure to learn how long to
// wait, and Reset after a success. It carries the previous delay that
// DecorrelatedJitter needs.
//
// A Sequence is not safe for concurrent use; give each loop its own.
type Sequence struct {
	p        Policy // normalized
	failures int
	prev     time.Duration
}

// Next records one more consecutive failure and returns the delay to wait
// before trying again: Policy.Delay(Failures()) for every mode but
// DecorrelatedJitter, which draws from [Initial, 3·previous] capped at Max.
func (s *Sequence) Next() time.Duration {
	if s.failures < math.MaxInt {
		s.failures++
	}
	if s.p.Jitter != DecorrelatedJitter {
		d := s.p.base(s.failures)
		return s.p.jitter(d, d, uint64(s.failures))
	}
	if s.prev == 0 {
		s.prev = min(s.p.Initial, s.p.Max)
	}
	s.prev = s.p.jitter(0, s.prev, uint64(s.failures))
	return s.prev
}

// Failures returns the number of consecutive failures recorded by Next
// since the start or the last Reset.
func (s *Sequence) Failures() int { return s.failures }

// Reset forgets the failures after a success: the next delay is the first
// one again.
func (s *Sequence) Reset() {
	s.failures = 0
	s.prev = 0
}
