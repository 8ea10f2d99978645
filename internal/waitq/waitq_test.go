package waitq

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// order lists the Seq of the queue's Waiters from head to tail, checking
// the backward links on the way.
func order(t *testing.T, q *Queue) []uint16 {
	t.Helper()
	var got []uint16
	var prev *Waiter
	for w := q.head; w != nil; w = w.next {
		if w.prev != prev {
			t.Fatalf("Waiter %d: prev link broken", w.Seq)
		}
		got = append(got, w.Seq)
		prev = w
	}
	if q.tail != prev {
		t.Fatal("tail is not the last Waiter")
	}
	if len(got) != q.Len() {
		t.Fatalf("Len = %d, walk found %d", q.Len(), len(got))
	}
	return got
}

func equal(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRemoveKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove []int // indexes into the four pushed Waiters
		want   []uint16
	}{
		{"none", nil, []uint16{0, 1, 2, 3}},
		{"head", []int{0}, []uint16{1, 2, 3}},
		{"middle", []int{2}, []uint16{0, 1, 3}},
		{"tail", []int{3}, []uint16{0, 1, 2}},
		{"all", []int{1, 3, 0, 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q Queue
			var ws []*Waiter
			for i := range 4 {
				w := q.Push()
				w.Seq = uint16(i)
				ws = append(ws, w)
			}
			for _, i := range tc.remove {
				q.Remove(ws[i])
			}
			if got := order(t, &q); !equal(got, tc.want) {
				t.Fatalf("queue = %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 && q.Head() != nil {
				t.Fatal("Head of an empty queue is not nil")
			}
		})
	}
}

func TestWaitOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound time.Duration
		act   func(q *Queue, w *Waiter, cancel context.CancelFunc)
		want  Outcome
	}{
		{"granted", time.Second, func(q *Queue, w *Waiter, _ context.CancelFunc) { q.Grant(w) }, Granted},
		{"granted, no bound", 0, func(q *Queue, w *Waiter, _ context.CancelFunc) { q.Grant(w) }, Granted},
		{"canceled", time.Second, func(_ *Queue, _ *Waiter, cancel context.CancelFunc) { cancel() }, Canceled},
		{"expired", time.Second, func(*Queue, *Waiter, context.CancelFunc) { time.Sleep(2 * time.Second) }, Expired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var q Queue
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w := q.Push()
				got := make(chan Outcome, 1)
				go func() { got <- w.Wait(ctx, tc.bound) }()
				synctest.Wait()
				tc.act(&q, w, cancel)
				if o := <-got; o != tc.want {
					t.Fatalf("Wait = %d, want %d", o, tc.want)
				}
				if tc.want == Granted != w.Granted {
					t.Fatalf("Granted = %v after outcome %d", w.Granted, tc.want)
				}
			})
		})
	}
}

// TestReuse: a Waiter released after a wait that ended each way waits
// again with a fresh bound and no stale grant or timer value.
func TestReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var q Queue
		ctx := context.Background()

		w := q.Push() // expires, then is found granted: Take
		if o := w.Wait(ctx, time.Second); o != Expired {
			t.Fatalf("first Wait = %d, want Expired", o)
		}
		q.Grant(w)
		w.Take()
		q.Release(w)

		w = q.Push()
		if w.Granted {
			t.Fatal("a reused Waiter is still Granted")
		}
		start := time.Now()
		if o := w.Wait(ctx, 3*time.Second); o != Expired {
			t.Fatalf("second Wait = %d, want Expired", o)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("second Wait took %v, want its own bound of 3s", d)
		}
		q.Remove(w)
		q.Release(w)

		w = q.Push()
		q.Grant(w)
		if o := w.Wait(ctx, time.Second); o != Granted {
			t.Fatalf("third Wait = %d, want Granted", o)
		}
		q.Release(w)
		time.Sleep(2 * time.Second) // a stopped timer sends nothing later
		w = q.Push()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if o := w.Wait(cctx, time.Second); o != Canceled {
			t.Fatalf("fourth Wait = %d, want Canceled", o)
		}
		q.Remove(w)
		if q.Len() != 0 {
			t.Fatalf("Len = %d, want 0", q.Len())
		}
	})
}

func TestPushAllocatesOnlyNewWaiters(t *testing.T) {
	var q Queue
	q.Release(q.Push()) // warm the pool
	allocs := testing.AllocsPerRun(100, func() {
		w := q.Push()
		q.Grant(w)
		w.Take()
		q.Release(w)
	})
	if allocs != 0 {
		t.Fatalf("Push/Grant/Release with a warm pool: %v allocs, want 0", allocs)
	}
}
