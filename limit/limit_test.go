package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// holder runs Acquire in its own goroutine and keeps the slot until told
// how to end it.
type holder struct {
	id     int
	cancel context.CancelFunc
	result chan error
	end    chan func(Token)
}

func startHolder(ctx context.Context, l *Limiter, id int) *holder {
	ctx, cancel := context.WithCancel(ctx)
	h := &holder{id: id, cancel: cancel, result: make(chan error, 1), end: make(chan func(Token))}
	go func() {
		t, err := l.Acquire(ctx)
		h.result <- err
		if err == nil {
			(<-h.end)(t)
		}
	}()
	return h
}

func (h *holder) done(err error) { h.end <- func(t Token) { t.Done(err) } }
func (h *holder) ignore()        { h.end <- func(t Token) { t.Ignore() } }

// acquired reports the Acquire result if Acquire has returned.
func (h *holder) acquired() (bool, error) {
	select {
	case err := <-h.result:
		h.result <- err
		return true, err
	default:
		return false, nil
	}
}

func mustAcquire(t *testing.T, l *Limiter) Token {
	t.Helper()
	tok, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return tok
}

func TestRejectsAtLimit(t *testing.T) {
	l := New(Config{InitialLimit: 3})
	var toks []Token
	for range 3 {
		toks = append(toks, mustAcquire(t, l))
	}
	_, err := l.Acquire(context.Background())
	var re interface {
		RetryAfter() time.Duration
		ErrorClass() string
	}
	if !errors.Is(err, ErrLimitExceeded) || !errors.As(err, &re) {
		t.Fatalf("Acquire at the limit = %v, want an error with RetryAfter and ErrorClass matching ErrLimitExceeded", err)
	}
	if re.ErrorClass() != "limit_exceeded" || err.Error() != "limit: limit exceeded" {
		t.Fatalf("class %q, message %q", re.ErrorClass(), err)
	}
	if got := re.RetryAfter(); got != time.Millisecond {
		t.Fatalf("RetryAfter before any sample = %v, want 1ms", got)
	}
	for _, tok := range toks {
		tok.Ignore()
	}
	want := Stats{Limit: 3, Acquired: 3, Rejected: 1}
	if s := l.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
}

func TestRetryAfterIsShortRTT(t *testing.T) {
	tests := []struct {
		rtt, want time.Duration
	}{
		{0, time.Millisecond},
		{50 * time.Microsecond, time.Millisecond},
		{30 * time.Millisecond, 30 * time.Millisecond},
		{2 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := New(Config{InitialLimit: 1, MaxLimit: 1, Window: time.Nanosecond, WindowSamples: 1})
				tok := mustAcquire(t, l)
				time.Sleep(tt.rtt)
				tok.Done(nil)
				tok = mustAcquire(t, l)
				_, err := l.Acquire(context.Background())
				var ra interface{ RetryAfter() time.Duration }
				if !errors.As(err, &ra) || ra.RetryAfter() != tt.want {
					t.Fatalf("Acquire = %v, want RetryAfter %v", err, tt.want)
				}
				tok.Ignore()
			})
		})
	}
}

func TestSamplesMeasureRTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Window: time.Nanosecond, WindowSamples: 1}) // a window per call
		for _, rtt := range []time.Duration{3 * time.Millisecond, 7 * time.Millisecond} {
			tok := mustAcquire(t, l)
			time.Sleep(rtt)
			tok.Done(nil)
			if s := l.Stats(); s.ShortRTT != rtt {
				t.Fatalf("ShortRTT = %v, want %v", s.ShortRTT, rtt)
			}
		}
		if s := l.Stats(); s.Samples != 2 || s.LongRTT != 5*time.Millisecond {
			t.Fatalf("Stats = %+v, want 2 samples, LongRTT 5ms", s)
		}
	})
}

// TestOutcomesThatDoNotSample: a caller's cancellation, an ignored token,
// rejections and canceled Acquires leave the estimate alone.
func TestOutcomesThatDoNotSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{InitialLimit: 1, MaxQueued: 1})
		ctx := context.Background()
		tests := []struct {
			name string
			f    func()
		}{
			{"Done(context.Canceled)", func() {
				tok := mustAcquire(t, l)
				time.Sleep(time.Second)
				tok.Done(fmt.Errorf("read: %w", context.Canceled))
			}},
			{"Ignore", func() {
				tok := mustAcquire(t, l)
				time.Sleep(time.Second)
				tok.Ignore()
			}},
			{"Do after ctx ended", func() {
				ctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				_, _ = Do(ctx, l, func(ctx context.Context) (int, error) {
					<-ctx.Done()
					return 0, ctx.Err()
				})
			}},
			{"rejected", func() {
				tok := mustAcquire(t, l)
				h := startHolder(ctx, l, 1) // queued
				synctest.Wait()
				if _, err := l.Acquire(ctx); !errors.Is(err, ErrLimitExceeded) {
					t.Fatalf("Acquire with a full queue = %v", err)
				}
				time.Sleep(time.Second) // the queued one times out
				synctest.Wait()
				if _, err := h.acquired(); !errors.Is(err, ErrQueueTimeout) {
					t.Fatalf("queued Acquire = %v, want ErrQueueTimeout", err)
				}
				tok.Ignore()
			}},
			{"canceled while queued", func() {
				tok := mustAcquire(t, l)
				h := startHolder(ctx, l, 2)
				synctest.Wait()
				time.Sleep(500 * time.Millisecond)
				h.cancel()
				synctest.Wait()
				if _, err := h.acquired(); !errors.Is(err, context.Canceled) {
					t.Fatalf("queued Acquire = %v, want context.Canceled", err)
				}
				tok.Ignore()
			}},
			{"canceled before", func() {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("Acquire = %v", err)
				}
			}},
		}
		for _, tt := range tests {
			tt.f()
			if s := l.Stats(); s.Samples != 0 || s.ShortRTT != 0 || s.InFlight != 0 || s.Queued != 0 {
				t.Fatalf("after %s: Stats = %+v, want no sample and nothing held", tt.name, s)
			}
		}
		want := Stats{Limit: 1, Acquired: 5, Rejected: 2, QueueTimeouts: 1, Canceled: 2}
		if s := l.Stats(); s != want {
			t.Fatalf("Stats = %+v, want %+v", s, want)
		}
	})
}

func TestIsIgnoredAndIsDrop(t *testing.T) {
	synctest.Test(t, testIsIgnoredAndIsDrop)
}

func testIsIgnoredAndIsDrop(t *testing.T) {
	errSlow := errors.New("slow")
	errBad := errors.New("bad request")
	l := New(Config{
		Algorithm:     AIMD,
		InitialLimit:  10,
		Window:        time.Nanosecond,
		WindowSamples: 1,
		IsIgnored:     func(err error) bool { return errors.Is(err, errBad) },
		IsDrop:        func(err error) bool { return errors.Is(err, errSlow) },
	})
	var held []Token
	for range 5 {
		held = append(held, mustAcquire(t, l))
	}
	call := func(err error) {
		tok := mustAcquire(t, l)
		time.Sleep(time.Millisecond) // calls so far apart are all sampled
		tok.Done(err)
	}
	call(errBad)                  // ignored
	call(errSlow)                 // drop: 10 → 9
	call(errors.New("not found")) // a success, 6 of 9 in use: 9 → 10
	call(context.Canceled)        // no longer ignored: a success → 11
	if s := l.Stats(); s.Samples != 3 || s.Drops != 1 || s.Limit != 11 {
		t.Fatalf("Stats = %+v, want 3 samples, 1 drop, limit 11", s)
	}
	for _, tok := range held {
		tok.Ignore()
	}
}

func TestQueueFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{InitialLimit: 1, MaxLimit: 1, MaxQueued: 3, MaxWait: NoMaxWait})
		ctx := context.Background()
		first := startHolder(ctx, l, 0)
		synctest.Wait()
		var hs []*holder
		for i := 1; i <= 3; i++ {
			hs = append(hs, startHolder(ctx, l, i))
			synctest.Wait()
		}
		if _, err := l.Acquire(ctx); !errors.Is(err, ErrLimitExceeded) {
			t.Fatalf("Acquire with a full queue = %v", err)
		}
		if s := l.Stats(); s.InFlight != 1 || s.Queued != 3 {
			t.Fatalf("Stats = %+v", s)
		}
		time.Sleep(time.Hour) // NoMaxWait: nobody gives up
		prev := first
		for _, h := range hs {
			prev.done(nil)
			synctest.Wait()
			if ok, err := h.acquired(); !ok || err != nil {
				t.Fatalf("holder %d: %v, %v; want the slot after holder %d", h.id, ok, err, prev.id)
			}
			for _, later := range hs[h.id:] {
				if ok, _ := later.acquired(); ok {
					t.Fatalf("holder %d overtook holder %d", later.id, h.id)
				}
			}
			prev = h
		}
		prev.ignore()
		synctest.Wait()
		if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 || s.Acquired != 4 {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

func TestQueueTimeoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{InitialLimit: 1, MaxQueued: 1})
		tok := mustAcquire(t, l)
		h := startHolder(context.Background(), l, 1)
		start := time.Now()
		time.Sleep(time.Second - time.Nanosecond)
		synctest.Wait()
		if ok, _ := h.acquired(); ok {
			t.Fatal("queued caller gave up before the 1s default MaxWait")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if _, err := h.acquired(); !errors.Is(err, ErrQueueTimeout) || err.Error() != "limit: queue timeout" {
			t.Fatalf("queued Acquire = %v, want ErrQueueTimeout", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Fatalf("gave up after %v", got)
		}
		var class interface{ ErrorClass() string }
		if _, err := h.acquired(); !errors.As(err, &class) || class.ErrorClass() != "limit_exceeded" {
			t.Fatalf("queue timeout class: %v", err)
		}
		tok.Ignore()
	})
}

// TestRaisedLimitGrantsWaiters: a sample that raises the limit admits
// queued callers at once, without waiting for a release.
func TestRaisedLimitGrantsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Algorithm: AIMD, InitialLimit: 2, MaxQueued: 5, MaxWait: NoMaxWait, Window: time.Nanosecond, WindowSamples: 1})
		ctx := context.Background()
		a, b := startHolder(ctx, l, 0), startHolder(ctx, l, 1)
		synctest.Wait()
		w1, w2 := startHolder(ctx, l, 2), startHolder(ctx, l, 3)
		synctest.Wait()
		a.done(nil) // 2 of 2 in use: limit 3, w1 admitted; then a's slot goes to w2
		synctest.Wait()
		for _, h := range []*holder{w1, w2} {
			if ok, err := h.acquired(); !ok || err != nil {
				t.Fatalf("waiter %d: %v, %v; want a slot", h.id, ok, err)
			}
		}
		if s := l.Stats(); s.Limit != 3 || s.InFlight != 3 || s.Queued != 0 {
			t.Fatalf("Stats = %+v, want limit 3, 3 in flight", s)
		}
		for _, h := range []*holder{b, w1, w2} {
			h.ignore()
		}
		synctest.Wait()
	})
}

// TestLoweredLimitHoldsWaiters: when the limit falls below the calls in
// flight, a release does not hand its slot on until fewer than the limit
// run.
func TestLoweredLimitHoldsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Algorithm: AIMD, InitialLimit: 4, MaxQueued: 5, MaxWait: NoMaxWait, Window: time.Nanosecond, WindowSamples: 1})
		ctx := context.Background()
		var hs []*holder
		for i := range 4 {
			hs = append(hs, startHolder(ctx, l, i))
		}
		synctest.Wait()
		w := startHolder(ctx, l, 9)
		synctest.Wait()
		hs[0].done(errors.New("overloaded")) // limit 4·0.9 → 3; 3 still run
		synctest.Wait()
		if ok, _ := w.acquired(); ok {
			t.Fatal("waiter admitted over the lowered limit")
		}
		if s := l.Stats(); s.Limit != 3 || s.InFlight != 3 || s.Queued != 1 {
			t.Fatalf("Stats = %+v, want limit 3, 3 in flight, 1 queued", s)
		}
		hs[1].ignore() // 2 run, below the limit: the slot goes to the waiter
		synctest.Wait()
		if ok, err := w.acquired(); !ok || err != nil {
			t.Fatalf("waiter: %v, %v; want a slot", ok, err)
		}
		if s := l.Stats(); s.InFlight != 3 || s.Queued != 0 {
			t.Fatalf("Stats = %+v", s)
		}
		for _, h := range []*holder{hs[2], hs[3], w} {
			h.ignore()
		}
		synctest.Wait()
	})
}

// TestGrantedAsContextEnds: a slot handed to a caller whose context ends at
// that moment is passed on, never lost. The waiter finds both its grant and
// its context's end ready and picks either at random; over 64 rounds it
// takes each way.
func TestGrantedAsContextEnds(t *testing.T) {
	var passedOn, kept int
	for range 64 {
		l := New(Config{InitialLimit: 1, MaxLimit: 1, MaxQueued: 2, MaxWait: NoMaxWait})
		tok := mustAcquire(t, l)
		// Queue a waiter as acquireSlow does, then hand it tok's slot.
		l.mu.Lock()
		l.state.Add(queuedOne)
		w := l.queue.Push()
		l.grantHeadLocked(0)
		l.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, err := l.wait(ctx, w)
		switch s := l.Stats(); {
		case errors.Is(err, context.Canceled) && s.InFlight == 0 && s.Canceled == 1:
			passedOn++
		case err == nil && got.l == l && s.InFlight == 1:
			kept++
			got.Ignore()
		default:
			t.Fatalf("wait = %v, %v; Stats = %+v", got, err, s)
		}
		_ = tok // its slot went to the waiter
		if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 || l.queue.Head() != nil {
			t.Fatalf("Stats = %+v, want nothing held", s)
		}
	}
	if passedOn == 0 || kept == 0 {
		t.Fatalf("passed on %d, kept %d times: one way never tested", passedOn, kept)
	}
}

func TestOnLimitChange(t *testing.T) {
	synctest.Test(t, testOnLimitChange)
}

func testOnLimitChange(t *testing.T) {
	var l *Limiter
	var changes [][2]int
	l = New(Config{Algorithm: AIMD, InitialLimit: 2, Window: time.Nanosecond, WindowSamples: 1,
		OnLimitChange: func(from, to int) {
			s := l.Stats() // deadlocks if called under the limiter's lock
			if s.Limit != to || s.InFlight != 1 {
				t.Errorf("in the hook: Stats = %+v, want limit %d and the caller's slot released", s, to)
			}
			changes = append(changes, [2]int{from, to})
		}})
	call := func(err error) {
		tok := mustAcquire(t, l)
		time.Sleep(time.Millisecond)
		tok.Done(err)
	}
	held := mustAcquire(t, l)
	call(nil)                // 2 of 2 in use: 2 → 3
	call(errors.New("drop")) // 3 → 2.7: floor 2
	held.Ignore()
	if fmt.Sprint(changes) != "[[2 3] [3 2]]" {
		t.Fatalf("changes %v", changes)
	}
}

func TestDoPanicReleases(t *testing.T) {
	l := New(Config{InitialLimit: 1})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic of fn", r)
			}
		}()
		_, _ = Do(context.Background(), l, func(context.Context) (int, error) { panic("boom") })
	}()
	if s := l.Stats(); s.InFlight != 0 || s.Samples != 0 {
		t.Fatalf("after a panic: Stats = %+v, want the slot back and no sample", s)
	}
	v, err := Do(context.Background(), l, func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("Do = %v, %v", v, err)
	}
}

func TestDoReturnsErrors(t *testing.T) {
	l := New(Config{InitialLimit: 1})
	errFn := errors.New("fn failed")
	if _, err := Do(context.Background(), l, func(context.Context) (int, error) { return 0, errFn }); err != errFn {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	tok := mustAcquire(t, l)
	ran := false
	if _, err := Do(context.Background(), l, func(context.Context) (int, error) { ran = true; return 0, nil }); !errors.Is(err, ErrLimitExceeded) || ran {
		t.Fatalf("Do = %v (ran %v), want ErrLimitExceeded without running fn", err, ran)
	}
	tok.Done(nil)
	if s := l.Stats(); s.Samples != 2 || s.Drops != 1 {
		t.Fatalf("Stats = %+v, want 2 samples, 1 drop", s)
	}
}

func TestDoneWithoutAcquirePanics(t *testing.T) {
	l := New(Config{})
	tok := mustAcquire(t, l)
	tok.Done(nil)
	defer func() {
		if r := recover(); r != "limit: Done without Acquire" {
			t.Fatalf("recovered %v", r)
		}
	}()
	tok.Ignore()
}

func TestZeroValues(t *testing.T) {
	var l Limiter
	_, err := l.Acquire(context.Background())
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ErrLimitExceeded) || !errors.As(err, &ra) || ra.RetryAfter() != 0 {
		t.Fatalf("Acquire on a zero Limiter = %v, want ErrLimitExceeded without a hint", err)
	}
	var tok Token
	tok.Done(nil) // nothing held: no-op
	tok.Ignore()
}

// TestSamplingFollowsCallRate: calls closer than the sample spacing are
// thinned to about one sample per spacing; slow calls are all sampled.
func TestSamplingFollowsCallRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		run := func(n int, gap time.Duration) uint64 {
			before := l.Stats().Samples
			for range n {
				tok := mustAcquire(t, l)
				time.Sleep(gap)
				tok.Done(nil)
			}
			return l.Stats().Samples - before
		}
		if got := run(100, time.Millisecond); got != 100 {
			t.Fatalf("slow calls: %d samples of 100, want all", got)
		}
		// One call per 10ns: 400 calls per 4µs, so the stride doubles up to
		// 256, then settles.
		got := run(100_000, 10*time.Nanosecond)
		if got < 100_000/512 || got > 100_000/128 {
			t.Fatalf("fast calls: %d samples of 100000, want about 1 per 4µs (%d)", got, 100_000*10/4000)
		}
		if l.stride != 256 {
			t.Fatalf("stride %d, want 256", l.stride)
		}
		if got := run(20, time.Millisecond); got < 10 {
			t.Fatalf("slow again: %d samples of 20, want nearly all", got)
		}
		if l.stride != 1 {
			t.Fatalf("stride %d after slow calls, want 1", l.stride)
		}
	})
}

// TestDropsThinnedLikeSuccesses: with sampling on, the share of drops among
// the samples is the share among the calls.
func TestDropsThinnedLikeSuccesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Algorithm: AIMD, MinLimit: 100, MaxLimit: 100})
		for i := range 200_000 {
			tok := mustAcquire(t, l)
			time.Sleep(10 * time.Nanosecond)
			var err error
			if i%4 == 0 {
				err = errors.New("drop")
			}
			tok.Done(err)
		}
		s := l.Stats()
		if s.Samples > 200_000/64 {
			t.Fatalf("%d samples: not thinned", s.Samples)
		}
		if share := float64(s.Drops) / float64(s.Samples); share < 0.2 || share > 0.3 {
			t.Fatalf("drops %d of %d samples (%.2f), want about 1/4", s.Drops, s.Samples, share)
		}
	})
}

// TestConcurrentUse hammers a small limiter from many goroutines with
// mixed outcomes, queueing and cancellations, and checks the bounds and
// the totals.
func TestConcurrentUse(t *testing.T) {
	const workers, rounds = 16, 400
	var l *Limiter
	var bad atomic.Bool
	l = New(Config{Algorithm: AIMD, InitialLimit: 4, MinLimit: 2, MaxLimit: 8, MaxQueued: 4, MaxWait: NoMaxWait,
		OnLimitChange: func(_, to int) {
			if to < 2 || to > 8 {
				bad.Store(true)
			}
		}})
	var wg sync.WaitGroup
	var ok, rejected, canceled atomic.Uint64
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				if (w+i)%7 == 0 {
					go cancel()
				}
				_, err := Do(ctx, l, func(context.Context) (int, error) {
					if s := l.Stats(); s.InFlight > 8 || s.Queued > 4 {
						t.Errorf("Stats = %+v exceeds the bounds", s)
					}
					if (w*i)%5 == 0 {
						return 0, errors.New("drop")
					}
					return 0, nil
				})
				cancel()
				switch {
				case err == nil || err.Error() == "drop":
					ok.Add(1)
				case errors.Is(err, ErrLimitExceeded):
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
	s := l.Stats()
	if bad.Load() || s.Limit < 2 || s.Limit > 8 {
		t.Fatalf("limit left [2, 8]: %+v", s)
	}
	if s.InFlight != 0 || s.Queued != 0 || s.Acquired != ok.Load() || s.Rejected != rejected.Load() || s.Canceled != canceled.Load() {
		t.Fatalf("Stats = %+v; ok %d, rejected %d, canceled %d", s, ok.Load(), rejected.Load(), canceled.Load())
	}
	if ok.Load()+rejected.Load()+canceled.Load() != workers*rounds {
		t.Fatal("calls lost")
	}
}

func TestAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The clock stands still in the bubble, so every call is sampled.
		l := New(Config{InitialLimit: 1, MaxLimit: 1})
		ctx := context.Background()
		fn := func(context.Context) (int, error) { return 1, nil }
		errDrop := errors.New("drop")
		tests := []struct {
			name string
			f    func()
		}{
			{"Acquire+Done", func() { tok, _ := l.Acquire(ctx); tok.Done(nil) }},
			{"Acquire+Done(drop)", func() { tok, _ := l.Acquire(ctx); tok.Done(errDrop) }},
			{"Acquire+Ignore", func() { tok, _ := l.Acquire(ctx); tok.Ignore() }},
			{"Do", func() { _, _ = Do(ctx, l, fn) }},
			{"rejected", func() {
				tok, _ := l.Acquire(ctx)
				if _, err := l.Acquire(ctx); !errors.Is(err, ErrLimitExceeded) {
					panic("not rejected")
				}
				tok.Done(nil)
			}},
			{"Stats", func() { _ = l.Stats() }},
		}
		for _, tt := range tests {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%s: %v allocations per run, want 0", tt.name, n)
			}
		}
		if s := l.Stats(); s.Samples != 4*101 {
			t.Fatalf("%d samples: the sampled path was not measured", s.Samples)
		}
	})
}

// TestQueuedAllocs: waiting in the queue, and timing out there, allocates
// nothing once a queue entry is pooled.
func TestQueuedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops entries at random under the race detector")
	}
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{InitialLimit: 1, MaxLimit: 1, MaxQueued: 1, MaxWait: time.Second})
		ctx := context.Background()
		n := testing.AllocsPerRun(50, func() {
			tok, _ := l.Acquire(ctx)
			if _, err := l.Acquire(ctx); !errors.Is(err, ErrQueueTimeout) {
				panic("no queue timeout")
			}
			tok.Done(nil)
		})
		if n != 0 {
			t.Fatalf("%v allocations per run, want 0", n)
		}
	})
}

// TestConcurrentProbesAndQueue: many goroutines against a limiter whose
// limit moves every call and drops to a probe every millisecond, with a
// queue, timeouts and cancellations: no slot is lost or made up, and every
// call is counted once.
func TestConcurrentProbesAndQueue(t *testing.T) {
	const workers, rounds = 16, 300
	var changes atomic.Int64
	l := New(Config{InitialLimit: 4, MinLimit: 2, MaxLimit: 12, MaxQueued: 6, MaxWait: 200 * time.Microsecond,
		Window: time.Nanosecond, WindowSamples: 1, ProbeInterval: time.Millisecond, ProbeLimit: 2,
		OnLimitChange: func(_, to int) {
			changes.Add(1)
			if to < 2 || to > 12 {
				t.Errorf("limit %d outside [2, 12]", to)
			}
		}})
	var wg sync.WaitGroup
	var ok, rejected, canceled atomic.Uint64
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				if (w+i)%5 == 0 {
					go cancel()
				}
				_, err := Do(ctx, l, func(context.Context) (int, error) {
					if s := l.Stats(); s.InFlight > 12+workers || s.Queued > 6 {
						t.Errorf("Stats = %+v", s)
					}
					time.Sleep(time.Duration(i%3) * 10 * time.Microsecond)
					if (w+i)%7 == 0 {
						return 0, errors.New("drop")
					}
					return 0, nil
				})
				cancel()
				switch {
				case err == nil || err.Error() == "drop":
					ok.Add(1)
				case errors.Is(err, ErrLimitExceeded), errors.Is(err, ErrQueueTimeout):
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
	s := l.Stats()
	if s.InFlight != 0 || s.Queued != 0 || l.queue.Head() != nil {
		t.Fatalf("after the run: Stats = %+v", s)
	}
	if s.Acquired != ok.Load() || s.Rejected != rejected.Load() || s.Canceled != canceled.Load() || ok.Load()+rejected.Load()+canceled.Load() != workers*rounds {
		t.Fatalf("Stats = %+v; ok %d, rejected %d, canceled %d", s, ok.Load(), rejected.Load(), canceled.Load())
	}
	if changes.Load() == 0 || s.Windows == 0 {
		t.Fatalf("the limit never moved: %+v", s)
	}
	t.Logf("%+v, %d changes", s, changes.Load())
}
