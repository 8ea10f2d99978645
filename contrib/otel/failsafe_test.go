package resotel_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// BenchmarkFailsafe is the peer of BenchmarkDo: failsafe-go with the same
// three policies (retry, breaker, bulkhead), without and with listeners
// that count successes and failures in atomics, as the Observer does.
func BenchmarkFailsafe(b *testing.B) {
	executor := func() failsafe.Executor[int] {
		return failsafe.With[int](
			retrypolicy.NewBuilder[int]().WithMaxAttempts(3).Build(),
			circuitbreaker.NewBuilder[int]().WithFailureThreshold(5).WithDelay(time.Minute).Build(),
			fsbulkhead.NewBuilder[int](10).Build(),
		)
	}
	fn := func() (int, error) { return 1, nil }
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		e := executor()
		for b.Loop() {
			e.Get(fn)
		}
	})
	b.Run("listener", func(b *testing.B) {
		b.ReportAllocs()
		var success, failure atomic.Int64
		e := executor().
			OnSuccess(func(failsafe.ExecutionDoneEvent[int]) { success.Add(1) }).
			OnFailure(func(failsafe.ExecutionDoneEvent[int]) { failure.Add(1) })
		for b.Loop() {
			e.Get(fn)
		}
		if success.Load() == 0 {
			b.Fatal("listener not called")
		}
	})
}
