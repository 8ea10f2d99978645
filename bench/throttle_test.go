package bench

import (
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivethrottler"
	"github.com/go-kratos/aegis/circuitbreaker/sre"
	zerobreaker "github.com/zeromicro/go-zero/core/breaker"
	"github.com/zeromicro/go-zero/core/logx"

	"github.com/seed94f50169/resilience/throttle"
)

// The throttle benchmarks run one request's admission and outcome (Allow
// then the success or failure report) through each client-side adaptive
// throttler, on two paths: a healthy backend (every request accepted, the
// path a throttle is on nearly all the time) and an overloaded one (every
// request fails with an overload error, so the rejection probability sits
// at its cap and most requests are refused locally). Each library is set as
// close to the same policy as it allows: K = 2 (accept rate 0.5), a 2 minute
// window, a 0.9 cap. go-zero's breaker has fixed parameters (K = 1.5 over
// 10 s, no cap); it is measured as it ships.

// go-zero's breaker logs every rejection; the benchmarks measure the breaker.
func init() { logx.Disable() }

var errOverload = overloadError{}

type overloadError struct{}

func (overloadError) Error() string   { return "503 service unavailable" }
func (overloadError) StatusCode() int { return 503 }

// throttleCase is one library's request: call makes one, reporting fail.
type throttleCase struct {
	name string
	new  func() func(fail bool) bool
}

var throttleCases = []throttleCase{
	{"resilience", func() func(bool) bool {
		t := throttle.New(throttle.Config{})
		return func(fail bool) bool {
			p, err := t.Allow()
			if err != nil {
				return false
			}
			if fail {
				p.Done(errOverload)
			} else {
				p.Done(nil)
			}
			return true
		}
	}},
	{"failsafe-go", func() func(bool) bool {
		t := adaptivethrottler.NewBuilder[any]().
			WithFailureRateThreshold(0.5, 0, 2*time.Minute).
			WithMaxRejectionRate(0.9).
			Build()
		return func(fail bool) bool {
			if t.AcquirePermit() != nil {
				return false
			}
			if fail {
				t.RecordFailure()
			} else {
				t.RecordSuccess()
			}
			return true
		}
	}},
	{"go-zero", func() func(bool) bool {
		br := zerobreaker.NewBreaker()
		return func(fail bool) bool {
			p, err := br.Allow()
			if err != nil {
				return false
			}
			if fail {
				p.Reject("overload")
			} else {
				p.Accept()
			}
			return true
		}
	}},
	{"kratos-aegis", func() func(bool) bool {
		br := sre.NewBreaker(sre.WithSuccess(0.5), sre.WithWindow(2*time.Minute), sre.WithBucket(10))
		return func(fail bool) bool {
			if br.Allow() != nil {
				return false
			}
			if fail {
				br.MarkFailed()
			} else {
				br.MarkSuccess()
			}
			return true
		}
	}},
}

func BenchmarkThrottleHealthy(b *testing.B) {
	for _, c := range throttleCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new()
			b.ReportAllocs()
			for b.Loop() {
				call(false)
			}
		})
	}
}

func BenchmarkThrottleHealthyParallel(b *testing.B) {
	for _, c := range throttleCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(false)
				}
			})
		})
	}
}

func BenchmarkThrottleOverloaded(b *testing.B) {
	for _, c := range throttleCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new()
			for range 10_000 { // reach the cap first
				call(true)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				call(true)
			}
		})
	}
}

// TestThrottlePeersAgree checks that every library under benchmark lets a
// healthy backend's requests through and throttles an overloaded one, so
// the benchmarks compare the same work.
func TestThrottlePeersAgree(t *testing.T) {
	for _, c := range throttleCases {
		call := c.new()
		for i := range 1000 {
			if !call(false) {
				t.Fatalf("%s: healthy request %d throttled", c.name, i)
			}
		}
		call = c.new()
		for range 10_000 {
			call(true)
		}
		sent := 0
		for range 10_000 {
			if call(true) {
				sent++
			}
		}
		if sent > 5000 {
			t.Errorf("%s: %d of 10000 requests to an overloaded backend sent, want most throttled", c.name, sent)
		}
		t.Logf("%s: %d of 10000 sent when overloaded", c.name, sent)
	}
}
