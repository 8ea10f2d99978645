package ratelimit

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type ctxKey struct{}

func TestObserversSeeRefusalsAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b []Event
		l := New(Config{Rate: 1, Burst: 1, MaxWait: 2 * time.Second, Observers: []Observer{
			ObserverFunc(func(e Event) { a = append(a, e) }),
			ObserverFunc(func(e Event) { b = append(b, e) }),
		}})
		ctx := context.WithValue(t.Context(), ctxKey{}, "c")
		l.Allow()       // the burst: no event
		l.Allow()       // refused
		_ = l.Wait(ctx) // waits 1s
		long := New(Config{Rate: 0.1, Burst: 1, MaxWait: time.Second, Observers: l.cfg.Observers})
		long.Allow()
		err := long.Wait(ctx) // 10s away, more than MaxWait: refused
		if !errors.Is(err, ErrLimited) {
			t.Fatalf("Wait = %v, want ErrLimited", err)
		}
		want := []struct {
			kind EventKind
			wait time.Duration
			ctx  bool
		}{{EventReject, 0, false}, {EventWait, time.Second, true}, {EventReject, 0, true}}
		for _, got := range [][]Event{a, b} {
			if len(got) != len(want) {
				t.Fatalf("got %+v, want %d events", got, len(want))
			}
			for i, e := range got {
				w := want[i]
				if e.Kind != w.kind || e.Wait != w.wait || (e.Ctx != nil) != w.ctx || (e.Kind == EventReject) != errors.Is(e.Err, ErrLimited) {
					t.Errorf("event %d = %+v, want %v wait %v", i, e, w.kind, w.wait)
				}
				if w.ctx && e.Ctx.Value(ctxKey{}) != "c" {
					t.Errorf("event %d lost the caller's context", i)
				}
			}
		}
	})
}
