package bulkhead

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type recorder struct{ events []Event }

func (r *recorder) Observe(e Event) { r.events = append(r.events, e) }

type ctxKey struct{}

func TestObserversSeeAcquireWaitAndRejections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, c := &recorder{}, &recorder{}
		b := New(Config{MaxConcurrent: 1, MaxQueued: 1, QueueTimeout: 3 * time.Second, Observers: []Observer{a, c}})
		ctx := context.WithValue(t.Context(), ctxKey{}, "req-1")
		if err := b.Acquire(ctx); err != nil { // at once
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- b.Acquire(ctx) }() // queues, served after 2s
		synctest.Wait()
		if err := b.Acquire(ctx); !errors.Is(err, ErrFull) {
			t.Fatalf("third Acquire = %v, want ErrFull", err)
		}
		if b.TryAcquire() {
			t.Fatal("TryAcquire succeeded with every slot taken")
		}
		time.Sleep(2 * time.Second)
		b.Release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		go func() { done <- b.Acquire(ctx) }() // queues, times out after 3s
		synctest.Wait()
		time.Sleep(3 * time.Second)
		if err := <-done; !errors.Is(err, ErrQueueTimeout) {
			t.Fatalf("Acquire = %v, want ErrQueueTimeout", err)
		}
		b.Release()
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		b.Acquire(canceled)

		want := []struct {
			kind EventKind
			wait time.Duration
			err  error
		}{
			{EventAcquire, 0, nil},
			{EventReject, 0, ErrFull},
			{EventReject, 0, ErrFull},
			{EventAcquire, 2 * time.Second, nil},
			{EventReject, 3 * time.Second, ErrQueueTimeout},
			{EventReject, 0, context.Canceled},
		}
		for _, r := range []*recorder{a, c} {
			if len(r.events) != len(want) {
				t.Fatalf("got %d events %+v, want %d", len(r.events), r.events, len(want))
			}
			for i, e := range r.events {
				w := want[i]
				if e.Kind != w.kind || e.Wait != w.wait || !errors.Is(e.Err, w.err) || (w.err == nil) != (e.Err == nil) {
					t.Errorf("event %d = %v wait %v err %v, want %v wait %v err %v", i, e.Kind, e.Wait, e.Err, w.kind, w.wait, w.err)
				}
				if i != 2 && e.Ctx.Value(ctxKey{}) != "req-1" { // 2: TryAcquire has no context
					t.Errorf("event %d: Ctx does not carry the caller's values", i)
				}
			}
		}
	})
}

func TestAcquireAllocatesNothing(t *testing.T) {
	for _, obs := range [][]Observer{nil, {ObserverFunc(func(Event) {})}} {
		b := New(Config{MaxConcurrent: 1, Observers: obs})
		ctx := context.Background()
		if a := testing.AllocsPerRun(100, func() {
			if b.Acquire(ctx) == nil {
				b.Release()
			}
		}); a != 0 {
			t.Errorf("%d observers: Acquire+Release allocates %v times, want 0", len(obs), a)
		}
	}
}
