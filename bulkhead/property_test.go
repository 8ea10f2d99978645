package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// FuzzInterleavings runs goroutines that acquire, try, cancel, time out and
// release at random against one small bulkhead, with yields between the
// steps that a seed chooses, so every run takes different interleavings of
// the lock-free paths. Throughout, no more than MaxConcurrent callers hold
// a slot; at the end every call is accounted for exactly once in Stats,
// nothing is held or queued, and no caller is left waiting: a queued
// caller whose slot was lost would block for ever, which synctest reports
// as a deadlock.
func FuzzInterleavings(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, uint8(i%3+1), uint8(i%4), uint8(i%2))
	}
	f.Fuzz(func(t *testing.T, seed uint64, limit, queued, timed uint8) {
		interleave(t, seed, int(limit%4)+1, int(queued%4), timed%2 == 1)
	})
}

// TestInterleavings is FuzzInterleavings over fixed seeds at 1, 2 and 4 Ps.
func TestInterleavings(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("procs=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for seed := range uint64(24) {
				interleave(t, seed, int(seed%3)+1, int(seed%4), seed%2 == 1)
			}
		})
	}
}

func interleave(t *testing.T, seed uint64, limit, maxQueued int, timed bool) {
	if maxQueued == 0 {
		maxQueued = NoQueue
	}
	queueTimeout := NoQueueTimeout
	if timed {
		queueTimeout = time.Millisecond
	}
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{MaxConcurrent: limit, MaxQueued: maxQueued, QueueTimeout: queueTimeout})
		const workers, rounds = 6, 60
		var held atomic.Int64
		var want struct{ acquired, rejected, timeouts, canceled atomic.Uint64 }
		var wg sync.WaitGroup
		for w := range uint64(workers) {
			r := rand.New(rand.NewPCG(seed, w))
			yield := func() {
				for range r.IntN(3) {
					runtime.Gosched()
				}
			}
			wg.Go(func() {
				for range rounds {
					ctx, cancel := context.WithCancel(context.Background())
					var err error
					switch op := r.IntN(8); {
					case op == 0:
						if !b.TryAcquire() {
							err = ErrFull
						}
					case op == 1:
						cancel() // already done: counts as canceled
						err = b.Acquire(ctx)
					case op == 2:
						n := r.IntN(3)
						go func() {
							for range n {
								runtime.Gosched()
							}
							cancel()
						}()
						err = b.Acquire(ctx)
					default:
						err = b.Acquire(ctx)
					}
					cancel()
					switch {
					case err == nil:
						want.acquired.Add(1)
						if n := held.Add(1); n > int64(limit) {
							t.Errorf("%d callers hold a slot, limit %d", n, limit)
						}
						yield()
						if r.IntN(4) == 0 {
							time.Sleep(time.Millisecond / 2)
						}
						held.Add(-1)
						b.Release()
					case errors.Is(err, ErrQueueTimeout):
						want.rejected.Add(1)
						want.timeouts.Add(1)
					case errors.Is(err, ErrFull):
						want.rejected.Add(1)
					case errors.Is(err, context.Canceled):
						want.canceled.Add(1)
					default:
						t.Errorf("unexpected error %v", err)
					}
					yield()
				}
			})
		}
		wg.Wait()
		got := b.Stats()
		wantStats := Stats{
			Acquired:      want.acquired.Load(),
			Rejected:      want.rejected.Load(),
			QueueTimeouts: want.timeouts.Load(),
			Canceled:      want.canceled.Load(),
		}
		if got != wantStats {
			t.Fatalf("seed %d: Stats = %+v, want %+v", seed, got, wantStats)
		}
		if s := b.state.Load(); s != 0 {
			t.Fatalf("seed %d: state word %#x at rest, want 0", seed, s)
		}
		// Every slot is free again: all of them can be taken at once.
		for i := range limit {
			if !b.TryAcquire() {
				t.Fatalf("seed %d: slot %d of %d lost", seed, i+1, limit)
			}
		}
	})
}

// TestClaimTakenBackHandsOver stops the bulkhead in the moment between a
// Release's subtraction and its hand-off (one waiter queued, its slot
// free), and sends a newcomer through the fast path: the newcomer's claim
// fails, and taking it back must serve the queue, not leave the waiter
// stranded behind a free slot.
func TestClaimTakenBackHandsOver(t *testing.T) {
	for _, try := range []bool{false, true} {
		t.Run(fmt.Sprint("TryAcquire=", try), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(Config{MaxConcurrent: 1, QueueTimeout: NoQueueTimeout})
				if err := b.Acquire(context.Background()); err != nil {
					t.Fatal(err)
				}
				waiter := startHolder(context.Background(), b, 1)
				synctest.Wait()
				b.state.Add(^uint64(0)) // a Release, up to its subtraction
				var newcomer *holder
				if try {
					if b.TryAcquire() {
						t.Fatal("TryAcquire took the slot owed to the queue")
					}
				} else {
					newcomer = startHolder(context.Background(), b, 2)
				}
				synctest.Wait()
				if ok, err := waiter.done(); !ok || err != nil {
					t.Fatalf("waiter: %v, %v; want the free slot", err, ok)
				}
				close(waiter.release)
				synctest.Wait()
				if newcomer != nil {
					if ok, err := newcomer.done(); !ok || err != nil {
						t.Fatalf("newcomer: %v, %v; want the slot next", err, ok)
					}
					close(newcomer.release)
					synctest.Wait()
				}
				if s := b.state.Load(); s != 0 {
					t.Fatalf("state word %#x at rest, want 0", s)
				}
			})
		})
	}
}
