package limit

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"zero", Config{}, ""},
		{"vegas", Config{Algorithm: Vegas, Alpha: 2, Beta: 4}, ""},
		{"aimd", Config{Algorithm: AIMD, Backoff: 0.5}, ""},
		{"explicit limits", Config{InitialLimit: 5, MinLimit: 2, MaxLimit: 9}, ""},
		{"max below default initial", Config{MaxLimit: 5}, ""},
		{"min above default max", Config{MinLimit: 2000}, ""},
		{"largest", Config{InitialLimit: MaxAllowed, MinLimit: MaxAllowed, MaxLimit: MaxAllowed, MaxQueued: MaxAllowed}, ""},
		{"no max wait", Config{MaxQueued: 3, MaxWait: NoMaxWait}, ""},
		{"tolerance 1", Config{Tolerance: 1}, ""},
		{"smoothing 1", Config{Smoothing: 1}, ""},
		{"windows", Config{Window: time.Hour, WindowSamples: 1 << 20, LongWindow: 1 << 20}, ""},
		{"probes", Config{ProbeInterval: time.Hour, ProbeLimit: 1}, ""},
		{"no probes", Config{ProbeInterval: NoProbe}, ""},
		{"negative initial", Config{InitialLimit: -1}, "limit: InitialLimit"},
		{"huge max", Config{MaxLimit: MaxAllowed + 1}, "limit: MaxLimit"},
		{"negative min", Config{MinLimit: -3}, "limit: MinLimit"},
		{"negative queue", Config{MaxQueued: -1}, "limit: MaxQueued"},
		{"min above max", Config{MinLimit: 10, MaxLimit: 5}, "limit: MinLimit"},
		{"initial above max", Config{InitialLimit: 50, MaxLimit: 10}, "limit: InitialLimit"},
		{"initial below min", Config{InitialLimit: 2, MinLimit: 3}, "limit: InitialLimit"},
		{"unknown algorithm", Config{Algorithm: 7}, "limit: Algorithm"},
		{"negative algorithm", Config{Algorithm: -1}, "limit: Algorithm"},
		{"tolerance below 1", Config{Tolerance: 0.9}, "limit: Tolerance"},
		{"tolerance inf", Config{Tolerance: math.Inf(1)}, "limit: Tolerance"},
		{"tolerance nan", Config{Tolerance: math.NaN()}, "limit: Tolerance"},
		{"smoothing above 1", Config{Smoothing: 1.5}, "limit: Smoothing"},
		{"negative smoothing", Config{Smoothing: -0.1}, "limit: Smoothing"},
		{"negative alpha", Config{Alpha: -1}, "limit: Alpha"},
		{"alpha above beta", Config{Alpha: 7}, "limit: Alpha"},
		{"beta inf", Config{Beta: math.Inf(1)}, "limit: Beta"},
		{"backoff 1", Config{Backoff: 1}, "limit: Backoff"},
		{"negative backoff", Config{Backoff: -0.5}, "limit: Backoff"},
		{"huge window samples", Config{WindowSamples: 1<<20 + 1}, "limit: WindowSamples"},
		{"negative window", Config{Window: -1}, "limit: Window"},
		{"huge window", Config{Window: time.Hour + 1}, "limit: Window"},
		{"huge probe interval", Config{ProbeInterval: time.Hour + 1}, "limit: ProbeInterval"},
		{"probe limit above max", Config{ProbeLimit: 11, MaxLimit: 10}, "limit: ProbeLimit"},
		{"probe limit below min", Config{ProbeLimit: 2, MinLimit: 3}, "limit: ProbeLimit"},
		{"negative probe limit", Config{ProbeLimit: -2}, "limit: ProbeLimit"},
		{"negative long window", Config{LongWindow: -1}, "limit: LongWindow"},
		{"negative max wait", Config{MaxWait: -time.Second}, "limit: MaxWait must be NoMaxWait (-1ns) or not negative, got -1s"},
		{"negative probe interval", Config{ProbeInterval: -2}, "limit: ProbeInterval must be NoProbe (-1ns) or in [0, 1h], got -2ns"},
		{"smoothing message", Config{Smoothing: 2}, "limit: Smoothing must be in (0, 1], got 2"},
		{"min above max message", Config{MinLimit: 10, MaxLimit: 5}, "limit: MinLimit must not exceed MaxLimit (5), got 10"},
		{"alpha above beta message", Config{Alpha: 7}, "limit: Alpha must be below Beta (6), got 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				New(tt.cfg) // must not panic
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tt.wantErr)
			}
			defer func() {
				if r := recover(); r != err.Error() {
					t.Fatalf("New panicked with %v, want %q", r, err.Error())
				}
			}()
			New(tt.cfg)
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name                     string
		cfg                      Config
		initial, lowest, ceiling int
	}{
		{"zero", Config{}, 20, 1, 1000},
		{"max below 20", Config{MaxLimit: 5}, 5, 1, 5},
		{"min above 1000", Config{MinLimit: 2000}, 2000, 2000, 2000},
		{"min above 20", Config{MinLimit: 30}, 30, 30, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.cfg.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if c.InitialLimit != tt.initial || c.MinLimit != tt.lowest || c.MaxLimit != tt.ceiling {
				t.Fatalf("limits = %d in [%d, %d], want %d in [%d, %d]",
					c.InitialLimit, c.MinLimit, c.MaxLimit, tt.initial, tt.lowest, tt.ceiling)
			}
			if got := New(tt.cfg).Stats().Limit; got != tt.initial {
				t.Fatalf("Stats().Limit = %d, want %d", got, tt.initial)
			}
		})
	}
	c, _ := Config{}.normalize()
	tuning := func(c Config) [11]float64 {
		return [...]float64{c.Tolerance, c.Smoothing, c.Alpha, c.Beta, c.Backoff, float64(c.LongWindow),
			float64(c.Window), float64(c.WindowSamples), float64(c.ProbeInterval), float64(c.ProbeLimit), float64(c.MaxWait)}
	}
	want := Config{Tolerance: 1.5, Smoothing: 0.2, Alpha: 3, Beta: 6, Backoff: 0.9, LongWindow: 600,
		Window: 100 * time.Millisecond, WindowSamples: 10, ProbeInterval: 30 * time.Second, ProbeLimit: 3, MaxWait: time.Second}
	if tuning(c) != tuning(want) || c.MaxQueued != 0 || c.Algorithm != Gradient2 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestAlgorithmString(t *testing.T) {
	for a, want := range map[Algorithm]string{Gradient2: "gradient2", Vegas: "vegas", AIMD: "aimd", 9: "Algorithm(9)"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(a), got, want)
		}
	}
}

// FuzzConfig: any Config is either rejected by Validate, and then by New
// with the same message, or gives a limiter whose limit lies in its bounds.
func FuzzConfig(f *testing.F) {
	f.Add(0, 0, 0, 0, 0, int64(0), 0.0, 0.0, 0.0, 0.0, 0.0)
	f.Add(1, 5, 1, 10, 3, int64(-1), 1.5, 0.2, 3.0, 6.0, 0.9)
	f.Add(2, MaxAllowed, MaxAllowed, MaxAllowed, MaxAllowed, int64(math.MaxInt64), math.MaxFloat64, 1.0, 1e-300, 1e300, 0.999)
	f.Add(-1, -5, math.MinInt, math.MaxInt, 7, int64(math.MinInt64), math.NaN(), math.Inf(1), -1.0, math.Inf(-1), 1.0)
	f.Fuzz(func(t *testing.T, alg, initial, lowest, ceiling, queued int, wait int64, tol, smooth, alpha, beta, backoff float64) {
		cfg := Config{
			Algorithm: Algorithm(alg), InitialLimit: initial, MinLimit: lowest, MaxLimit: ceiling,
			MaxQueued: queued, MaxWait: time.Duration(wait),
			Tolerance: tol, Smoothing: smooth, Alpha: alpha, Beta: beta, Backoff: backoff,
		}
		err := cfg.Validate()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "limit: ") {
				t.Fatalf("Validate() = %q, want a limit: prefix", err)
			}
			defer func() {
				if r := recover(); r != err.Error() {
					t.Fatalf("New panicked with %v, want %q", r, err)
				}
			}()
			New(cfg)
			return
		}
		c, _ := cfg.normalize()
		if c.MinLimit < 1 || c.MinLimit > c.MaxLimit || c.InitialLimit < c.MinLimit || c.InitialLimit > c.MaxLimit || c.MaxLimit > MaxAllowed {
			t.Fatalf("normalized limits %d in [%d, %d]", c.InitialLimit, c.MinLimit, c.MaxLimit)
		}
		l := New(cfg)
		if s := l.Stats(); s.Limit != c.InitialLimit {
			t.Fatalf("Stats().Limit = %d, want %d", s.Limit, c.InitialLimit)
		}
		e := newEstimator(c)
		for i := range 50 {
			e.step(float64(i*i)*1e6+1, i%7, i%5 == 0)
			if got := e.current(); !(got >= float64(c.MinLimit) && got <= float64(c.MaxLimit)) {
				t.Fatalf("window %d: limit %v outside [%d, %d]", i, got, c.MinLimit, c.MaxLimit)
			}
		}
	})
}
