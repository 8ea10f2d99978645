package throttle

import (
	"context"
	"errors"
	"testing"
)

func TestObserversSeeEveryRejection(t *testing.T) {
	var a, b []Event
	hooked := 0
	th := New(Config{
		OnReject: func(error) { hooked++ },
		Observers: []Observer{
			ObserverFunc(func(e Event) { a = append(a, e) }),
			ObserverFunc(func(e Event) { b = append(b, e) }),
		},
	})
	down := context.DeadlineExceeded
	for range 1000 {
		if p, err := th.Allow(); err == nil {
			p.Done(down)
		}
	}
	n := th.Stats().Rejected
	if n == 0 || uint64(len(a)) != n || uint64(len(b)) != n || uint64(hooked) != n {
		t.Fatalf("%d rejections; observers saw %d and %d, hook %d", n, len(a), len(b), hooked)
	}
	for i, e := range a {
		if e.Kind != EventReject || !errors.Is(e.Err, ErrThrottled) || !(e.Probability > 0 && e.Probability <= 1) {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
}
