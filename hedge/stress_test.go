package hedge_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/hedge"
)

// TestConcurrentCalls runs many calls at once whose attempts end around
// the delay, some failing, so that the pooled timers
// are reused across fast and slow paths; every call must come back with a
// result from one of its attempts.
func TestConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &hedge.Policy{Delay: 10 * time.Millisecond, MaxHedges: 2}
		errOdd := errors.New("odd")
		var wg sync.WaitGroup
		var bad atomic.Int32
		for g := range 50 {
			wg.Go(func() {
				for i := range 100 {
					var n atomic.Int32
					lat := time.Duration((g*7+i*13)%25) * time.Millisecond // 0 to 24ms: both sides of the delay
					v, err := hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
						a := int(n.Add(1))
						select {
						case <-time.After(lat / time.Duration(a)):
						case <-ctx.Done():
							return 0, ctx.Err()
						}
						if (g+i)%5 == 0 {
							return 0, errOdd
						}
						return a, nil
					})
					if (g+i)%5 == 0 && !errors.Is(err, errOdd) || (g+i)%5 != 0 && (err != nil || v < 1 || v > 3) {
						bad.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Errorf("%d calls came back wrong", bad.Load())
		}
		if s := p.Stats(); s.Calls != 5000 || s.Hedges == 0 || s.Won == 0 {
			t.Errorf("stats %+v: want 5000 calls, some hedged, some hedges won", s)
		}
	})
}

// TestRealTimers races the first attempt against a real 1µs timer, so
// that it returns as often just before the timer fires as just after. It
// asserts only results, never timing: it exercises the handover between
// the caller and the timer under the race detector.
func TestRealTimers(t *testing.T) {
	p := &hedge.Policy{Delay: time.Microsecond}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 4 {
		wg.Go(func() {
			for i := range 2000 {
				v, err := hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					for range i % 8 {
						runtime.Gosched()
					}
					return 1, nil
				})
				if err != nil || v != 1 {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d calls came back wrong", bad.Load())
	}
	t.Logf("%+v", p.Stats())
}
