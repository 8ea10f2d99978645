package throttle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type statusError int

func (e statusError) Error() string   { return fmt.Sprintf("status %d", int(e)) }
func (e statusError) StatusCode() int { return int(e) }

type classError string

func (e classError) Error() string      { return string(e) }
func (e classError) ErrorClass() string { return string(e) }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var errPlain = errors.New("not found")

func TestRejectionFormula(t *testing.T) {
	tests := []struct {
		name      string
		req, acc  uint64
		k, cap, p float64
	}{
		{"empty", 0, 0, 2, 0.9, 0},
		{"healthy", 100, 100, 2, 0.9, 0},
		{"half accepted is K=2's limit", 100, 50, 2, 0.9, 0},
		{"a third accepted", 99, 33, 2, 0.9, (99.0 - 66) / 100},
		{"none accepted is capped", 1000, 0, 2, 0.9, 0.9},
		{"none accepted, cap 1", 9, 0, 2, 1, 0.9},
		{"K=1 rejects the shortfall", 100, 90, 1, 0.9, 10.0 / 101},
		{"accepts above requests", 10, 20, 2, 0.9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rejection(tt.req, tt.acc, tt.k, tt.cap)
			if math.Abs(got-tt.p) > 1e-12 {
				t.Errorf("rejection(%d, %d, %v, %v) = %v, want %v", tt.req, tt.acc, tt.k, tt.cap, got, tt.p)
			}
		})
	}
}

// call makes one request through th whose outcome is err, and reports
// whether it was admitted.
func call(th *Throttle, err error) bool {
	p, rerr := th.Allow()
	if rerr != nil {
		return false
	}
	p.Done(err)
	return true
}

func TestHealthyBackendIsNeverThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{Seed: 1})
		for i := range 10_000 {
			// Non-overload errors are accepts too: the backend answered.
			err := error(nil)
			if i%3 == 0 {
				err = errPlain
			}
			if !call(th, err) {
				t.Fatalf("request %d rejected by a throttle whose backend accepts everything", i)
			}
		}
		s := th.Stats()
		if s.Requests != 10_000 || s.Accepts != 10_000 || s.RejectionProbability != 0 || s.Rejected != 0 {
			t.Errorf("Stats = %+v, want 10000 requests and accepts, no rejection", s)
		}
	})
}

func TestOverloadIsThrottledUpToTheCap(t *testing.T) {
	for _, ceiling := range []float64{0, 0.5, 0.9, 1} {
		t.Run(fmt.Sprint(ceiling), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				th := New(Config{Seed: 7, MaxRejectionRate: ceiling})
				want := ceiling
				if want == 0 {
					want = DefaultMaxRejectionRate
				}
				admitted := 0
				const n = 20_000
				for range n {
					if call(th, statusError(503)) {
						admitted++
					}
				}
				s := th.Stats()
				if s.Requests != n || s.Accepts != 0 {
					t.Fatalf("Stats = %+v, want %d requests (rejected ones included), 0 accepts", s, n)
				}
				if wantP := min(want, float64(n)/(n+1)); math.Abs(s.RejectionProbability-wantP) > 1e-9 {
					t.Errorf("RejectionProbability = %v, want %v", s.RejectionProbability, wantP)
				}
				if s.Rejected != uint64(n-admitted) {
					t.Errorf("Rejected = %d, want %d", s.Rejected, n-admitted)
				}
				// Once the probability reaches the cap, admissions run at 1−cap.
				if got, lo, hi := float64(admitted)/n, (1-want)*0.8, (1-want)*1.2+0.002; got < lo || got > hi {
					t.Errorf("admitted fraction %v, want about %v", got, 1-want)
				}
			})
		})
	}
}

func TestClientSendsKTimesCapacity(t *testing.T) {
	// Demand is 1000 requests a second; the backend accepts 200 a second
	// and answers 503 to the rest. The throttle settles where
	// p = (1000 − K·200) / 1000, so the client sends about K·200 a second.
	for _, k := range []float64{2, 1.5} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				th := New(Config{K: k, Seed: 3, MaxRejectionRate: 1})
				sent := 0
				for sec := range 600 {
					accepted := 0
					for range 1000 {
						p, err := th.Allow()
						if err != nil {
							continue
						}
						if sec >= 590 {
							sent++
						}
						if accepted < 200 {
							accepted++
							p.Done(nil)
						} else {
							p.Done(statusError(503))
						}
					}
					time.Sleep(time.Second)
				}
				if got, want := float64(sent)/10, k*200; math.Abs(got-want) > 0.15*want {
					t.Errorf("client sends %v a second, want about K·capacity = %v", got, want)
				}
			})
		})
	}
}

func TestOutcomeClassification(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		err      error
		req, acc uint64
	}{
		{"success", Config{}, nil, 1, 1},
		{"backend error", Config{}, errPlain, 1, 1},
		{"500 is an answer", Config{}, statusError(500), 1, 1},
		{"429", Config{}, statusError(429), 1, 0},
		{"503", Config{}, statusError(503), 1, 0},
		{"wrapped 503", Config{}, fmt.Errorf("get: %w", statusError(503)), 1, 0},
		{"joined 429", Config{}, errors.Join(errPlain, statusError(429)), 1, 0},
		{"deadline", Config{}, context.DeadlineExceeded, 1, 0},
		{"net timeout", Config{}, fmt.Errorf("dial: %w", timeoutError{}), 1, 0},
		{"timeout class", Config{}, classError("timeout"), 1, 0},
		{"rate_limited class", Config{}, classError("rate_limited"), 1, 0},
		{"service_unavailable class", Config{}, classError("service_unavailable"), 1, 0},
		{"other class", Config{}, classError("validation"), 1, 1},
		{"canceled counts as nothing", Config{}, fmt.Errorf("x: %w", context.Canceled), 0, 0},
		{"custom IsAccepted", Config{IsAccepted: func(error) bool { return false }}, errPlain, 1, 0},
		{"custom IsIgnored", Config{IsIgnored: func(err error) bool { return err == errPlain }}, errPlain, 0, 0},
		{"custom IsIgnored, canceled counts", Config{IsIgnored: func(error) bool { return false }}, context.Canceled, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				th := New(tt.cfg)
				if !call(th, tt.err) {
					t.Fatal("first request rejected")
				}
				if s := th.Stats(); s.Requests != tt.req || s.Accepts != tt.acc {
					t.Errorf("after Done(%v): requests %d, accepts %d; want %d, %d", tt.err, s.Requests, s.Accepts, tt.req, tt.acc)
				}
			})
		})
	}
}

func TestIsAcceptedWalkIsBounded(t *testing.T) {
	err := error(statusError(503))
	for range 100 {
		err = fmt.Errorf("layer: %w", err)
	}
	if !IsAccepted(err) {
		t.Error("a 503 under 100 wrappers was found: the walk is not bounded to 64 errors")
	}
	err = statusError(503)
	for range 10 {
		err = fmt.Errorf("layer: %w", err)
	}
	if IsAccepted(err) {
		t.Error("a 503 under 10 wrappers was not found")
	}
}

func TestWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{Window: 10 * time.Second, Buckets: 10, Seed: 1})
		for range 100 {
			call(th, statusError(503)) // rejected ones count as requests too
		}
		time.Sleep(5 * time.Second)
		admitted := 0
		for range 50 {
			if call(th, nil) {
				admitted++
			}
		}
		s := th.Stats()
		if s.Requests != 150 || s.Accepts != uint64(admitted) || admitted == 0 {
			t.Fatalf("at 5s: %+v (%d admitted), want 150 requests, the admitted ones accepted", s, admitted)
		}
		// At 10s the first bucket (the 503s) has left the window; the
		// accepts of 5s stay until 15s.
		time.Sleep(5*time.Second + time.Millisecond)
		s = th.Stats()
		if s.Requests != 50 || s.Accepts != uint64(admitted) {
			t.Errorf("at 10s: %+v, want only the 50 requests (%d accepted) of 5s", s, admitted)
		}
		time.Sleep(5 * time.Second)
		if s = th.Stats(); s.Requests != 0 || s.Accepts != 0 {
			t.Errorf("at 15s: %+v, want an empty window", s)
		}
		// Idle: the rotation timer is disarmed, so the throttle can be
		// collected and the bubble can end.
		synctest.Wait()
		if th.armed.Load() {
			t.Error("rotation timer still armed on an empty window")
		}
		// And it comes back on the next call.
		call(th, statusError(503))
		if !th.armed.Load() {
			t.Error("rotation timer not armed after a call")
		}
		time.Sleep(11 * time.Second)
		if s = th.Stats(); s.Requests != 0 {
			t.Errorf("after re-arming and 11s: %+v, want an empty window", s)
		}
	})
}

func TestRecoversAfterOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{Seed: 5})
		// A 30s outage at 100 requests a second, then a healthy backend.
		// Rejected requests count as requests that were not accepted, so the
		// probability falls as the admitted share doubles with each turn of
		// the window (K = 2): recovery takes a few windows, not one.
		var p []float64
		for sec := range 630 {
			var err error
			if sec < 30 {
				err = statusError(503)
			}
			for range 100 {
				call(th, err)
			}
			if sec%30 == 29 {
				p = append(p, th.Stats().RejectionProbability)
			}
			time.Sleep(time.Second)
		}
		if p[0] < 0.85 {
			t.Errorf("probability at the end of the outage %v, want near the 0.9 cap", p[0])
		}
		for i := 4; i < len(p); i += 4 { // every 2 minutes
			if p[i] >= p[i-4] && p[i-4] > 0 {
				t.Errorf("probability %v at %ds, not below %v two minutes before", p[i], 30*i+29, p[i-4])
			}
		}
		if last := p[len(p)-1]; last != 0 {
			t.Errorf("probability ten minutes after recovery %v, want 0; trace %v", last, p)
		}
	})
}

func TestSeedIsReproducible(t *testing.T) {
	pattern := func() string {
		var b strings.Builder
		th := New(Config{Seed: 42})
		for range 200 {
			if call(th, statusError(503)) {
				b.WriteByte('+')
			} else {
				b.WriteByte('-')
			}
		}
		return b.String()
	}
	var a, b string
	synctest.Test(t, func(t *testing.T) { a = pattern() })
	synctest.Test(t, func(t *testing.T) { b = pattern() })
	if a != b {
		t.Errorf("same seed, different rejections:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "-") || !strings.Contains(a, "+") {
		t.Errorf("pattern %s: want both admissions and rejections", a)
	}
}

func TestRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hooked []error
		th := New(Config{MaxRejectionRate: 1, Seed: 1, OnReject: func(err error) { hooked = append(hooked, err) }})
		var err error
		for err == nil {
			_, err = th.Allow()
			if err == nil {
				call(th, statusError(503))
			}
		}
		if !errors.Is(err, ErrThrottled) {
			t.Errorf("rejection %v does not match ErrThrottled", err)
		}
		var re interface{ Probability() float64 }
		if !errors.As(err, &re) || re.Probability() <= 0 {
			t.Errorf("rejection %v: no positive Probability", err)
		}
		if c := err.(interface{ ErrorClass() string }).ErrorClass(); c != "throttled" {
			t.Errorf("ErrorClass = %q, want throttled", c)
		}
		if _, custom := ErrThrottled.(interface{ ErrorClass() string }); custom {
			t.Error("ErrThrottled is a custom type; want a plain errors.New sentinel")
		}
		if err.Error() != "throttle: throttled" {
			t.Errorf("Error() = %q", err.Error())
		}
		if len(hooked) != int(th.Stats().Rejected) || len(hooked) == 0 || hooked[0] != err {
			t.Errorf("OnReject saw %d errors, Stats.Rejected %d", len(hooked), th.Stats().Rejected)
		}
	})
}

func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{MaxRejectionRate: 1, Seed: 9})
		v, err := Do(context.Background(), th, func(context.Context) (int, error) { return 7, nil })
		if v != 7 || err != nil {
			t.Fatalf("Do = %d, %v; want 7, nil", v, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		if _, err := Do(ctx, th, func(context.Context) (int, error) { called = true; return 0, nil }); !errors.Is(err, context.Canceled) || called {
			t.Errorf("Do on an ended ctx = %v, called %v; want context.Canceled without a call", err, called)
		}
		if err := th.Do(ctx, func(context.Context) error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
			t.Errorf("(*Throttle).Do on an ended ctx = %v, called %v", err, called)
		}
		if s := th.Stats(); s.Requests != 1 {
			t.Errorf("requests %d, want 1: a call never made counts nothing", s.Requests)
		}
		func() {
			defer func() {
				if recover() != "boom" {
					t.Error("panic did not pass through")
				}
			}()
			th.Do(context.Background(), func(context.Context) error { panic("boom") })
		}()
		if s := th.Stats(); s.Requests != 1 {
			t.Errorf("requests %d after a panic, want 1: a panic counts nothing", s.Requests)
		}
		// Drive the throttle to reject; Do must then not call fn.
		calls, rejected := 0, 0
		for range 1000 {
			err := th.Do(context.Background(), func(context.Context) error { calls++; return statusError(503) })
			if errors.Is(err, ErrThrottled) {
				rejected++
			}
		}
		if calls+rejected != 1000 || rejected == 0 {
			t.Errorf("calls %d + rejected %d, want 1000 with some rejected", calls, rejected)
		}
		if s := th.Stats(); s.Rejected != uint64(rejected) {
			t.Errorf("Stats.Rejected %d, Do saw %d", s.Rejected, rejected)
		}
	})
}

func TestZeroPermitDone(t *testing.T) {
	Permit{}.Done(nil) // must not panic
}

func TestConcurrentCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{Seed: 11})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 2000 {
					var err error
					if (g+i)%3 == 0 {
						err = statusError(503)
					}
					call(th, err)
				}
			})
		}
		wg.Wait()
		if s := th.Stats(); s.Requests != 16_000 || s.RejectionProbability != 0 {
			t.Errorf("Stats = %+v, want 16000 requests, none rejected (2/3 accepted)", s)
		}
	})
}

func TestConcurrentWithRotation(t *testing.T) {
	// Tiny buckets, and callers that wake on bucket boundaries with the
	// rotation timer, so that rotations run in parallel with calls (and
	// -race checks them).
	synctest.Test(t, func(t *testing.T) {
		th := New(Config{Window: 20 * time.Millisecond, Buckets: 4})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := range 2000 {
					var err error
					if i%2 == 0 {
						err = statusError(503)
					}
					call(th, err)
					if s := th.Stats(); s.Accepts > s.Requests || s.RejectionProbability > DefaultMaxRejectionRate {
						t.Errorf("inconsistent Stats %+v", s)
						return
					}
					if i%10 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		time.Sleep(25 * time.Millisecond)
		synctest.Wait()
		if s := th.Stats(); s.Requests != 0 || th.armed.Load() {
			t.Errorf("a window after the last call: %+v, timer armed %v; want empty and disarmed", s, th.armed.Load())
		}
	})
}

func TestAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		healthy := New(Config{})
		busy := New(Config{Seed: 1})
		unseeded := New(Config{})
		for range 100 {
			call(busy, statusError(503))
			call(unseeded, statusError(503))
		}
		var err503 error = statusError(503)
		wrapped := fmt.Errorf("get: %w", err503)
		tests := []struct {
			name string
			f    func()
		}{
			{"accept", func() { call(healthy, nil) }},
			{"backend error", func() { call(healthy, errPlain) }},
			{"overload, wrapped", func() { call(busy, wrapped) }},
			{"rejections, seeded", func() { call(busy, err503) }},
			{"rejections, math/rand", func() { call(unseeded, err503) }},
			{"stats", func() { _ = busy.Stats() }},
		}
		for _, tt := range tests {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Errorf("%s: %v allocs per call, want 0", tt.name, n)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // "" means valid
	}{
		{"zero", Config{}, ""},
		{"full", Config{K: 1.5, Window: time.Minute, Buckets: 60, MaxRejectionRate: 1}, ""},
		{"K below 1", Config{K: 0.5}, "K"},
		{"K negative", Config{K: -2}, "K"},
		{"K NaN", Config{K: math.NaN()}, "K"},
		{"K huge", Config{K: math.Inf(1)}, "K"},
		{"Window negative", Config{Window: -time.Second}, "Window"},
		{"Window huge", Config{Window: math.MaxInt64}, "Window"},
		{"Window too fine", Config{Window: 5 * time.Millisecond, Buckets: 10}, "Window"},
		{"Buckets negative", Config{Buckets: -1}, "Buckets"},
		{"Buckets huge", Config{Buckets: 1 << 30}, "Buckets"},
		{"MaxRejectionRate NaN", Config{MaxRejectionRate: math.NaN()}, "MaxRejectionRate"},
		{"MaxRejectionRate above 1", Config{MaxRejectionRate: 1.5}, "MaxRejectionRate"},
		{"MaxRejectionRate negative", Config{MaxRejectionRate: -0.1}, "MaxRejectionRate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "throttle: "+tt.field+" ") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.field)
			}
			defer func() {
				if r := recover(); r != err.Error() {
					t.Errorf("New panicked with %v, want %q", r, err.Error())
				}
			}()
			New(tt.cfg)
		})
	}
}

func FuzzConfig(f *testing.F) {
	f.Add(2.0, int64(2*time.Minute), 10, 0.9, uint64(0))
	f.Add(0.0, int64(0), 0, 0.0, uint64(1))
	f.Add(1e300, int64(-1), -5, math.NaN(), uint64(3))
	f.Add(1.0, int64(time.Millisecond), 1, 1.0, uint64(4))
	f.Fuzz(func(t *testing.T, k float64, window int64, buckets int, rate float64, seed uint64) {
		cfg := Config{K: k, Window: time.Duration(window), Buckets: buckets, MaxRejectionRate: rate, Seed: seed}
		err := cfg.Validate()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "throttle: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		synctest.Test(t, func(t *testing.T) {
			th := New(cfg)
			for i := range 50 {
				var e error
				if i%2 == 0 {
					e = statusError(503)
				}
				call(th, e)
			}
			s := th.Stats()
			d := cfg.withDefaults()
			if s.Accepts > s.Requests || !(s.RejectionProbability >= 0 && s.RejectionProbability <= d.MaxRejectionRate) {
				t.Fatalf("cfg %+v: inconsistent Stats %+v", cfg, s)
			}
		})
	})
}

func BenchmarkAllowDone(b *testing.B) {
	for _, tc := range []struct {
		name string
		err  error
		seed uint64
	}{
		{"accept", nil, 0},
		{"overload", statusError(503), 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			th := New(Config{Seed: tc.seed})
			b.ReportAllocs()
			for b.Loop() {
				if p, err := th.Allow(); err == nil {
					p.Done(tc.err)
				}
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			th := New(Config{Seed: tc.seed})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if p, err := th.Allow(); err == nil {
						p.Done(tc.err)
					}
				}
			})
		})
	}
}
