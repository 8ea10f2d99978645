package limit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Algorithm selects how a Limiter moves its limit. See the package
// documentation for the formulas.
type Algorithm int

const (
	// Gradient2 compares a long-term and a short-term average of the RTT
	// and shrinks the limit by their ratio when latency rises (Netflix
	// concurrency-limits' Gradient2). The zero value, so the default.
	Gradient2 Algorithm = iota

	// Vegas estimates the queue at the backend as L·(1 − minRTT/RTT) and
	// steers it between Alpha and Beta (TCP Vegas).
	Vegas

	// AIMD adds one to the limit per sampled success and multiplies it by
	// Backoff per sampled drop. It ignores latency, for callers that only
	// see errors and rejections.
	AIMD
)

// String returns "gradient2", "vegas", "aimd", or "Algorithm(n)".
func (a Algorithm) String() string {
	switch a {
	case Gradient2:
		return "gradient2"
	case Vegas:
		return "vegas"
	case AIMD:
		return "aimd"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// NoMaxWait, as Config.MaxWait, lets a queued caller wait for a slot
// until its own context ends.
const NoMaxWait time.Duration = -1

// NoProbe, as Config.ProbeInterval, turns probes off.
const NoProbe time.Duration = -1

// MaxAllowed is the largest accepted limit (InitialLimit, MinLimit,
// MaxLimit) and queue length (MaxQueued).
const MaxAllowed = 1<<24 - 1

// The defaults of the Config fields. InitialLimit and ProbeLimit are
// moved into [MinLimit, MaxLimit], and MaxLimit is at least MinLimit.
const (
	DefaultInitialLimit  = 20
	DefaultMinLimit      = 1
	DefaultMaxLimit      = 1000
	DefaultMaxWait       = time.Second
	DefaultTolerance     = 1.5
	DefaultSmoothing     = 0.2
	DefaultWindow        = 100 * time.Millisecond
	DefaultWindowSamples = 10
	DefaultLongWindow    = 600
	DefaultProbeInterval = 30 * time.Second
	DefaultProbeLimit    = 3
	DefaultAlpha         = 3.0
	DefaultBeta          = 6.0
	DefaultBackoff       = 0.9
)

// maxWindow bounds WindowSamples and LongWindow.
const maxWindow = 1 << 20

// Config configures a Limiter. A zero field takes its default; the zero
// Config gives a Gradient2 limiter starting at 20 in [1, 1000], no queue.
type Config struct {
	// Algorithm is how the limit follows the samples. Default Gradient2.
	Algorithm Algorithm

	// InitialLimit is the limit before any sample. Default
	// DefaultInitialLimit (20), moved into [MinLimit, MaxLimit] if those
	// exclude it. An explicit value must lie
	// in [MinLimit, MaxLimit].
	InitialLimit int

	// MinLimit is the floor of the limit. Default DefaultMinLimit (1). Must be in
	// [0, MaxAllowed] and not above MaxLimit.
	MinLimit int

	// MaxLimit is the ceiling of the limit. Default DefaultMaxLimit
	// (1000), or MinLimit if that is larger. Must be in [0, MaxAllowed].
	MaxLimit int

	// MaxQueued is how many callers may wait for a slot when the limit is
	// reached; one more is rejected with ErrLimitExceeded. Default 0: no
	// queue, reject as soon as the limit is reached. Must be in
	// [0, MaxAllowed].
	MaxQueued int

	// MaxWait is how long a queued caller waits before it gives up with
	// ErrQueueTimeout. Default DefaultMaxWait (1s). NoMaxWait means no
	// limit: only the caller's context ends the wait. Must be NoMaxWait or
	// not negative.
	MaxWait time.Duration

	// IsIgnored reports whether a non-nil error says nothing about the
	// backend's load: the call then feeds no sample. It is consulted
	// before IsDrop. Default: errors.Is(err, context.Canceled), so a caller
	// that gives up does not move the limit.
	IsIgnored func(err error) bool

	// IsDrop reports whether a non-nil, non-ignored error is a drop, a sign
	// of overload: Vegas and AIMD lower the limit on it; Gradient2 uses its
	// RTT like any other. Other errors count as successes (the backend
	// answered). Default: every such error is a drop.
	IsDrop func(err error) bool

	// OnLimitChange, if set, is called after the limit changed (a probe's
	// drop to ProbeLimit and its return included), outside any lock, from
	// the Done that changed it. Calls from concurrent Dones may overlap and
	// arrive out of order; Stats().Limit is the current limit.
	OnLimitChange func(from, to int)

	// Observers, if any, receive every acquisition, rejection and limit
	// change, after OnLimitChange (see Observer). Default none.
	Observers []Observer

	// Tolerance (Gradient2) is how much the short-term RTT may exceed the
	// long-term one before the limit shrinks. Default DefaultTolerance (1.5). Must be at
	// least 1 and finite.
	Tolerance float64

	// Smoothing (Gradient2) is the weight of each new limit against the
	// previous one, in (0, 1]. Default DefaultSmoothing (0.2).
	Smoothing float64

	// Window is the least duration of a sample window: the algorithm moves
	// the limit once per window, from the average RTT of its samples, the
	// most calls in flight it saw and whether any was a drop. Only calls
	// that started after the window opened count in it, so a window judges
	// the limit it ran under. Default DefaultWindow (100ms). Must be in [0, 1h].
	Window time.Duration

	// WindowSamples is the least number of samples in a window. Default
	// DefaultWindowSamples (10). Must be in [0, 1<<20].
	WindowSamples int

	// LongWindow (Gradient2) is the number of windows the long-term RTT
	// average spans. Default DefaultLongWindow (600). Must be in [0, 1<<20].
	LongWindow int

	// ProbeInterval (Gradient2, Vegas) is how often the limiter runs one
	// window at ProbeLimit, to measure the RTT without its own queueing and
	// take that as the reference RTT afresh: an algorithm that only
	// compares RTTs cannot tell a backend that got slower for good from one
	// it overloads, and one that starts above the capacity never sees the
	// unloaded RTT. Calls over ProbeLimit wait or are rejected meanwhile
	// (after Envoy's adaptive concurrency filter). Default
	// DefaultProbeInterval (30s). NoProbe turns probes off. Must be NoProbe
	// or in [0, 1h].
	ProbeInterval time.Duration

	// ProbeLimit is the limit during a probe. Default DefaultProbeLimit
	// (3), moved into
	// [MinLimit, MaxLimit]. An explicit value must lie in [MinLimit,
	// MaxLimit].
	ProbeLimit int

	// Alpha and Beta (Vegas) bound the estimated queue, in units of
	// log10(limit): below Alpha the limit grows, above Beta it shrinks.
	// Defaults DefaultAlpha (3) and DefaultBeta (6). Each must be finite and positive, Alpha below Beta.
	Alpha, Beta float64

	// Backoff (AIMD) is the factor the limit is multiplied by on a drop,
	// in (0, 1). Default DefaultBackoff (0.9).
	Backoff float64
}

// Validate reports the first invalid field of c, naming it.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// normalize checks every field and applies the defaults.
func (c Config) normalize() (Config, error) {
	if err := c.checkRanges(); err != nil {
		return c, err
	}
	if err := c.checkTuning(); err != nil {
		return c, err
	}
	c.defaultLimits()
	if err := c.checkLimits(); err != nil {
		return c, err
	}
	c.defaultTiming()
	c.defaultTuning()
	if c.Alpha >= c.Beta {
		return c, fmt.Errorf("limit: Alpha must be below Beta (%g), got %g", c.Beta, c.Alpha)
	}
	return c, nil
}

func (c Config) checkRanges() error {
	ints := []struct {
		name string
		v    int
		max  int
	}{
		{"InitialLimit", c.InitialLimit, MaxAllowed},
		{"MinLimit", c.MinLimit, MaxAllowed},
		{"MaxLimit", c.MaxLimit, MaxAllowed},
		{"MaxQueued", c.MaxQueued, MaxAllowed},
		{"ProbeLimit", c.ProbeLimit, MaxAllowed},
		{"WindowSamples", c.WindowSamples, maxWindow},
		{"LongWindow", c.LongWindow, maxWindow},
	}
	for _, f := range ints {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("limit: %s must be in [0, %d], got %d", f.name, f.max, f.v)
		}
	}
	switch {
	case c.MaxWait < 0 && c.MaxWait != NoMaxWait:
		return fmt.Errorf("limit: MaxWait must be NoMaxWait (-1ns) or not negative, got %v", c.MaxWait)
	case c.Window < 0 || c.Window > time.Hour:
		return fmt.Errorf("limit: Window must be in [0, 1h], got %v", c.Window)
	case c.ProbeInterval < 0 && c.ProbeInterval != NoProbe:
		return fmt.Errorf("limit: ProbeInterval must be NoProbe (-1ns) or in [0, 1h], got %v", c.ProbeInterval)
	case c.ProbeInterval > time.Hour:
		return fmt.Errorf("limit: ProbeInterval must be NoProbe (-1ns) or in [0, 1h], got %v", c.ProbeInterval)
	case c.Algorithm < Gradient2 || c.Algorithm > AIMD:
		return fmt.Errorf("limit: Algorithm must be Gradient2, Vegas or AIMD, got %v", c.Algorithm)
	}
	return nil
}

// checkTuning checks the float fields that are set; zero is the default.
func (c Config) checkTuning() error {
	floats := []struct {
		name   string
		v      float64
		lo, hi float64
		loOpen bool   // v must exceed lo
		hiOpen bool   // v must stay below hi
		want   string // the range, as the error says it
	}{
		{"Tolerance", c.Tolerance, 1, math.MaxFloat64, false, false, "at least 1 and finite"},
		{"Smoothing", c.Smoothing, 0, 1, true, false, "in (0, 1]"},
		{"Alpha", c.Alpha, 0, math.MaxFloat64, true, false, "positive and finite"},
		{"Beta", c.Beta, 0, math.MaxFloat64, true, false, "positive and finite"},
		{"Backoff", c.Backoff, 0, 1, true, true, "in (0, 1)"},
	}
	for _, f := range floats {
		if f.v == 0 {
			continue // the default
		}
		bad := math.IsNaN(f.v) || f.v < f.lo || f.v > f.hi ||
			(f.loOpen && f.v == f.lo) || (f.hiOpen && f.v == f.hi)
		if bad {
			return fmt.Errorf("limit: %s must be %s, got %g", f.name, f.want, f.v)
		}
	}
	return nil
}

// defaultLimits fills in MinLimit, MaxLimit, InitialLimit and ProbeLimit;
// the last two are moved into [MinLimit, MaxLimit].
func (c *Config) defaultLimits() {
	if c.MinLimit == 0 {
		c.MinLimit = DefaultMinLimit
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = max(DefaultMaxLimit, c.MinLimit)
	}
	if c.InitialLimit == 0 {
		c.InitialLimit = min(max(DefaultInitialLimit, c.MinLimit), c.MaxLimit)
	}
	if c.ProbeLimit == 0 {
		c.ProbeLimit = min(max(DefaultProbeLimit, c.MinLimit), c.MaxLimit)
	}
}

// checkLimits checks the limits against one another, after defaultLimits.
func (c Config) checkLimits() error {
	switch {
	case c.MinLimit > c.MaxLimit:
		return fmt.Errorf("limit: MinLimit must not exceed MaxLimit (%d), got %d", c.MaxLimit, c.MinLimit)
	case c.InitialLimit < c.MinLimit || c.InitialLimit > c.MaxLimit:
		return fmt.Errorf("limit: InitialLimit must be in [MinLimit, MaxLimit] = [%d, %d], got %d", c.MinLimit, c.MaxLimit, c.InitialLimit)
	case c.ProbeLimit < c.MinLimit || c.ProbeLimit > c.MaxLimit:
		return fmt.Errorf("limit: ProbeLimit must be in [MinLimit, MaxLimit] = [%d, %d], got %d", c.MinLimit, c.MaxLimit, c.ProbeLimit)
	}
	return nil
}

// defaultTiming fills in the durations, the window sizes and the
// predicates.
func (c *Config) defaultTiming() {
	if c.ProbeInterval == 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.WindowSamples == 0 {
		c.WindowSamples = DefaultWindowSamples
	}
	if c.LongWindow == 0 {
		c.LongWindow = DefaultLongWindow
	}
	if c.IsIgnored == nil {
		c.IsIgnored = func(err error) bool { return errors.Is(err, context.Canceled) }
	}
	if c.IsDrop == nil {
		c.IsDrop = func(error) bool { return true }
	}
}

// defaultTuning fills in the float fields.
func (c *Config) defaultTuning() {
	c.Tolerance = orDefault(c.Tolerance, DefaultTolerance)
	c.Smoothing = orDefault(c.Smoothing, DefaultSmoothing)
	c.Alpha = orDefault(c.Alpha, DefaultAlpha)
	c.Beta = orDefault(c.Beta, DefaultBeta)
	c.Backoff = orDefault(c.Backoff, DefaultBackoff)
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}
