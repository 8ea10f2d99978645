package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	eapache "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/seed94f50169/resilience/breaker"
)

// The breaker benchmarks run the same three paths through every library:
// a successful call (serial and RunParallel) and a call rejected while open.
// Each library is configured as close to the same policy as it allows:
// 5 consecutive failures open it, 60s (or an hour, for rejections) open.

var errBreakerBench = errors.New("bench: failure")

func nop() error { return nil }

// breakerCase is one library's call: run makes one call, and open (if set)
// drives a fresh breaker into the open state first.
type breakerCase struct {
	name string
	new  func(b *testing.B, open bool) func() error
}

var hystrixSeq int

func hystrixCommand(b *testing.B) string {
	hystrixSeq++
	name := "bench-" + b.Name() + "-" + string(rune('a'+hystrixSeq%26)) + time.Now().Format("150405.000000000")
	hystrix.ConfigureCommand(name, hystrix.CommandConfig{
		Timeout:                60_000,
		MaxConcurrentRequests:  1 << 20,
		RequestVolumeThreshold: 1,
		ErrorPercentThreshold:  1,
		SleepWindow:            3_600_000,
	})
	return name
}

var breakerCases = []breakerCase{
	{"resilience", func(b *testing.B, open bool) func() error {
		br := breaker.New(breaker.Config{OpenTimeout: time.Hour})
		if open {
			br.ForceOpen()
		}
		return func() error {
			p, err := br.Allow()
			if err != nil {
				return err
			}
			p.Done(nil)
			return nil
		}
	}},
	{"resilience-Do", func(b *testing.B, open bool) func() error {
		br := breaker.New(breaker.Config{OpenTimeout: time.Hour})
		if open {
			br.ForceOpen()
		}
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		return func() error { return br.Do(ctx, fn) }
	}},
	{"gobreaker", func(b *testing.B, open bool) func() error {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Timeout: time.Hour})
		if open {
			for range 6 {
				cb.Execute(func() (struct{}, error) { return struct{}{}, errBreakerBench })
			}
		}
		fn := func() (struct{}, error) { return struct{}{}, nil }
		return func() error { _, err := cb.Execute(fn); return err }
	}},
	{"gobreaker-twostep", func(b *testing.B, open bool) func() error {
		cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{Timeout: time.Hour})
		if open {
			for range 6 {
				if done, err := cb.Allow(); err == nil {
					done(errBreakerBench)
				}
			}
		}
		return func() error {
			done, err := cb.Allow()
			if err != nil {
				return err
			}
			done(nil)
			return nil
		}
	}},
	{"failsafe-permit", func(b *testing.B, open bool) func() error {
		cb := circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
		if open {
			cb.Open()
		}
		return func() error {
			if !cb.TryAcquirePermit() {
				return circuitbreaker.ErrOpen
			}
			cb.RecordSuccess()
			return nil
		}
	}},
	{"failsafe-executor", func(b *testing.B, open bool) func() error {
		cb := circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
		if open {
			cb.Open()
		}
		ex := failsafe.With[any](cb)
		return func() error { return ex.Run(nop) }
	}},
	{"eapache", func(b *testing.B, open bool) func() error {
		// eapache opens after errorThreshold errors within its timeout window.
		cb := eapache.New(5, 1, time.Hour)
		if open {
			for range 5 {
				cb.Run(func() error { return errBreakerBench })
			}
		}
		return func() error { return cb.Run(nop) }
	}},
	{"hystrix", func(b *testing.B, open bool) func() error {
		name := hystrixCommand(b)
		hystrix.Do(name, nop, nil) // the first call of a command sets up its metrics
		if open {
			// hystrix updates its metrics on another goroutine: fail until
			// the circuit reports open.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
				hystrix.Do(name, func() error { return errBreakerBench }, nil)
				if c, _, _ := hystrix.GetCircuit(name); c.IsOpen() {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		return func() error { return hystrix.Do(name, nop, nil) }
	}},
}

func BenchmarkBreakerSuccess(b *testing.B) {
	for _, c := range breakerCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new(b, false)
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBreakerSuccessParallel(b *testing.B) {
	for _, c := range breakerCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new(b, false)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkBreakerRejected(b *testing.B) {
	for _, c := range breakerCases {
		b.Run(c.name, func(b *testing.B) {
			call := c.new(b, true)
			if call() == nil {
				b.Fatal("breaker did not open")
			}
			b.ReportAllocs()
			for b.Loop() {
				if call() == nil {
					b.Fatal("call allowed while open")
				}
			}
		})
	}
}

// BenchmarkBreakerWindow is the successful call of a rate-based breaker
// (failure rate over a sliding window), which no peer above offers with the
// same cost model; it shows the window keeps the path allocation-free.
func BenchmarkBreakerWindow(b *testing.B) {
	windows := []struct {
		name string
		cfg  breaker.Config
	}{
		{"resilience-count", breaker.Config{FailureRateThreshold: 0.5, WindowSize: 100}},
		{"resilience-time", breaker.Config{FailureRateThreshold: 0.5, WindowDuration: time.Minute}},
		{"resilience-slow", breaker.Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5}},
	}
	for _, w := range windows {
		br := breaker.New(w.cfg)
		call := func() error {
			p, err := br.Allow()
			if err != nil {
				return err
			}
			p.Done(nil)
			return nil
		}
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(w.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	b.Run("failsafe-time", func(b *testing.B) {
		cb := circuitbreaker.NewBuilder[any]().WithFailureRateThreshold(0.5, 100, time.Minute).WithDelay(time.Hour).Build()
		b.ReportAllocs()
		for b.Loop() {
			if !cb.TryAcquirePermit() {
				b.Fatal("rejected")
			}
			cb.RecordSuccess()
		}
	})
}
