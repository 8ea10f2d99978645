package hedge_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/hedge"
)

// oneHedge is a Budget that allows a single hedge.
type oneHedge struct {
	mu   sync.Mutex
	left int
}

func (b *oneHedge) Deposit() {}
func (b *oneHedge) Withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left--
	return b.left >= 0
}

type key struct{}

func TestObserversSeeHedgesAndRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []hedge.Event
		p := &hedge.Policy{Delay: 10 * time.Millisecond, MaxHedges: 2, Budget: &oneHedge{left: 1},
			Observers: []hedge.Observer{hedge.ObserverFunc(func(e hedge.Event) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, e)
			})}}
		ctx := context.WithValue(context.Background(), key{}, "k")
		hedge.Do(ctx, p, func(ctx context.Context) (int, error) {
			select {
			case <-time.After(50 * time.Millisecond):
				return 1, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		})
		want := []hedge.Event{
			{Kind: hedge.EventHedge, Attempt: 2, Delay: 10 * time.Millisecond},
			{Kind: hedge.EventRefused, Attempt: 3, Delay: 10 * time.Millisecond},
		}
		if len(got) != len(want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i, e := range got {
			if e.Ctx == nil || e.Ctx.Value(key{}) != "k" {
				t.Errorf("event %d lost the caller's context", i)
			}
			e.Ctx = nil
			if e != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, e, want[i])
			}
		}
	})
}
