package bench

import (
	"context"
	"time"

	"testing"

	avast "github.com/avast/retry-go/v4"
	avast5 "github.com/avast/retry-go/v5"
	cenkalti "github.com/cenkalti/backoff/v5"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	sethvargo "github.com/sethvargo/go-retry"

	"github.com/seed94f50169/resilience/retry"
)

// Every library is configured alike where it can be: 3 attempts, 100ms
// doubling to at most 5s, with jitter. The operation succeeds at once, so
// the figures are each library's overhead on the common path.

func succeed() (int, error) { return 1, nil }

func succeedCtx(context.Context) (int, error) { return 1, nil }

type retryCase struct {
	name string
	// setup runs once per goroutine and returns the call to measure.
	setup func(ctx context.Context) func() (int, error)
}

var retryCases = []retryCase{
	{"resilience", func(ctx context.Context) func() (int, error) {
		p := retry.Policy{} // 3 attempts, 100ms ×2 max 5s, full jitter
		return func() (int, error) { return retry.Do(ctx, p, succeedCtx) }
	}},
	{"cenkalti", func(ctx context.Context) func() (int, error) {
		return func() (int, error) {
			e := cenkalti.NewExponentialBackOff() // stateful: one per call
			e.InitialInterval, e.Multiplier, e.MaxInterval = 100*time.Millisecond, 2, 5*time.Second
			return cenkalti.Retry(ctx, succeed, cenkalti.WithBackOff(e), cenkalti.WithMaxTries(3))
		}
	}},
	{"avast", func(ctx context.Context) func() (int, error) {
		return func() (int, error) {
			return avast.DoWithData(succeed, avast.Context(ctx), avast.Attempts(3),
				avast.Delay(100*time.Millisecond), avast.MaxDelay(5*time.Second))
		}
	}},
	{"avast-v5", func(ctx context.Context) func() (int, error) {
		// v5 builds a retrier from the options once and reuses it.
		r := avast5.NewWithData[int](avast5.Context(ctx), avast5.Attempts(3),
			avast5.Delay(100*time.Millisecond), avast5.MaxDelay(5*time.Second))
		return func() (int, error) { return r.Do(succeed) }
	}},
	{"sethvargo", func(ctx context.Context) func() (int, error) {
		return func() (int, error) {
			// Backoffs are stateful iterators: one per call.
			bo := sethvargo.WithMaxRetries(2, sethvargo.WithCappedDuration(5*time.Second,
				sethvargo.WithFullJitter(sethvargo.NewExponential(100*time.Millisecond))))
			return sethvargo.DoValue(ctx, bo, succeedCtx)
		}
	}},
	{"failsafe", func(ctx context.Context) func() (int, error) {
		rp := retrypolicy.NewBuilder[int]().WithMaxAttempts(3).
			WithBackoff(100*time.Millisecond, 5*time.Second).WithJitterFactor(0.25).Build()
		exec := failsafe.With(rp).WithContext(ctx) // built once, reused
		return func() (int, error) { return exec.Get(succeed) }
	}},
}

func BenchmarkRetrySuccess(b *testing.B) {
	for _, c := range retryCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			call := c.setup(context.Background())
			n := 0
			for b.Loop() {
				v, err := call()
				if err != nil {
					b.Fatal(err)
				}
				n += v
			}
			sinkInt = n
		})
	}
}

func BenchmarkRetrySuccessParallel(b *testing.B) {
	for _, c := range retryCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				call := c.setup(context.Background())
				for pb.Next() {
					if _, err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
