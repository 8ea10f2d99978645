package limit

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type events struct{ got []Event }

func (e *events) Observe(ev Event) { e.got = append(e.got, ev) }

func TestObserversSeeAcquireWaitRejectAndLimitChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &events{}, &events{}
		changes := 0
		l := New(Config{Algorithm: AIMD, InitialLimit: 2, MinLimit: 1, MaxQueued: 1, MaxWait: 3 * time.Second,
			Window: time.Nanosecond, WindowSamples: 1,
			OnLimitChange: func(int, int) { changes++ },
			Observers:     []Observer{a, b}})
		ctx := context.Background()
		t1, _ := l.Acquire(ctx)
		t2, _ := l.Acquire(ctx)
		done := make(chan Token)
		go func() { tok, _ := l.Acquire(ctx); done <- tok }() // queues
		synctest.Wait()
		if _, err := l.Acquire(ctx); !errors.Is(err, ErrLimitExceeded) {
			t.Fatalf("fourth Acquire: %v, want ErrLimitExceeded", err)
		}
		time.Sleep(time.Second)
		t1.Done(errors.New("overloaded")) // a drop: AIMD lowers the limit
		t2.Ignore()
		t3 := <-done
		t3.Ignore()

		kinds := []EventKind{EventAcquire, EventAcquire, EventReject, EventLimitChange, EventAcquire}
		for _, r := range []*events{a, b} {
			if len(r.got) != len(kinds) {
				t.Fatalf("got %d events %+v, want %d", len(r.got), r.got, len(kinds))
			}
			for i, e := range r.got {
				if e.Kind != kinds[i] {
					t.Errorf("event %d: %v, want %v", i, e.Kind, kinds[i])
				}
			}
			if e := r.got[3]; e.From != 2 || e.To != 1 || changes != 1 {
				t.Errorf("limit change %d→%d (hook %d), want 2→1 once", e.From, e.To, changes)
			}
			if e := r.got[4]; e.Wait != time.Second || e.Ctx != ctx {
				t.Errorf("queued acquire waited %v, want 1s", e.Wait)
			}
			if e := r.got[0]; e.Wait != 0 {
				t.Errorf("free slot waited %v, want 0", e.Wait)
			}
		}
	})
}

func TestObservedAcquireAllocatesNothing(t *testing.T) {
	l := New(Config{Observers: []Observer{ObserverFunc(func(Event) {})}})
	ctx := context.Background()
	if a := testing.AllocsPerRun(100, func() {
		tok, err := l.Acquire(ctx)
		if err == nil {
			tok.Done(nil)
		}
	}); a != 0 {
		t.Errorf("Acquire+Done with an observer allocates %v times, want 0", a)
	}
}
