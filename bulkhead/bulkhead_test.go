package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// holder runs Acquire in its own goroutine and keeps the slot until told.
type holder struct {
	id      int
	cancel  context.CancelFunc
	result  chan error
	release chan struct{}
}

func startHolder(ctx context.Context, b *Bulkhead, id int) *holder {
	ctx, cancel := context.WithCancel(ctx)
	h := &holder{id: id, cancel: cancel, result: make(chan error, 1), release: make(chan struct{})}
	go func() {
		err := b.Acquire(ctx)
		h.result <- err
		if err == nil {
			<-h.release
			b.Release()
		}
	}()
	return h
}

// done reports the Acquire result if Acquire has returned.
func (h *holder) done() (bool, error) {
	select {
	case err := <-h.result:
		h.result <- err
		return true, err
	default:
		return false, nil
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"zero", Config{}, ""},
		{"explicit", Config{MaxConcurrent: 3, MaxQueued: 7, QueueTimeout: time.Second}, ""},
		{"no queue", Config{MaxQueued: NoQueue, QueueTimeout: NoQueueTimeout}, ""},
		{"huge timeout", Config{QueueTimeout: 1<<63 - 1}, ""},
		{"max limits", Config{MaxConcurrent: MaxLimit, MaxQueued: MaxLimit}, ""},
		{"negative concurrency", Config{MaxConcurrent: -1}, "bulkhead: MaxConcurrent"},
		{"huge concurrency", Config{MaxConcurrent: MaxLimit + 1}, "bulkhead: MaxConcurrent"},
		{"huge queue", Config{MaxQueued: MaxLimit + 1}, "bulkhead: MaxQueued"},
		{"negative queue", Config{MaxQueued: -2}, "bulkhead: MaxQueued must be NoQueue (-1) or in [0, 2147483647], got -2"},
		{"very negative queue", Config{MaxQueued: -1 << 40}, "bulkhead: MaxQueued"},
		{"negative timeout", Config{QueueTimeout: -time.Second}, "bulkhead: QueueTimeout must be NoQueueTimeout (-1ns) or not negative, got -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				New(tt.cfg) // must not panic
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tt.wantErr)
			}
			defer func() {
				if r := recover(); r != err.Error() {
					t.Fatalf("New panicked with %v, want %q", r, err.Error())
				}
			}()
			New(tt.cfg)
		})
	}
}

func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{})
		ctx := context.Background()
		for i := range 10 {
			if err := b.Acquire(ctx); err != nil {
				t.Fatalf("Acquire %d: %v", i, err)
			}
		}
		var hs []*holder
		for i := range 100 {
			hs = append(hs, startHolder(ctx, b, i))
		}
		synctest.Wait()
		if s := b.Stats(); s.InFlight != 10 || s.Queued != 100 {
			t.Fatalf("Stats = %+v, want 10 in flight, 100 queued", s)
		}
		if err := b.Acquire(ctx); !errors.Is(err, ErrFull) {
			t.Fatalf("Acquire with a full queue = %v, want ErrFull", err)
		}
		start := time.Now()
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		if ok, _ := hs[0].done(); ok {
			t.Fatal("queued caller gave up before the 5s default QueueTimeout")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		for _, h := range hs {
			if _, err := h.done(); !errors.Is(err, ErrQueueTimeout) {
				t.Fatalf("waiter %d: %v, want ErrQueueTimeout", h.id, err)
			}
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("timed out after %v, want 5s", got)
		}
		for range 10 {
			b.Release()
		}
		want := Stats{Acquired: 10, Rejected: 101, QueueTimeouts: 100}
		if s := b.Stats(); s != want {
			t.Fatalf("Stats = %+v, want %+v", s, want)
		}
	})
}

// rejection is what callers reach a rejection's hints through.
type rejection interface {
	error
	RetryAfter() time.Duration
	ErrorClass() string
}

func TestRejectedError(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantRetry time.Duration
	}{
		{"default", Config{MaxConcurrent: 1, MaxQueued: NoQueue}, 5 * time.Second},
		{"custom", Config{MaxConcurrent: 1, MaxQueued: NoQueue, QueueTimeout: time.Second}, time.Second},
		{"no queue timeout", Config{MaxConcurrent: 1, MaxQueued: NoQueue, QueueTimeout: NoQueueTimeout}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.cfg)
			if err := b.Acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			err := b.Acquire(context.Background())
			if !errors.Is(err, ErrFull) || errors.Is(err, ErrQueueTimeout) {
				t.Fatalf("err = %v, want ErrFull only", err)
			}
			var re rejection
			if !errors.As(err, &re) {
				t.Fatalf("err %T has no RetryAfter and ErrorClass", err)
			}
			if re.ErrorClass() != "bulkhead_full" || re.RetryAfter() != tt.wantRetry || re.Error() != "bulkhead: full" {
				t.Fatalf("got class %q, RetryAfter %v, text %q", re.ErrorClass(), re.RetryAfter(), re.Error())
			}
			b.Release()
		})
	}
}

func TestNoQueue(t *testing.T) {
	b := New(Config{MaxConcurrent: 2, MaxQueued: NoQueue})
	ctx := context.Background()
	for range 2 {
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Acquire(ctx); !errors.Is(err, ErrFull) {
		t.Fatalf("third Acquire = %v, want ErrFull", err)
	}
	if b.TryAcquire() {
		t.Fatal("TryAcquire succeeded with every slot taken")
	}
	b.Release()
	if !b.TryAcquire() {
		t.Fatal("TryAcquire failed with a free slot")
	}
	b.Release()
	b.Release()
	want := Stats{Acquired: 3, Rejected: 2}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
}

func TestFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{MaxConcurrent: 2, MaxQueued: 10, QueueTimeout: NoQueueTimeout})
		ctx := context.Background()
		first, second := startHolder(ctx, b, -1), startHolder(ctx, b, -2)
		synctest.Wait()
		var hs []*holder
		for i := range 8 {
			hs = append(hs, startHolder(ctx, b, i))
			synctest.Wait() // fixes the arrival order
		}
		// A newcomer must not overtake the queue, even via TryAcquire.
		if b.TryAcquire() {
			t.Fatal("TryAcquire overtook queued callers")
		}
		close(first.release)
		close(second.release)
		for i, h := range hs {
			synctest.Wait()
			for j, o := range hs {
				ok, _ := o.done()
				if want := j < i+2; ok != want {
					t.Fatalf("after %d releases: waiter %d done = %v, want %v", i+2, j, ok, want)
				}
			}
			close(h.release)
		}
		synctest.Wait()
		if s := b.Stats(); s.InFlight != 0 || s.Queued != 0 || s.Acquired != 10 {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

func TestCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{MaxConcurrent: 1, MaxQueued: 3})
		ctx := context.Background()
		owner := startHolder(ctx, b, 0)
		synctest.Wait()
		var hs []*holder
		for i := 1; i <= 3; i++ {
			hs = append(hs, startHolder(ctx, b, i))
			synctest.Wait()
		}
		hs[1].cancel() // the middle one leaves
		synctest.Wait()
		if ok, err := hs[1].done(); !ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled waiter: %v, %v; want context.Canceled", err, ok)
		}
		// Its place is free again: one more may queue, the next is rejected.
		late := startHolder(ctx, b, 4)
		synctest.Wait()
		if err := b.Acquire(ctx); !errors.Is(err, ErrFull) {
			t.Fatalf("Acquire = %v, want ErrFull", err)
		}
		// The others are served in order: 1, 3, then 4.
		close(owner.release)
		for _, h := range []*holder{hs[0], hs[2], late} {
			synctest.Wait()
			if ok, err := h.done(); !ok || err != nil {
				t.Fatalf("waiter %d: %v, %v; want a slot", h.id, err, ok)
			}
			close(h.release)
		}
		synctest.Wait()
		want := Stats{Acquired: 4, Rejected: 1, Canceled: 1}
		if s := b.Stats(); s != want {
			t.Fatalf("Stats = %+v, want %+v", s, want)
		}
	})
}

func TestDeadlineBeforeQueueTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{MaxConcurrent: 1})
		if err := b.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := b.Acquire(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("Acquire = %v after %v, want DeadlineExceeded after 1s", err, time.Since(start))
		}
		b.Release()
		if s := b.Stats(); s.Canceled != 1 || s.Rejected != 0 || s.InFlight != 0 {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

func TestNoQueueTimeoutWaitsForContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{MaxConcurrent: 1, QueueTimeout: NoQueueTimeout})
		_ = b.Acquire(context.Background())
		h := startHolder(context.Background(), b, 1)
		time.Sleep(time.Hour)
		synctest.Wait()
		if ok, _ := h.done(); ok {
			t.Fatal("waiter gave up although QueueTimeout is NoQueueTimeout")
		}
		h.cancel()
		synctest.Wait()
		if _, err := h.done(); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		b.Release()
	})
}

func TestAlreadyCanceled(t *testing.T) {
	b := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	if s := b.Stats(); s.InFlight != 0 || s.Canceled != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

// raceProcs runs f with GOMAXPROCS 1 and 2: with one P, a goroutine woken
// by the test runs only once the test blocks, which makes the test's next
// step win the race; with two, either side may win.
func raceProcs(t *testing.T, f func(t *testing.T)) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprint("procs=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			f(t)
		})
	}
}

// TestGrantRacesCancel hands a slot to a waiter at the moment its context
// ends, many times: whichever wins, the slot must never be lost.
func TestGrantRacesCancel(t *testing.T) {
	raceProcs(t, func(t *testing.T) {
		for range 100 {
			synctest.Test(t, grantRacesCancel)
		}
	})
}

func grantRacesCancel(t *testing.T) {
	b := New(Config{MaxConcurrent: 1})
	_ = b.Acquire(context.Background())
	h := startHolder(context.Background(), b, 1)
	synctest.Wait()
	next := startHolder(context.Background(), b, 2)
	synctest.Wait()
	h.cancel()
	b.Release() // may grant h its slot after its ctx ended
	synctest.Wait()
	if _, err := h.done(); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v, want context.Canceled", err)
	}
	if ok, err := next.done(); !ok || err != nil {
		t.Fatalf("next waiter: %v, %v; the slot was lost", err, ok)
	}
	close(next.release)
	synctest.Wait()
	want := Stats{Acquired: 2, Canceled: 1}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
}

// TestGrantRacesTimeout: a slot handed over as the queue timer fires is
// kept; a timeout that wins leaves no slot behind.
func TestGrantRacesTimeout(t *testing.T) {
	raceProcs(t, func(t *testing.T) {
		for range 100 {
			synctest.Test(t, grantRacesTimeout)
		}
	})
}

func grantRacesTimeout(t *testing.T) {
	b := New(Config{MaxConcurrent: 1, QueueTimeout: time.Second})
	_ = b.Acquire(context.Background())
	h := startHolder(context.Background(), b, 1)
	time.Sleep(time.Second) // the timer fires now, as the slot is released
	b.Release()
	synctest.Wait()
	want := Stats{Acquired: 2}
	switch _, err := h.done(); {
	case err == nil:
		close(h.release)
		synctest.Wait()
	case errors.Is(err, ErrQueueTimeout):
		want = Stats{Acquired: 1, Rejected: 1, QueueTimeouts: 1}
	default:
		t.Fatalf("err = %v", err)
	}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
}

func TestDoPanicReleases(t *testing.T) {
	b := New(Config{MaxConcurrent: 1})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want boom", r)
			}
		}()
		_, _ = Do(context.Background(), b, func(context.Context) (int, error) { panic("boom") })
	}()
	if s := b.Stats(); s.InFlight != 0 {
		t.Fatalf("slot not released after panic: %+v", s)
	}
	v, err := Do(context.Background(), b, func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("Do = %v, %v", v, err)
	}
}

func TestDoReturnsErrors(t *testing.T) {
	b := New(Config{MaxConcurrent: 1, MaxQueued: NoQueue})
	errFn := errors.New("fn failed")
	if _, err := Do(context.Background(), b, func(context.Context) (int, error) { return 0, errFn }); err != errFn {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	_ = b.Acquire(context.Background())
	ran := false
	if _, err := Do(context.Background(), b, func(context.Context) (int, error) { ran = true; return 0, nil }); !errors.Is(err, ErrFull) || ran {
		t.Fatalf("Do = %v (ran %v), want ErrFull without running fn", err, ran)
	}
	b.Release()
}

func TestReleaseWithoutAcquirePanics(t *testing.T) {
	b := New(Config{})
	_ = b.Acquire(context.Background())
	b.Release()
	defer func() {
		if r := recover(); r != "bulkhead: Release without Acquire" {
			t.Fatalf("recovered %v", r)
		}
		if s := b.Stats(); s.InFlight != 0 {
			t.Fatalf("Stats = %+v", s)
		}
	}()
	b.Release()
}

// TestNeverExceedsLimit hammers a small bulkhead from many goroutines, with
// some callers giving up while queued, and checks the limits throughout.
func TestNeverExceedsLimit(t *testing.T) {
	const limit, queue, workers, rounds = 3, 5, 32, 300
	b := New(Config{MaxConcurrent: limit, MaxQueued: queue, QueueTimeout: NoQueueTimeout})
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	var ok, rejected, canceled atomic.Uint64
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				if (w+i)%7 == 0 {
					go cancel()
				}
				_, err := Do(ctx, b, func(context.Context) (int, error) {
					n := running.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					if s := b.Stats(); s.InFlight > limit || s.Queued > queue {
						t.Errorf("Stats = %+v exceeds the limits", s)
					}
					running.Add(-1)
					return 0, nil
				})
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrFull):
					rejected.Add(1)
				case errors.Is(err, context.Canceled):
					canceled.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak concurrency %d, limit %d", p, limit)
	}
	want := Stats{Acquired: ok.Load(), Rejected: rejected.Load(), Canceled: canceled.Load()}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
	if ok.Load()+rejected.Load()+canceled.Load() != workers*rounds {
		t.Fatal("calls lost")
	}
}

func TestAllocs(t *testing.T) {
	b := New(Config{MaxConcurrent: 1, MaxQueued: NoQueue})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	tests := []struct {
		name string
		f    func()
	}{
		{"Acquire+Release", func() { _ = b.Acquire(ctx); b.Release() }},
		{"TryAcquire+Release", func() { b.TryAcquire(); b.Release() }},
		{"Do", func() { _, _ = Do(ctx, b, fn) }},
		{"rejected", func() {
			_ = b.Acquire(ctx)
			if !errors.Is(b.Acquire(ctx), ErrFull) {
				panic("not rejected")
			}
			b.Release()
		}},
		{"Stats", func() { _ = b.Stats() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Fatalf("%v allocations per run, want 0", n)
			}
		})
	}
}

// FuzzOperations drives a bulkhead with a byte-coded sequence of
// operations and checks it against a model after each step: slots and
// queue bounds, FIFO service, timeouts, cancellations and every counter.
func FuzzOperations(f *testing.F) {
	f.Add(uint8(1), uint8(2), []byte{0, 0, 0, 0, 1, 2, 1, 3, 0, 1, 1})
	f.Add(uint8(2), uint8(0), []byte{0, 0, 0, 3, 1, 0, 2, 1})
	f.Add(uint8(3), uint8(255), []byte{0, 0, 0, 0, 0, 0, 3, 2, 6, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, limit, queued uint8, ops []byte) {
		limit = limit%4 + 1
		maxQueued := int(queued % 4) // 1..3, or 0 for NoQueue
		if maxQueued == 0 {
			maxQueued = NoQueue
		}
		if len(ops) > 64 {
			ops = ops[:64]
		}
		synctest.Test(t, func(t *testing.T) {
			const timeout = 10 * time.Second // steps of 3s never land on it
			b := New(Config{MaxConcurrent: int(limit), MaxQueued: maxQueued, QueueTimeout: timeout})
			var (
				holding []*holder // model: holders with a slot, in grant order
				waiting []*holder // model: the FIFO queue
				since   = map[*holder]time.Time{}
				want    Stats
				next    int
			)
			check := func(step int) {
				synctest.Wait()
				for _, h := range holding {
					if ok, err := h.done(); !ok || err != nil {
						t.Fatalf("step %d: holder %d: %v, %v; want a slot", step, h.id, err, ok)
					}
				}
				for _, h := range waiting {
					if ok, _ := h.done(); ok {
						t.Fatalf("step %d: waiter %d returned while queued", step, h.id)
					}
				}
				want.InFlight, want.Queued = len(holding), len(waiting)
				if s := b.Stats(); s != want {
					t.Fatalf("step %d: Stats = %+v, want %+v", step, s, want)
				}
				if n := b.queue.Len(); n != len(waiting) {
					t.Fatalf("step %d: queue list holds %d, want %d", step, n, len(waiting))
				}
			}
			grant := func() { // model of Release: hand over to the queue's head
				if len(waiting) > 0 {
					holding = append(holding, waiting[0])
					delete(since, waiting[0])
					waiting = waiting[1:]
					want.Acquired++
				}
			}
			for step, op := range ops {
				switch op % 4 {
				case 0: // a new caller
					h := startHolder(context.Background(), b, next)
					next++
					switch {
					case len(holding) < int(limit) && len(waiting) == 0:
						holding = append(holding, h)
						want.Acquired++
					case len(waiting) < max(maxQueued, 0):
						waiting = append(waiting, h)
						since[h] = time.Now()
					default:
						synctest.Wait()
						if _, err := h.done(); !errors.Is(err, ErrFull) {
							t.Fatalf("step %d: Acquire = %v, want ErrFull", step, err)
						}
						want.Rejected++
					}
				case 1: // release the oldest slot
					if len(holding) == 0 {
						continue
					}
					close(holding[0].release)
					holding = holding[1:]
					grant()
				case 2: // cancel a queued caller
					if len(waiting) == 0 {
						continue
					}
					i := int(op/4) % len(waiting)
					h := waiting[i]
					h.cancel()
					waiting = append(waiting[:i:i], waiting[i+1:]...)
					delete(since, h)
					want.Canceled++
					synctest.Wait()
					if _, err := h.done(); !errors.Is(err, context.Canceled) {
						t.Fatalf("step %d: canceled Acquire = %v", step, err)
					}
				case 3: // let time pass
					time.Sleep(3 * time.Second)
					kept := waiting[:0:0]
					for _, h := range waiting {
						if time.Since(since[h]) >= timeout {
							synctest.Wait()
							if _, err := h.done(); !errors.Is(err, ErrQueueTimeout) {
								t.Fatalf("step %d: waiter %d: %v, want ErrQueueTimeout", step, h.id, err)
							}
							want.Rejected++
							want.QueueTimeouts++
							delete(since, h)
							continue
						}
						kept = append(kept, h)
					}
					waiting = kept
				}
				check(step)
			}
			// Drain: cancel the queue, release all slots.
			for _, h := range waiting {
				h.cancel()
			}
			for _, h := range holding {
				close(h.release)
			}
			synctest.Wait()
			if s := b.Stats(); s.InFlight != 0 || s.Queued != 0 {
				t.Fatalf("after drain: Stats = %+v", s)
			}
			if b.queue.Head() != nil || b.queue.Len() != 0 {
				t.Fatal("queue list not empty after drain")
			}
		})
	})
}

func TestZeroBulkheadRejects(t *testing.T) {
	var b Bulkhead
	if err := b.Acquire(context.Background()); !errors.Is(err, ErrFull) {
		t.Fatalf("Acquire on a zero Bulkhead = %v, want ErrFull", err)
	}
	if b.TryAcquire() {
		t.Fatal("TryAcquire on a zero Bulkhead succeeded")
	}
}

// FuzzConfig: any Config is either rejected by Validate, and then by New
// with the same message, or gives a bulkhead that honours its limits.
func FuzzConfig(f *testing.F) {
	f.Add(0, 0, int64(0))
	f.Add(3, NoQueue, int64(NoQueueTimeout))
	f.Add(-1, 5, int64(time.Second))
	f.Add(math.MaxInt, math.MinInt, int64(math.MaxInt64))
	f.Add(MaxLimit, MaxLimit+1, int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, conc, queued int, queueTimeout int64) {
		cfg := Config{MaxConcurrent: conc, MaxQueued: queued, QueueTimeout: time.Duration(queueTimeout)}
		err := cfg.Validate()
		valid := conc >= 0 && conc <= MaxLimit && (queued == NoQueue || queued >= 0 && queued <= MaxLimit) &&
			(queueTimeout >= 0 || queueTimeout == int64(NoQueueTimeout))
		if valid != (err == nil) {
			t.Fatalf("Validate(%+v) = %v", cfg, err)
		}
		if err != nil {
			defer func() {
				if r := recover(); r != err.Error() {
					t.Fatalf("New panicked with %v, want %q", r, err)
				}
			}()
			New(cfg)
			return
		}
		b := New(cfg)
		slots := conc
		if slots == 0 {
			slots = 10
		}
		n := min(slots, 1000)
		for i := range n {
			if !b.TryAcquire() {
				t.Fatalf("TryAcquire %d of %d slots failed", i, slots)
			}
		}
		if n == slots {
			if b.TryAcquire() {
				t.Fatalf("TryAcquire beyond %d slots succeeded", slots)
			}
			if queued < 0 {
				err := b.Acquire(context.Background())
				var re rejection
				if !errors.As(err, &re) || !errors.Is(err, ErrFull) {
					t.Fatalf("Acquire with NoQueue = %v, want ErrFull", err)
				}
				wantHint := max(cfg.QueueTimeout, 0)
				if cfg.QueueTimeout == 0 {
					wantHint = 5 * time.Second
				}
				if re.RetryAfter() != wantHint {
					t.Fatalf("RetryAfter = %v, want %v", re.RetryAfter(), wantHint)
				}
			}
		}
		for range n {
			b.Release()
		}
		if s := b.Stats(); s.InFlight != 0 || s.Acquired != uint64(n) {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

// TestStressWithTimeouts: many callers whose work takes (fake) time, with
// queue timeouts and deadlines firing all along; the limits must hold and
// every outcome must be counted exactly once.
func TestStressWithTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, queue, workers, rounds = 3, 5, 24, 40
		b := New(Config{MaxConcurrent: limit, MaxQueued: queue, QueueTimeout: 2 * time.Millisecond})
		var running atomic.Int64
		var ok, full, timedOut, canceled atomic.Uint64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range rounds {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+(w+i)%6)*time.Millisecond)
					_, err := Do(ctx, b, func(context.Context) (int, error) {
						if n := running.Add(1); n > limit {
							t.Errorf("%d running, limit %d", n, limit)
						}
						time.Sleep(time.Duration(w%3) * time.Millisecond)
						running.Add(-1)
						return 0, nil
					})
					cancel()
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrFull):
						full.Add(1)
					case errors.Is(err, ErrQueueTimeout):
						timedOut.Add(1)
					case errors.Is(err, context.DeadlineExceeded):
						canceled.Add(1)
					default:
						t.Errorf("unexpected error %v", err)
					}
				}
			})
		}
		wg.Wait()
		want := Stats{Acquired: ok.Load(), Rejected: full.Load() + timedOut.Load(), QueueTimeouts: timedOut.Load(), Canceled: canceled.Load()}
		if s := b.Stats(); s != want {
			t.Fatalf("Stats = %+v, want %+v", s, want)
		}
		if ok.Load() == 0 || ok.Load() == workers*rounds {
			t.Fatalf("no contention: %+v", want)
		}
	})
}
