package backoff

import (
	"fmt"
	"math"
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
	// DecorrelatedJitter draws uniformly from [Initial, 3·previous] and caps
	// the draw at Max, where previous is the delay returned before (Initial
	// at first): min(Max, uniform[Initial, 3·previous]). Once 3·previous
	// exceeds Max, the part of the range above Max lands on Max itself.
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
	// means fresh randomness from math/rand/v2. A non-zero Seed is
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
	if s := p.shape(); s.max < s.initial {
		return fmt.Errorf("backoff: Max (%v) must not be less than Initial (%v)", s.max, s.initial)
	}
	return nil
}

// shape is the numeric part of a Policy with defaults applied. It has four
// fields, so that the compiler can keep it in registers on the hot path.
type shape struct {
	initial, max time.Duration
	mult, factor float64
}

// shape returns p's numbers, each zero or out-of-range field replaced by its
// default.
func (p *Policy) shape() shape {
	s := shape{p.Initial, p.Max, p.Multiplier, p.JitterFactor}
	if s.initial <= 0 {
		s.initial = defaultInitial
	}
	if s.max <= 0 {
		s.max = defaultMax
	}
	if !(s.mult >= 1 && s.mult <= math.MaxFloat64) {
		s.mult = defaultMultiplier
	}
	if !(s.factor > 0 && s.factor <= 1) {
		s.factor = defaultJitterFactor
	}
	return s
}

// mode returns p's jitter mode, FullJitter if it is unknown.
func (p *Policy) mode() Jitter {
	if p.Jitter < FullJitter || p.Jitter > SpreadJitter {
		return FullJitter
	}
	return p.Jitter
}

// Delay returns the delay before retry n, where n = 1 is the first retry
// (Initial before jitter); n < 1 counts as 1. The result is never negative
// and never above Max, for any n and any field values.
//
// Delay is stateless. For DecorrelatedJitter, which depends on the delay
// drawn before, it takes the un-jittered exponential delay of retry n
// (Initial·Multiplier^(n−1), capped at Max) as "previous" and returns
// min(Max, uniform[Initial, 3·previous]); for n = 1 that is exactly the
// first draw of a Sequence. Use a Sequence for the true decorrelated chain.
func (p Policy) Delay(n int) time.Duration {
	n = max(n, 1)
	// The draw comes first: across the call, only n and p are live.
	var u float64
	if p.Seed != 0 {
		u = seeded(p.Seed, uint64(n))
	} else if p.Jitter != NoJitter {
		u = unit(rand.Uint64())
	}
	s := p.shape()
	d := s.base(n)
	lo, hi := s.bounds(p.Jitter, d, d) // an unknown mode is FullJitter there too
	return s.duration(lo + (hi-lo)*u)
}

// The schedule is computed in floating point, where nothing overflows (a
// huge power becomes +Inf), and every result is compared with max before
// it is converted back to a Duration.

// base returns initial·mult^(n−1) capped at max, for n ≥ 1. The power is
// taken by repeated squaring, or exactly for the default multiplier 2.
func (s shape) base(n int) float64 {
	k := uint(n - 1)
	f := 1.0
	if s.mult == 2 && k < 1023 {
		f = math.Float64frombits(uint64(1023+k) << 52) // 2^k
	} else {
		for m := s.mult; k > 0; k >>= 1 {
			if k&1 != 0 {
				f *= m
			}
			m *= m
		}
	}
	return min(float64(s.initial)*f, float64(s.max))
}

// bounds returns the range [lo, hi] from which mode draws the jittered
// delay, for the capped delay d and, for DecorrelatedJitter, the previous
// delay prev (at most max). Both bounds lie in [0, max], but for
// DecorrelatedJitter, whose hi may reach 3·max: its draw is capped at max
// afterwards (by duration), which puts the mass above max on max itself.
func (s shape) bounds(mode Jitter, d, prev float64) (lo, hi float64) {
	switch mode {
	case NoJitter:
		return d, d
	case EqualJitter:
		return d / 2, d
	case DecorrelatedJitter:
		// The cap applies to the draw, not to the range: min(max,
		// uniform[initial, 3·prev]), as the formula is published.
		lo = float64(min(s.initial, s.max))
		return lo, max(3*prev, lo)
	case SpreadJitter:
		return d * (1 - s.factor), min(d*(1+s.factor), float64(s.max))
	}
	return 0, d // FullJitter
}

// duration converts x, in [0, max], to a Duration. float64(max) may round
// up past max, and past the largest Duration, so the comparison comes first.
func (s shape) duration(x float64) time.Duration {
	if x < float64(s.max) {
		return time.Duration(x)
	}
	return s.max
}

// seeded returns draw n of the stream of seed: uniform in [0, 1).
func seeded(seed, n uint64) float64 { return unit(mix(seed + n*golden)) }

// unit maps 64 random bits to a float64 uniform in [0, 1).
func unit(r uint64) float64 { return float64(r>>11) * 0x1p-53 }

const golden = 0x9e3779b97f4a7c15 // 2^64/φ, the SplitMix64 increment

// mix is the SplitMix64 finalizer: a bijection that scatters nearby inputs.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Sequence returns a stateful schedule that starts with no failures.
func (p Policy) Sequence() *Sequence {
	s := &Sequence{s: p.shape(), mode: p.mode(), seed: p.Seed, rng: p.Seed}
	if s.rng == 0 {
		s.rng = rand.Uint64()
	}
	return s
}

// Sequence walks a Policy's schedule one consecutive failure at a time, as
// a control loop does: call Next after each failure to learn how long to
// wait, and Reset after a success. It carries the previous delay that
// DecorrelatedJitter needs, and computes each delay from the one before,
// so Next costs less than Delay.
//
// A Sequence is not safe for concurrent use; give each loop its own.
type Sequence struct {
	s        shape
	mode     Jitter
	seed     uint64
	failures int
	base     float64 // un-jittered delay of the last Next; 0 before the first
	prev     float64 // the last draw, for DecorrelatedJitter: capped at max, the last delay
	rng      uint64  // SplitMix64 state, used when the policy has no Seed
}

// Next records one more consecutive failure and returns the delay to wait
// before trying again. For every mode but DecorrelatedJitter, the delays
// have the distribution of Policy.Delay(Failures()), and with a Seed they
// are the same values (up to the rounding of Initial·Multiplier^(n−1)).
// DecorrelatedJitter returns min(Max, uniform[Initial, 3·previous]), with
// previous the delay it returned last.
func (q *Sequence) Next() time.Duration {
	s := q.s
	if q.failures < math.MaxInt {
		q.failures++
	}
	if q.base == 0 {
		q.base = min(float64(s.initial), float64(s.max))
	} else {
		q.base = min(q.base*s.mult, float64(s.max))
	}
	if q.mode == NoJitter {
		return s.duration(q.base)
	}
	d := q.base
	if q.mode == DecorrelatedJitter {
		if q.prev == 0 {
			q.prev = q.base // the first Next: min(Initial, Max)
		}
		d = min(q.prev, float64(s.max)) // the delay returned last
	}
	lo, hi := s.bounds(q.mode, d, d)
	var u float64
	if q.seed != 0 {
		u = seeded(q.seed, uint64(q.failures))
	} else {
		q.rng += golden
		u = unit(mix(q.rng))
	}
	q.prev = lo + (hi-lo)*u // above max for a capped decorrelated draw
	return s.duration(q.prev)
}

// Failures returns the number of consecutive failures recorded by Next
// since the start or the last Reset.
func (q *Sequence) Failures() int { return q.failures }

// Reset forgets the failures after a success: the next delay is the first
// one again.
func (q *Sequence) Reset() {
	q.failures = 0
	q.base = 0
	q.prev = 0
}
