package backoff_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/backoff"
)

const ms = time.Millisecond

func TestDelaySchedule(t *testing.T) {
	tests := []struct {
		name   string
		policy backoff.Policy
		want   []time.Duration // Delay(1), Delay(2), ...
	}{
		{
			name:   "zero policy without jitter is the pforge schedule",
			policy: backoff.Policy{Jitter: backoff.NoJitter},
			want:   []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second},
		},
		{
			name:   "fustor agent",
			policy: backoff.Policy{Initial: 5 * time.Second, Multiplier: 2, Max: 60 * time.Second, Jitter: backoff.NoJitter},
			want:   []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second},
		},
		{
			name:   "multiplier one is constant",
			policy: backoff.Policy{Initial: 3 * ms, Multiplier: 1, Jitter: backoff.NoJitter},
			want:   []time.Duration{3 * ms, 3 * ms, 3 * ms, 3 * ms},
		},
		{
			name:   "fractional multiplier",
			policy: backoff.Policy{Initial: 100 * ms, Multiplier: 1.5, Max: time.Second, Jitter: backoff.NoJitter},
			want:   []time.Duration{100 * ms, 150 * ms, 225 * ms, 337500 * time.Microsecond, 506250 * time.Microsecond, 759375 * time.Microsecond, time.Second},
		},
		{
			name:   "initial above max is capped",
			policy: backoff.Policy{Initial: time.Minute, Max: time.Second, Jitter: backoff.NoJitter},
			want:   []time.Duration{time.Second, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				if got := tt.policy.Delay(i + 1); got != want {
					t.Errorf("Delay(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

func TestDelayAttemptBelowOne(t *testing.T) {
	p := backoff.Policy{Jitter: backoff.NoJitter}
	for _, n := range []int{0, -1, math.MinInt} {
		if got := p.Delay(n); got != 100*ms {
			t.Errorf("Delay(%d) = %v, want the first delay 100ms", n, got)
		}
	}
}

// bounds returns the range a jittered delay for retry n must fall in.
func bounds(t *testing.T, p backoff.Policy, n int) (lo, hi time.Duration) {
	t.Helper()
	np := p
	np.Jitter = backoff.NoJitter
	d := np.Delay(n)
	max := p.Max
	switch p.Jitter {
	case backoff.FullJitter:
		return 0, d
	case backoff.EqualJitter:
		return d / 2, d
	case backoff.DecorrelatedJitter:
		return min(p.Initial, max), min(3*d, max)
	case backoff.SpreadJitter:
		f := p.JitterFactor
		return time.Duration(float64(d) * (1 - f)), min(time.Duration(float64(d)*(1+f))+1, max)
	}
	t.Fatalf("unexpected mode %v", p.Jitter)
	return 0, 0
}

func TestJitterBoundsAndSpread(t *testing.T) {
	modes := []backoff.Jitter{backoff.FullJitter, backoff.EqualJitter, backoff.DecorrelatedJitter, backoff.SpreadJitter}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			p := backoff.Policy{Initial: 100 * ms, Multiplier: 2, Max: 5 * time.Second, Jitter: mode, JitterFactor: 0.25}
			for n := 1; n <= 10; n++ {
				lo, hi := bounds(t, p, n)
				seen := map[time.Duration]bool{}
				gotMin, gotMax := time.Duration(math.MaxInt64), time.Duration(0)
				for i := 0; i < 2000; i++ {
					d := p.Delay(n)
					if d < lo || d > hi {
						t.Fatalf("Delay(%d) = %v, want within [%v, %v]", n, d, lo, hi)
					}
					seen[d] = true
					gotMin, gotMax = min(gotMin, d), max(gotMax, d)
				}
				// The draws must cover the range, not sit at one point.
				span := hi - lo
				if len(seen) < 100 || gotMin > lo+span/10 || gotMax < hi-span/10 {
					t.Errorf("Delay(%d): %d distinct draws in [%v, %v], want spread over [%v, %v]", n, len(seen), gotMin, gotMax, lo, hi)
				}
			}
		})
	}
}

func TestPforgeSpreadSchedule(t *testing.T) {
	p := backoff.Policy{Jitter: backoff.SpreadJitter} // 100ms ×2, ±25%
	want := [][2]time.Duration{{75 * ms, 125 * ms}, {150 * ms, 250 * ms}, {300 * ms, 500 * ms}}
	for seed := uint64(1); seed <= 500; seed++ {
		p.Seed = seed
		for i, w := range want {
			if d := p.Delay(i + 1); d < w[0] || d > w[1] {
				t.Fatalf("seed %d: Delay(%d) = %v, want within [%v, %v]", seed, i+1, d, w[0], w[1])
			}
		}
	}
}

func TestSpreadJitterCappedAtMax(t *testing.T) {
	p := backoff.Policy{Initial: time.Second, Max: time.Second, Jitter: backoff.SpreadJitter, JitterFactor: 1}
	sawLow := false
	for seed := uint64(1); seed <= 200; seed++ {
		p.Seed = seed
		d := p.Delay(3)
		if d > time.Second {
			t.Fatalf("Delay = %v, above Max 1s", d)
		}
		sawLow = sawLow || d < 500*ms
	}
	if !sawLow {
		t.Error("spread jitter never went below d: the lower half of the range is missing")
	}
}

func TestSeedReproducible(t *testing.T) {
	for _, mode := range []backoff.Jitter{backoff.FullJitter, backoff.EqualJitter, backoff.DecorrelatedJitter, backoff.SpreadJitter} {
		t.Run(mode.String(), func(t *testing.T) {
			a := backoff.Policy{Jitter: mode, Seed: 42}
			b := a
			c := a
			c.Seed = 43
			differ := false
			sa, sb := a.Sequence(), b.Sequence()
			for n := 1; n <= 8; n++ {
				if x, y := a.Delay(n), b.Delay(n); x != y {
					t.Fatalf("Delay(%d) = %v and %v with the same seed", n, x, y)
				}
				if x, y := sa.Next(), sb.Next(); x != y {
					t.Fatalf("Next #%d = %v and %v with the same seed", n, x, y)
				}
				differ = differ || a.Delay(n) != c.Delay(n)
			}
			if !differ {
				t.Error("seeds 42 and 43 gave the same schedule")
			}
		})
	}
}

func TestSequenceFollowsDelay(t *testing.T) {
	for _, mode := range []backoff.Jitter{backoff.NoJitter, backoff.FullJitter, backoff.EqualJitter, backoff.SpreadJitter} {
		t.Run(mode.String(), func(t *testing.T) {
			p := backoff.Policy{Initial: 10 * ms, Max: time.Second, Jitter: mode, Seed: 7}
			s := p.Sequence()
			for round := 0; round < 2; round++ {
				for n := 1; n <= 10; n++ {
					got := s.Next()
					if s.Failures() != n {
						t.Fatalf("Failures() = %d, want %d", s.Failures(), n)
					}
					if want := p.Delay(n); got != want {
						t.Fatalf("round %d: Next #%d = %v, want Delay(%d) = %v", round, n, got, n, want)
					}
				}
				s.Reset()
				if s.Failures() != 0 {
					t.Fatalf("Failures() after Reset = %d, want 0", s.Failures())
				}
			}
		})
	}
}

func TestSequenceDecorrelated(t *testing.T) {
	p := backoff.Policy{Initial: 10 * ms, Max: time.Second, Jitter: backoff.DecorrelatedJitter}
	s := p.Sequence()
	reachedMax := false
	for round := 0; round < 50; round++ {
		prev := p.Initial
		for n := 1; n <= 20; n++ {
			d := s.Next()
			if hi := min(3*prev, p.Max); d < p.Initial || d > hi {
				t.Fatalf("round %d, Next #%d = %v, want within [%v, %v] (previous %v)", round, n, d, p.Initial, hi, prev)
			}
			reachedMax = reachedMax || d > p.Max*9/10
			prev = d
		}
		s.Reset()
		if d := s.Next(); d > 3*p.Initial {
			t.Fatalf("first Next after Reset = %v, want at most 3·Initial", d)
		}
		s.Reset()
	}
	if !reachedMax {
		t.Error("decorrelated walk never came near Max in 1000 draws")
	}
}

func TestHostileConfigs(t *testing.T) {
	tests := []struct {
		name    string
		policy  backoff.Policy
		wantMax time.Duration
	}{
		{"huge initial", backoff.Policy{Initial: math.MaxInt64, Max: math.MaxInt64}, math.MaxInt64},
		{"huge multiplier", backoff.Policy{Multiplier: 1e300, Max: math.MaxInt64}, math.MaxInt64},
		{"infinite multiplier", backoff.Policy{Multiplier: math.Inf(1)}, 5 * time.Second},
		{"NaN multiplier", backoff.Policy{Multiplier: math.NaN()}, 5 * time.Second},
		{"negative everything", backoff.Policy{Initial: -1, Multiplier: -3, Max: -1, JitterFactor: -2, Jitter: -1}, 5 * time.Second},
		{"unknown jitter", backoff.Policy{Jitter: 99}, 5 * time.Second},
		{"max below initial", backoff.Policy{Initial: time.Hour, Max: time.Second}, time.Second},
		{"tiny multiplier above one", backoff.Policy{Multiplier: 1 + 1e-15, Max: math.MaxInt64}, math.MaxInt64},
	}
	modes := []backoff.Jitter{backoff.NoJitter, backoff.FullJitter, backoff.EqualJitter, backoff.DecorrelatedJitter, backoff.SpreadJitter}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range modes {
				p := tt.policy
				if p.Jitter == 0 {
					p.Jitter = mode
				}
				s := p.Sequence()
				for _, n := range []int{math.MinInt, -1, 0, 1, 2, 63, 64, 65, 1000, math.MaxInt} {
					if d := p.Delay(n); d < 0 || d > tt.wantMax {
						t.Errorf("%v: Delay(%d) = %v, want within [0, %v]", mode, n, d, tt.wantMax)
					}
					if d := s.Next(); d < 0 || d > tt.wantMax {
						t.Errorf("%v: Next = %v, want within [0, %v]", mode, d, tt.wantMax)
					}
				}
			}
		})
	}
}

func TestHugeAttemptReachesMax(t *testing.T) {
	p := backoff.Policy{Multiplier: 1.001, Max: time.Hour, Jitter: backoff.NoJitter}
	if got := p.Delay(math.MaxInt); got != time.Hour {
		t.Errorf("Delay(MaxInt) = %v, want Max 1h", got)
	}
	if got := p.Delay(100); got <= 100*ms || got >= 120*ms {
		t.Errorf("Delay(100) = %v, want 100ms·1.001^99 ≈ 110ms", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		policy    backoff.Policy
		wantField string // "" means valid
	}{
		{"zero", backoff.Policy{}, ""},
		{"fustor", backoff.Policy{Initial: 5 * time.Second, Multiplier: 2, Max: time.Minute, Jitter: backoff.NoJitter}, ""},
		{"constant", backoff.Policy{Multiplier: 1}, ""},
		{"factor one", backoff.Policy{Jitter: backoff.SpreadJitter, JitterFactor: 1}, ""},
		{"initial equals max", backoff.Policy{Initial: time.Second, Max: time.Second}, ""},
		{"negative initial", backoff.Policy{Initial: -time.Second}, "Initial"},
		{"negative max", backoff.Policy{Max: -1}, "Max"},
		{"multiplier below one", backoff.Policy{Multiplier: 0.5}, "Multiplier"},
		{"negative multiplier", backoff.Policy{Multiplier: -2}, "Multiplier"},
		{"NaN multiplier", backoff.Policy{Multiplier: math.NaN()}, "Multiplier"},
		{"infinite multiplier", backoff.Policy{Multiplier: math.Inf(1)}, "Multiplier"},
		{"factor above one", backoff.Policy{JitterFactor: 1.5}, "JitterFactor"},
		{"negative factor", backoff.Policy{JitterFactor: -0.1}, "JitterFactor"},
		{"NaN factor", backoff.Policy{JitterFactor: math.NaN()}, "JitterFactor"},
		{"unknown jitter", backoff.Policy{Jitter: 5}, "Jitter"},
		{"max below initial", backoff.Policy{Initial: 2 * time.Second, Max: time.Second}, "Max"},
		{"initial above default max", backoff.Policy{Initial: 10 * time.Second}, "Max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tt.wantField)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "backoff: "+tt.wantField+" ") {
				t.Errorf("Validate() = %q, want it to start with %q", msg, "backoff: "+tt.wantField)
			}
		})
	}
}

func TestJitterString(t *testing.T) {
	tests := map[backoff.Jitter]string{
		backoff.FullJitter:         "FullJitter",
		backoff.NoJitter:           "NoJitter",
		backoff.EqualJitter:        "EqualJitter",
		backoff.DecorrelatedJitter: "DecorrelatedJitter",
		backoff.SpreadJitter:       "SpreadJitter",
		backoff.Jitter(42):         "Jitter(42)",
	}
	for j, want := range tests {
		if got := j.String(); got != want {
			t.Errorf("Jitter(%d).String() = %q, want %q", int(j), got, want)
		}
	}
}

func TestDelayAllocatesNothing(t *testing.T) {
	p := backoff.Policy{Jitter: backoff.SpreadJitter}
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		n++
		_ = p.Delay(n%12 + 1)
	})
	if allocs != 0 {
		t.Errorf("Delay allocates %v times per call, want 0", allocs)
	}
	s := p.Sequence()
	allocs = testing.AllocsPerRun(1000, func() { _ = s.Next() })
	if allocs != 0 {
		t.Errorf("Sequence.Next allocates %v times per call, want 0", allocs)
	}
}

func FuzzDelay(f *testing.F) {
	f.Add(int64(0), 0.0, int64(0), 0, 0.0, uint64(0), 1)
	f.Add(int64(5*time.Second), 2.0, int64(time.Minute), 1, 0.0, uint64(0), 6)
	f.Add(int64(math.MaxInt64), 1e308, int64(math.MaxInt64), 4, 1.0, uint64(3), math.MaxInt)
	f.Add(int64(-1), -1.0, int64(-1), -7, math.Inf(1), uint64(9), -5)
	f.Add(int64(1), 1.0000001, int64(math.MaxInt64), 3, 0.5, uint64(1), 65)
	f.Fuzz(func(t *testing.T, initial int64, mult float64, maxDelay int64, jitter int, factor float64, seed uint64, n int) {
		p := backoff.Policy{
			Initial:      time.Duration(initial),
			Multiplier:   mult,
			Max:          time.Duration(maxDelay),
			Jitter:       backoff.Jitter(jitter),
			JitterFactor: factor,
			Seed:         seed,
		}
		limit := p.Max
		if limit <= 0 {
			limit = 5 * time.Second
		}
		if d := p.Delay(n); d < 0 || d > limit {
			t.Fatalf("%+v: Delay(%d) = %v, want within [0, %v]", p, n, d, limit)
		}
		s := p.Sequence()
		for i := 0; i < 70; i++ {
			if d := s.Next(); d < 0 || d > limit {
				t.Fatalf("%+v: Next #%d = %v, want within [0, %v]", p, i+1, d, limit)
			}
		}
		p.Jitter = backoff.NoJitter
		if n >= 1 && n < 64 && p.Delay(n) > p.Delay(n+1) {
			t.Fatalf("%+v: Delay(%d) = %v > Delay(%d) = %v without jitter", p, n, p.Delay(n), n+1, p.Delay(n+1))
		}
	})
}

func TestSeededAttemptBelowOneIsTheFirst(t *testing.T) {
	p := backoff.Policy{Seed: 11}
	if a, b := p.Delay(0), p.Delay(1); a != b {
		t.Errorf("Delay(0) = %v, Delay(1) = %v; want the same draw", a, b)
	}
}

// TestDecorrelatedPublishedFormula checks the walk against the published
// definition sleep = min(cap, uniform[base, 3·sleep]): with base 100ms and
// cap 1s its steady state has a mean near 0.74s and returns the cap itself
// about half of the time. Drawing from [base, min(cap, 3·sleep)] instead
// would give a mean near 0.49s and almost never the cap.
func TestDecorrelatedPublishedFormula(t *testing.T) {
	const draws = 20000
	tests := []struct {
		name   string
		next   func() time.Duration
		lo, hi float64 // bounds on the mean, in seconds
		atCap  float64 // minimum share of draws equal to the cap
	}{
		{
			name: "Sequence",
			next: backoff.Policy{Initial: 100 * ms, Max: time.Second, Jitter: backoff.DecorrelatedJitter, Seed: 3}.Sequence().Next,
			lo:   0.70, hi: 0.78, atCap: 0.40,
		},
		{
			// The stateless Delay of a late retry: previous is the cap, so
			// min(1s, uniform[100ms, 3s]) is the cap with probability 2/2.9.
			name: "Delay",
			next: func() time.Duration {
				return backoff.Policy{Initial: 100 * ms, Max: time.Second, Jitter: backoff.DecorrelatedJitter}.Delay(20)
			},
			lo: 0.85, hi: 0.92, atCap: 0.65,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, capped := 0.0, 0
			for range draws {
				d := tt.next()
				if d < 100*ms || d > time.Second {
					t.Fatalf("delay %v outside [100ms, 1s]", d)
				}
				sum += d.Seconds()
				if d == time.Second {
					capped++
				}
			}
			mean, share := sum/draws, float64(capped)/draws
			if mean < tt.lo || mean > tt.hi {
				t.Errorf("mean delay %.3fs, want within [%.2fs, %.2fs]", mean, tt.lo, tt.hi)
			}
			if share < tt.atCap {
				t.Errorf("%.2f of the delays are the cap, want at least %.2f", share, tt.atCap)
			}
		})
	}
}
