package middleware

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// queueUp fills s's slots with holders and then queues one waiter per
// priority in prios, gap apart; it returns the order in which the waiters
// got a slot once the holders leave (each waiter leaves as soon as it has
// one), and the errors of those that did not.
func queueUp(t *testing.T, s *Shedder, prios []int, gap time.Duration) (order []int, errs map[int]error) {
	t.Helper()
	for range s.cfg.MaxConcurrent {
		if err := s.Acquire(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	errs = map[int]error{}
	var wg sync.WaitGroup
	for i, p := range prios {
		wg.Go(func() {
			err := s.Acquire(context.Background(), p)
			mu.Lock()
			if err != nil {
				errs[i] = err
				mu.Unlock()
				return
			}
			order = append(order, i)
			mu.Unlock()
			s.Release()
		})
		synctest.Wait()
		time.Sleep(gap)
	}
	for range s.cfg.MaxConcurrent {
		s.Release()
		synctest.Wait()
	}
	wg.Wait()
	return order, errs
}

func TestShedderOrder(t *testing.T) {
	tests := []struct {
		name  string
		cfg   ShedConfig
		prios []int
		gap   time.Duration
		want  []int // indexes of prios in the order served
		shed  []int // indexes shed
	}{
		{"fifo while draining", ShedConfig{MaxConcurrent: 1, Interval: time.Second}, []int{0, 0, 0}, time.Millisecond, []int{0, 1, 2}, nil},
		{"priority first", ShedConfig{MaxConcurrent: 1, Interval: time.Second}, []int{0, 5, 1, 5}, time.Millisecond, []int{1, 3, 2, 0}, nil},
		// Waiters 0 and 1 came while the queue drained: they may wait
		// Interval, and are shed after it; 2 and 3 came once it had stood
		// for Interval: they may wait Target, and are served newest first.
		{"codel and lifo once standing", ShedConfig{MaxConcurrent: 1, Interval: 10 * time.Millisecond, Target: time.Second}, []int{0, 0, 0, 0}, 6 * time.Millisecond, []int{3, 2}, []int{0, 1}},
		{"full: newcomer shed", ShedConfig{MaxConcurrent: 1, MaxQueued: 2, Interval: time.Second}, []int{1, 1, 1}, time.Millisecond, []int{0, 1}, []int{2}},
		{"full: lowest evicted", ShedConfig{MaxConcurrent: 1, MaxQueued: 2, Interval: time.Second}, []int{0, 1, 0, 2}, time.Millisecond, []int{3, 1}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := NewShedder(tt.cfg)
				order, errs := queueUp(t, s, tt.prios, tt.gap)
				if fmt.Sprint(order) != fmt.Sprint(tt.want) {
					t.Errorf("served %v, want %v", order, tt.want)
				}
				for _, i := range tt.shed {
					var se *ShedError
					if !errors.As(errs[i], &se) {
						t.Errorf("waiter %d: %v, want a *ShedError", i, errs[i])
					}
				}
				if len(errs) != len(tt.shed) {
					t.Errorf("shed %v, want %v", errs, tt.shed)
				}
				if st := s.Stats(); st.Running != 0 || st.Queued != 0 || st.Shed != uint64(len(tt.shed)) {
					t.Errorf("stats %+v, want empty, %d shed", st, len(tt.shed))
				}
			})
		})
	}
}

// TestShedderCoDel checks how long a waiter may wait: Interval while the
// queue drains, Target once it has stood for Interval.
func TestShedderCoDel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewShedder(ShedConfig{MaxConcurrent: 1, Target: 5 * time.Millisecond, Interval: 100 * time.Millisecond})
		s.Acquire(context.Background(), 0)
		start := time.Now()
		early := make([]error, 2)
		var wg sync.WaitGroup
		for i := range early {
			wg.Go(func() { early[i] = s.Acquire(context.Background(), 0) })
			synctest.Wait()
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // at 120 ms the queue has stood since 0
		err := s.Acquire(context.Background(), 0)
		var se *ShedError
		if !errors.As(err, &se) || !se.Overloaded || time.Since(start) != 125*time.Millisecond {
			t.Errorf("under overload: %v at %v, want an overloaded *ShedError at 125ms (Target)", err, time.Since(start))
		}
		wg.Wait()
		for i, err := range early {
			if !errors.As(err, &se) || se.Overloaded || se.RetryAfter() != 100*time.Millisecond || se.ErrorClass() != "shed" {
				t.Errorf("waiter %d: %v, want a *ShedError after Interval", i, err)
			}
		}
		if d := time.Since(start); d != 150*time.Millisecond {
			t.Errorf("the early waiters were done at %v, want 150ms", d)
		}
		s.Release()
		if st := s.Stats(); st.Running != 0 || st.Queued != 0 || st.Shed != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestShedderCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewShedder(ShedConfig{MaxConcurrent: 1})
		s.Acquire(context.Background(), 0)
		ctx, cancel := context.WithCancel(context.Background())
		var err error
		done := make(chan struct{})
		go func() { err = s.Acquire(ctx, 0); close(done) }()
		synctest.Wait()
		cancel()
		<-done
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		s.Release()
		if st := s.Stats(); st.Running != 0 || st.Queued != 0 {
			t.Errorf("stats %+v, want empty", st)
		}
	})
}

func TestShedderAllocs(t *testing.T) {
	s := NewShedder(ShedConfig{})
	if n := testing.AllocsPerRun(1000, func() {
		if err := s.Acquire(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}); n != 0 {
		t.Errorf("%v allocations per admission without a wait, want 0", n)
	}
}

func TestShedConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg   ShedConfig
		field string
	}{
		{ShedConfig{MaxConcurrent: -1}, "MaxConcurrent"},
		{ShedConfig{MaxQueued: -1}, "MaxQueued"},
		{ShedConfig{Target: -1}, "Target"},
		{ShedConfig{Interval: -1}, "Interval"},
	} {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: %v, want an error naming %s", tt.cfg, err, tt.field)
		}
	}
	if err := (ShedConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// TestShedderRandom plays random arrivals, departures and cancellations
// and checks the invariants: never more than MaxConcurrent running nor
// MaxQueued queued, every admitted request released, nothing leaked.
func TestShedderRandom(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 3))
			cfg := ShedConfig{MaxConcurrent: r.IntN(3) + 1, MaxQueued: r.IntN(4) + 1, Target: 2 * time.Millisecond, Interval: 20 * time.Millisecond}
			s := NewShedder(cfg)
			var running, most int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 200 {
				prio, hold, patience := r.IntN(3), time.Duration(r.IntN(10))*time.Millisecond, time.Duration(r.IntN(40))*time.Millisecond
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), patience)
					defer cancel()
					if s.Acquire(ctx, prio) != nil {
						return
					}
					mu.Lock()
					running++
					most = max(most, running)
					mu.Unlock()
					time.Sleep(hold)
					mu.Lock()
					running--
					mu.Unlock()
					s.Release()
				})
				if st := s.Stats(); st.Running > cfg.MaxConcurrent || st.Queued > cfg.MaxQueued {
					t.Fatalf("seed %d: %+v beyond %+v", seed, st, cfg)
				}
				time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
			}
			wg.Wait()
			if st := s.Stats(); st.Running != 0 || st.Queued != 0 || most > cfg.MaxConcurrent {
				t.Errorf("seed %d: stats %+v after the run, at most %d running", seed, st, most)
			}
		})
	}
}

// TestHandlerShed checks that Handler answers a shed request 503 with
// Retry-After, without calling next, and serves by priority.
func TestHandlerShed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewShedder(ShedConfig{MaxConcurrent: 1, MaxQueued: 1, Interval: time.Second, Priority: func(req *http.Request) int {
			p, _ := strconv.Atoi(req.Header.Get("Priority"))
			return p
		}})
		release := make(chan struct{})
		var served []string
		h := (&Recovery{Shed: s}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			served = append(served, req.Header.Get("Priority"))
			if req.Header.Get("Priority") == "9" {
				<-release
			}
		}))
		do := func(prio string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Priority", prio)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		go do("9") // holds the slot
		synctest.Wait()
		var low *httptest.ResponseRecorder
		go func() { low = do("0") }()
		synctest.Wait()
		high := make(chan *httptest.ResponseRecorder)
		go func() { high <- do("5") }() // evicts the low one
		synctest.Wait()
		if low == nil || low.Code != http.StatusServiceUnavailable || low.Header().Get("Retry-After") != "1" {
			t.Fatalf("the evicted request: %v, want 503 with Retry-After: 1", low)
		}
		close(release)
		if w := <-high; w.Code != 200 {
			t.Errorf("the high-priority request: %d, want 200", w.Code)
		}
		if fmt.Sprint(served) != "[9 5]" {
			t.Errorf("next served %v, want [9 5]", served)
		}
	})
}

func BenchmarkShedder(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		s := NewShedder(ShedConfig{})
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Acquire(ctx, 0); err != nil {
				b.Fatal(err)
			}
			s.Release()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := NewShedder(ShedConfig{MaxConcurrent: 1 << 20})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Acquire(ctx, 0); err != nil {
					b.Fatal(err)
				}
				s.Release()
			}
		})
	})
}
