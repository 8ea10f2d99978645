package limit

import (
	"math"
	"testing"
	"time"
)

func estimatorFor(t *testing.T, cfg Config) estimator {
	t.Helper()
	c, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	return newEstimator(c)
}

// window is what one sample window saw, times times (at least once).
type window struct {
	rtt      time.Duration
	inflight int
	drop     bool
	times    int
}

// feed steps e through each window its number of times and returns the
// limit after each group.
func feed(e *estimator, windows ...window) []float64 {
	var out []float64
	for _, w := range windows {
		for range max(w.times, 1) {
			e.step(float64(min(max(int64(w.rtt), minRTT), maxRTT)), w.inflight, w.drop)
		}
		out = append(out, e.limit)
	}
	return out
}

func TestGradient2(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []window
		check   func(limits []float64) bool
		want    string
	}{
		{"steady latency at full use grows", []window{{10 * ms, 20, false, 1}, {10 * ms, 40, false, 20}},
			func(l []float64) bool { return l[1] > l[0] && l[1] > 20 }, "grows above 20"},
		{"steady latency at full use grows by sqrt smoothed", []window{{10 * ms, 20, false, 1}},
			func(l []float64) bool { return math.Abs(l[0]-(20*0.8+0.2*(20+math.Sqrt(20)))) < 1e-9 }, "20·0.8 + 0.2·(20+√20)"},
		{"app-limited never changes", []window{{10 * ms, 9, false, 50}, {100 * ms, 9, false, 50}},
			func(l []float64) bool { return l[0] == 20 && l[1] == 20 }, "stays 20"},
		{"latency tripling shrinks", []window{{10 * ms, 20, false, 100}, {30 * ms, 200, false, 30}},
			func(l []float64) bool { return l[1] < l[0]/2 }, "falls to less than half"},
		{"rising within tolerance still grows", []window{{10 * ms, 20, false, 100}, {14 * ms, 200, false, 5}},
			func(l []float64) bool { return l[1] > l[0] }, "keeps growing"},
		{"recovers after latency falls back", []window{{10 * ms, 20, false, 50}, {40 * ms, 200, false, 50}, {10 * ms, 200, false, 200}},
			func(l []float64) bool { return l[1] < l[0] && l[2] > l[1] }, "falls, then grows again"},
		// At gradient 0.5, L' = 0.9·L + 0.2·√L: the fall ends near L = 4.
		{"sharp rise falls to the headroom", []window{{ms, 1000, false, 100}, {time.Hour, 1000, false, 100}},
			func(l []float64) bool { return l[1] >= 4 && l[1] < 6 }, "falls to about 4"},
		{"ceiling", []window{{ms, 1 << 20, false, 5000}},
			func(l []float64) bool { return l[0] == 1000 }, "reaches MaxLimit 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := estimatorFor(t, Config{})
			if got := feed(&e, tt.samples...); !tt.check(got) {
				t.Fatalf("limits %v, want: %s", got, tt.want)
			}
		})
	}
}

func TestVegas(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		cfg     Config
		samples []window
		want    []float64
	}{
		// L=20, s=log10(20)≈1.301: no queue gives +Beta·s = +7.81.
		{"no queue grows by beta", Config{}, []window{{10 * ms, 20, false, 1}}, []float64{20 + 6*math.Log10(20)}},
		{"drop shrinks by log10", Config{}, []window{{10 * ms, 20, true, 1}}, []float64{20 - math.Log10(20)}},
		{"app-limited stays", Config{}, []window{{10 * ms, 9, false, 1}}, []float64{20}},
		{"app-limited drop still shrinks", Config{}, []window{{10 * ms, 1, true, 1}}, []float64{20 - math.Log10(20)}},
		// L=100, s=2, alpha 6, beta 12; an app-limited 10ms window sets
		// the no-load RTT. 20ms: queue = ⌈100·(1−10/20)⌉ = 50 > 12.
		{"queue above beta shrinks", Config{InitialLimit: 100}, []window{{10 * ms, 1, false, 1}, {20 * ms, 100, false, 1}}, []float64{100, 98}},
		// 10.2ms: queue = ⌈1.96⌉ = 2 ≤ s: +beta·s.
		{"queue at threshold grows fast", Config{InitialLimit: 100}, []window{{10 * ms, 1, false, 1}, {10200 * time.Microsecond, 100, false, 1}}, []float64{100, 112}},
		// 10.5ms: queue = ⌈4.76⌉ = 5, in (s, alpha): +s.
		{"queue below alpha grows by log10", Config{InitialLimit: 100}, []window{{10 * ms, 1, false, 1}, {10500 * time.Microsecond, 100, false, 1}}, []float64{100, 102}},
		// 11ms: queue = ⌈9.09⌉ = 10, in [alpha, beta]: unchanged.
		{"queue between alpha and beta holds", Config{InitialLimit: 100}, []window{{10 * ms, 1, false, 1}, {11 * ms, 100, false, 1}}, []float64{100, 100}},
		// The least window average is the no-load RTT until a probe.
		{"no-load RTT is the least window", Config{InitialLimit: 100}, []window{{20 * ms, 1, false, 1}, {10 * ms, 1, false, 1}, {20 * ms, 100, false, 1}}, []float64{100, 100, 98}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Algorithm = Vegas
			e := estimatorFor(t, tt.cfg)
			got := feed(&e, tt.samples...)
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-9 {
					t.Fatalf("limits %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestAIMD(t *testing.T) {
	tests := []struct {
		name    string
		samples []window
		want    []float64
	}{
		{"success at full use adds one", []window{{0, 20, false, 3}}, []float64{23}},
		{"success at half use adds one", []window{{0, 10, false, 1}}, []float64{21}},
		{"success below half use holds", []window{{0, 9, false, 5}}, []float64{20}},
		{"drop multiplies by backoff", []window{{0, 1, true, 1}, {0, 1, true, 1}}, []float64{18, 16.2}},
		{"latency is ignored", []window{{time.Millisecond, 20, false, 1}, {time.Hour, 20, false, 1}}, []float64{21, 22}},
		{"floor", []window{{0, 1, true, 100}}, []float64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := estimatorFor(t, Config{Algorithm: AIMD})
			got := feed(&e, tt.samples...)
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-9 {
					t.Fatalf("limits %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestLongAverage: the long-term RTT average of Gradient2 is a plain mean
// over the first 10 windows, then an EMA over LongWindow windows; it does
// not absorb windows queueing beyond the tolerance, and decays fast after a
// lasting fall.
func TestLongAverage(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		windows []window
		want    float64 // ms
	}{
		{"first window", []window{{10 * ms, 1, false, 1}}, 10},
		{"plain mean while warming up", []window{{10 * ms, 1, false, 1}, {20 * ms, 1, false, 1}, {12 * ms, 1, false, 1}}, 14},
		// After 10 windows of 10ms, an 11ms window moves it by 2/(100+1).
		{"EMA after warm-up", []window{{10 * ms, 1, false, 10}, {11 * ms, 1, false, 1}}, 10 + 2.0/101},
		{"queueing beyond tolerance is not absorbed", []window{{10 * ms, 1, false, 10}, {16 * ms, 1, false, 50}}, 10},
		{"within tolerance is absorbed", []window{{10 * ms, 1, false, 10}, {15 * ms, 1, false, 1}}, 10 + 5*2.0/101},
		// 1ms: EMA to 9.82, then ×0.95 while more than twice the window.
		{"decays after a lasting fall", []window{{10 * ms, 1, false, 10}, {ms, 1, false, 1}}, (10 - 9*2.0/101) * 0.95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := estimatorFor(t, Config{LongWindow: 100})
			feed(&e, tt.windows...)
			if got := e.longRTT / 1e6; math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("longRTT = %vms, want %vms", got, tt.want)
			}
		})
	}
}

// TestWindows: samples accumulate until a window holds WindowSamples of
// them and spans Window; only calls that started in the window count.
func TestWindows(t *testing.T) {
	e := estimatorFor(t, Config{Algorithm: AIMD, Window: 100, WindowSamples: 3, ProbeInterval: NoProbe})
	steps := []struct {
		start, now int64
		inflight   int
		drop       bool
		closes     bool
	}{
		{10, 20, 20, false, false},
		{15, 40, 20, true, false},
		{50, 60, 20, false, false},  // 3 samples, but only 60 ns since 0
		{55, 100, 20, false, true},  // averages 10, 25, 10, 45 ns; a drop: ×0.9
		{90, 130, 20, false, false}, // started before the window opened at 100
		{101, 150, 20, false, false},
		{110, 160, 20, false, false},
		{120, 210, 20, false, true}, // +1
	}
	for i, st := range steps {
		if got := e.add(st.start, st.now, st.inflight, st.drop); got != st.closes {
			t.Fatalf("step %d: add = %v, want %v", i, got, st.closes)
		}
	}
	if e.limit != 20*0.9+1 || e.windows != 2 || e.samples != 7 || e.drops != 1 {
		t.Fatalf("limit %v after %d windows, %d samples, %d drops; want 19 after 2, 7, 1", e.limit, e.windows, e.samples, e.drops)
	}
	if e.shortRTT != (49+50+90)/3.0 {
		t.Fatalf("shortRTT = %v, want the last window's mean 63", e.shortRTT)
	}
}

// TestProbe: every ProbeInterval, one window runs at ProbeLimit and its
// mean RTT becomes the reference of Gradient2 and Vegas.
func TestProbe(t *testing.T) {
	for _, alg := range []Algorithm{Gradient2, Vegas} {
		t.Run(alg.String(), func(t *testing.T) {
			e := estimatorFor(t, Config{Algorithm: alg, Window: 10, WindowSamples: 1, ProbeInterval: 1000, ProbeLimit: 4})
			now := int64(0)
			call := func(rtt int64) bool {
				now += rtt
				return e.add(now-rtt, now, 100, false)
			}
			for now < 1000 {
				call(20) // loaded: 20 ns
			}
			if !e.probing || e.current() != 4 || e.limit == 4 {
				t.Fatalf("at the interval: probing %v, current %v, limit %v; want a probe at 4", e.probing, e.current(), e.limit)
			}
			if e.add(now-30, now+5, 1, false) {
				t.Fatal("a call that started before the probe counted in it")
			}
			if !call(10) || e.probing || e.probes != 1 {
				t.Fatalf("probe window did not close: probing %v, probes %d", e.probing, e.probes)
			}
			ref, other := e.longRTT, e.noLoadRTT
			if alg == Vegas {
				ref, other = e.noLoadRTT, e.longRTT
			}
			if other != 0 {
				t.Fatalf("the other algorithm's reference was set: %v", other)
			}
			if ref != 10 || e.current() != e.limit {
				t.Fatalf("after the probe: reference %v, current %v, limit %v; want 10 and the estimate back", ref, e.current(), e.limit)
			}
		})
	}
	e := estimatorFor(t, Config{Algorithm: AIMD, Window: 1, WindowSamples: 1})
	for i := range int64(100) {
		e.add(i*1e9, i*1e9+10, 1, false)
	}
	if e.probes != 0 || e.probing {
		t.Fatal("AIMD probed")
	}
}

// FuzzEstimator: for any algorithm, bounds and sequence of samples (RTTs
// of 0, huge, negative or jumping back and forth; any in-flight count;
// drops anywhere; probes) the limit stays finite and within [MinLimit,
// MaxLimit], and the RTT averages within the clamped range.
func FuzzEstimator(f *testing.F) {
	f.Add(uint8(0), uint16(1), uint16(1000), []byte{0, 1, 2, 3, 255, 128, 7})
	f.Add(uint8(1), uint16(5), uint16(5), []byte{255, 255, 0, 0, 255, 0})
	f.Add(uint8(2), uint16(1), uint16(3), []byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0})
	f.Add(uint8(0), uint16(100), uint16(60000), []byte{1, 200, 1, 200, 1, 200})
	f.Fuzz(func(t *testing.T, alg uint8, lowest, ceiling uint16, ops []byte) {
		lo, hi := max(int(lowest), 1), max(int(ceiling), 1)
		if lo > hi {
			lo, hi = hi, lo
		}
		e := estimatorFor(t, Config{Algorithm: Algorithm(alg % 3), MinLimit: lo, MaxLimit: hi, InitialLimit: lo,
			Window: time.Duration(1 + alg/3), WindowSamples: 1 + int(alg/64), ProbeInterval: time.Duration(1 + int(alg)*100)})
		rtts := []int64{0, -1, 1, 1e3, 1e6, 1e9, math.MaxInt64, math.MinInt64, 3600e9 + 1}
		now := int64(0)
		for i, op := range ops {
			rtt := rtts[int(op)%len(rtts)] * int64(1+op/16)
			now += int64(op%5) * 1e6 // the clock stands still, or moves on
			if op%7 == 0 {
				now -= 3e6 // or even back
			}
			inflight := int(op) * (i + 1) % (hi*2 + 1)
			e.add(now-rtt, now, inflight, op%3 == 0)
			got := e.current()
			if !(got >= float64(lo) && got <= float64(hi) && e.limit >= float64(lo) && e.limit <= float64(hi)) {
				t.Fatalf("op %d: limit %v (estimate %v) outside [%d, %d]", i, got, e.limit, lo, hi)
			}
			for _, v := range []float64{e.shortRTT, e.longRTT, e.noLoadRTT} {
				if v != 0 && !(v >= minRTT && v <= maxRTT) {
					t.Fatalf("op %d: RTT average %v outside [%d, %g]", i, v, minRTT, float64(maxRTT))
				}
			}
		}
	})
}
