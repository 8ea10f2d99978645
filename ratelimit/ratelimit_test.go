package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type retryAfter interface{ RetryAfter() time.Duration }

func TestAllow(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		burst   int           // events allowed at once from a full bucket
		refill  time.Duration // time for one more token
		unbound bool
	}{
		{"defaults", Config{}, 10, 100 * time.Millisecond, false},
		{"rate 2, burst 1", Config{Rate: 2, Burst: 1}, 1, 500 * time.Millisecond, false},
		{"fractional rate", Config{Rate: 0.5}, 1, 2 * time.Second, false},
		{"burst above rate", Config{Rate: 100, Burst: 500}, 500, 10 * time.Millisecond, false},
		{"no limit", Config{Rate: math.Inf(1)}, 10_000, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := New(tt.cfg)
				for i := range tt.burst {
					if err := l.Allow(); err != nil {
						t.Fatalf("event %d of the burst refused: %v", i, err)
					}
				}
				err := l.Allow()
				if tt.unbound {
					if err != nil {
						t.Fatalf("unlimited limiter refused: %v", err)
					}
					return
				}
				if !errors.Is(err, ErrLimited) {
					t.Fatalf("event past the burst: %v, want ErrLimited", err)
				}
				if got := err.(retryAfter).RetryAfter(); got != tt.refill {
					t.Errorf("RetryAfter = %v, want %v", got, tt.refill)
				}
				time.Sleep(tt.refill / 2)
				if got := err.(retryAfter).RetryAfter(); got != tt.refill/2 {
					t.Errorf("RetryAfter half-way = %v, want %v (computed when asked)", got, tt.refill/2)
				}
				if err := l.Allow(); err == nil {
					t.Error("allowed half-way through the refill")
				}
				time.Sleep(tt.refill / 2)
				if err := l.Allow(); err != nil {
					t.Errorf("refused after the refill: %v", err)
				}
				if s := l.Stats(); s.Rejected != 2 || s.Burst != tt.burst {
					t.Errorf("Stats = %+v, want 2 rejected, burst %d", s, tt.burst)
				}
			})
		})
	}
}

func TestSustainedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 50, Burst: 5})
		allowed := 0
		for range 10_000 { // one attempt every ms for 10s
			if l.Allow() == nil {
				allowed++
			}
			time.Sleep(time.Millisecond)
		}
		if want := 5 + 50*10; allowed < want-2 || allowed > want+1 {
			t.Errorf("allowed %d in 10s, want about %d (burst + rate·10s)", allowed, want)
		}
	})
}

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 10, Burst: 1})
		start := time.Now()
		for i := range 5 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatalf("Wait %d: %v", i, err)
			}
		}
		if got := time.Since(start); got != 400*time.Millisecond {
			t.Errorf("5 waits took %v, want 400ms (one free, four at 100ms)", got)
		}
		if s := l.Stats(); s.Waited != 4 || s.Rejected != 0 {
			t.Errorf("Stats = %+v, want 4 waited, 0 rejected", s)
		}
	})
}

func TestWaitRefusesAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		timeout time.Duration // 0: no deadline
		ok      bool
	}{
		{"MaxWait exceeded", Config{Rate: 1, Burst: 1, MaxWait: 500 * time.Millisecond}, 0, false},
		{"MaxWait enough", Config{Rate: 1, Burst: 1, MaxWait: time.Second}, 0, true},
		{"deadline too near", Config{Rate: 1, Burst: 1}, 999 * time.Millisecond, false},
		{"deadline when the token is due", Config{Rate: 1, Burst: 1}, time.Second, false},
		{"deadline far enough", Config{Rate: 1, Burst: 1}, 2 * time.Second, true},
		{"both, MaxWait first", Config{Rate: 1, Burst: 1, MaxWait: 100 * time.Millisecond}, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := New(tt.cfg)
				ctx := context.Background()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				if err := l.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				before := l.Stats().Tokens
				start := time.Now()
				err := l.Wait(ctx)
				waited := time.Since(start)
				if tt.ok {
					if err != nil || waited != time.Second {
						t.Errorf("Wait = %v after %v, want nil after 1s", err, waited)
					}
					return
				}
				if !errors.Is(err, ErrLimited) || waited != 0 {
					t.Fatalf("Wait = %v after %v, want ErrLimited at once", err, waited)
				}
				if got := err.(retryAfter).RetryAfter(); got != time.Second {
					t.Errorf("RetryAfter = %v, want the reservation's 1s", got)
				}
				if after := l.Stats().Tokens; after != before {
					t.Errorf("tokens %v after the refusal, %v before: reservation not cancelled", after, before)
				}
				if s := l.Stats(); s.Rejected != 1 || s.Waited != 0 {
					t.Errorf("Stats = %+v, want 1 rejected", s)
				}
			})
		})
	}
}

func TestWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 1, Burst: 1})
		l.Allow()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- l.Wait(ctx) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		// The cancelled reservation is given back: a token is due at 1s,
		// not 2s.
		time.Sleep(700 * time.Millisecond)
		if err := l.Allow(); err != nil {
			t.Errorf("Allow at 1s = %v: the cancelled waiter kept its token", err)
		}
		if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait on an ended ctx = %v, want context.Canceled", err)
		}
	})
}

func TestErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hooked []error
		l := New(Config{Rate: 1, Burst: 1, MaxWait: time.Millisecond, OnReject: func(err error) { hooked = append(hooked, err) }})
		l.Allow()
		errs := []error{l.Allow(), l.Wait(context.Background())}
		for _, err := range errs {
			if !errors.Is(err, ErrLimited) {
				t.Errorf("%v does not match ErrLimited", err)
			}
			var le interface{ RetryAfter() time.Duration }
			if !errors.As(err, &le) || le.RetryAfter() <= 0 {
				t.Errorf("%v has no positive RetryAfter", err)
			}
			if c := err.(interface{ ErrorClass() string }).ErrorClass(); c != "rate_limited" {
				t.Errorf("ErrorClass = %q", c)
			}
			if err.Error() != "ratelimit: rate limited" {
				t.Errorf("Error() = %q", err)
			}
		}
		if _, custom := ErrLimited.(interface{ ErrorClass() string }); custom {
			t.Error("ErrLimited is a custom type; want a plain errors.New sentinel")
		}
		if len(hooked) != 2 || hooked[0] != errs[0] || hooked[1] != errs[1] {
			t.Errorf("OnReject saw %v, want the two refusals", hooked)
		}
	})
}

func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 1, Burst: 1, MaxWait: time.Millisecond})
		v, err := Do(context.Background(), l, func(context.Context) (int, error) { return 3, nil })
		if v != 3 || err != nil {
			t.Fatalf("Do = %d, %v", v, err)
		}
		called := false
		if _, err := Do(context.Background(), l, func(context.Context) (int, error) { called = true; return 0, nil }); !errors.Is(err, ErrLimited) || called {
			t.Errorf("Do past the rate = %v, called %v; want ErrLimited without a call", err, called)
		}
		time.Sleep(time.Second)
		if err := l.Do(context.Background(), func(context.Context) error { called = true; return nil }); err != nil || !called {
			t.Errorf("(*Limiter).Do = %v, called %v", err, called)
		}
		called = false
		if err := l.Do(context.Background(), func(context.Context) error { called = true; return nil }); !errors.Is(err, ErrLimited) || called {
			t.Errorf("(*Limiter).Do past the rate = %v, called %v", err, called)
		}
	})
}

func TestGroupKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(GroupConfig{Config: Config{Rate: 1, Burst: 2}})
		for range 2 {
			if err := g.Allow("a"); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Allow("a"); !errors.Is(err, ErrLimited) {
			t.Errorf("a's third event: %v, want ErrLimited", err)
		}
		if err := g.Allow("b"); err != nil {
			t.Errorf("b refused because of a: %v", err)
		}
		if err := g.Wait(context.Background(), "b"); err != nil {
			t.Errorf("b's Wait: %v", err)
		}
		if s := g.Stats(); s.Keys != 2 || s.Rejected != 1 || s.Evicted != 0 {
			t.Errorf("Stats = %+v, want 2 keys, 1 rejected", s)
		}
		if a := g.Get("a"); a != g.Get("a") {
			t.Error("Get returns a different limiter for the same key")
		}
	})
}

func TestGroupEvictsLeastRecentlyUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(GroupConfig{Config: Config{Rate: 1, Burst: 1}, MaxKeys: 3})
		for _, k := range []string{"a", "b", "c"} {
			g.Allow(k) // each key spends its token
		}
		g.Get("a") // a is now the most recent; b the least
		g.Allow("d")
		if s := g.Stats(); s.Keys != 3 || s.Evicted != 1 {
			t.Fatalf("Stats = %+v, want 3 keys, 1 evicted", s)
		}
		// a, c and d are tracked (and empty); b was evicted and starts full.
		for _, k := range []string{"a", "c", "d"} {
			if err := g.Allow(k); !errors.Is(err, ErrLimited) {
				t.Errorf("%s: %v, want ErrLimited (its bucket was kept)", k, err)
			}
		}
		if err := g.Allow("b"); err != nil {
			t.Errorf("b after eviction: %v, want a full bucket", err)
		}
		// b's return evicted a, the least recent of a, c, d then (a was
		// touched before c and d's refusals above).
		if s := g.Stats(); s.Evicted != 2 {
			t.Errorf("Stats = %+v, want 2 evicted", s)
		}
		if err := g.Allow("a"); err != nil {
			t.Errorf("a after eviction: %v, want a full bucket", err)
		}
		g.Delete("a")
		g.Delete("nope")
		if s := g.Stats(); s.Keys != 2 {
			t.Errorf("Keys after Delete = %d, want 2", s.Keys)
		}
	})
}

func TestGroupOrderMatchesModel(t *testing.T) {
	// The recency list against a plain slice model, over a fixed stream.
	synctest.Test(t, func(t *testing.T) {
		const max = 5
		g := NewGroup(GroupConfig{MaxKeys: max})
		var model []string // least recent first
		for i := range 2000 {
			k := fmt.Sprint((i * 7919) % 13)
			if i%17 == 0 {
				g.Delete(k)
				for j, m := range model {
					if m == k {
						model = append(model[:j], model[j+1:]...)
						break
					}
				}
				continue
			}
			g.Get(k)
			for j, m := range model {
				if m == k {
					model = append(model[:j], model[j+1:]...)
					break
				}
			}
			if len(model) == max {
				model = model[1:]
			}
			model = append(model, k)
			var got []string
			for e := g.tail; e != nil; e = e.prev {
				got = append(got, e.key)
			}
			if fmt.Sprint(got) != fmt.Sprint(model) || len(g.keys) != len(model) {
				t.Fatalf("step %d: order %v, model %v", i, got, model)
			}
		}
	})
}

func TestGroupConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(GroupConfig{Config: Config{Rate: 1, Burst: 10}, MaxKeys: 8})
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := map[string]int{}
		for w := range 4 {
			wg.Go(func() {
				for i := range 200 {
					k := fmt.Sprint((w + i) % 4) // 4 keys: none evicted
					if g.Allow(k) == nil {
						mu.Lock()
						allowed[k]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		for k, n := range allowed {
			if n != 10 {
				t.Errorf("key %s: %d allowed, want its burst of 10", k, n)
			}
		}
		if s := g.Stats(); s.Keys != 4 || s.Rejected != 800-40 {
			t.Errorf("Stats = %+v, want 4 keys, 760 rejected", s)
		}
	})
}

func TestAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := New(Config{Rate: math.Inf(1)})
		shut := New(Config{Rate: 1, Burst: 1})
		shut.Allow()
		plenty := New(Config{Rate: 1e9, Burst: 1 << 30})
		g := NewGroup(GroupConfig{})
		g.Allow("client")
		ctx := context.Background()
		tests := []struct {
			name string
			f    func()
		}{
			{"Allow", func() { _ = plenty.Allow() }},
			{"Allow unlimited", func() { _ = open.Allow() }},
			{"Allow refused", func() { _ = shut.Allow() }},
			{"Wait with a token", func() { _ = plenty.Wait(ctx) }},
			{"Group.Allow known key", func() { _ = g.Allow("client") }},
			{"Stats", func() { _ = shut.Stats() }},
		}
		for _, tt := range tests {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Errorf("%s: %v allocs, want 0", tt.name, n)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"zero", Config{}, ""},
		{"full", Config{Rate: 5, Burst: 1, MaxWait: time.Second}, ""},
		{"infinite", Config{Rate: math.Inf(1)}, ""},
		{"Rate negative", Config{Rate: -1}, "Rate"},
		{"Rate NaN", Config{Rate: math.NaN()}, "Rate"},
		{"Rate -Inf", Config{Rate: math.Inf(-1)}, "Rate"},
		{"Rate huge", Config{Rate: 1e12}, "Rate"},
		{"Burst negative", Config{Burst: -1}, "Burst"},
		{"Burst huge", Config{Burst: 1 << 40}, "Burst"},
		{"MaxWait negative", Config{MaxWait: -time.Second}, "MaxWait"},
		{"MaxWait huge", Config{MaxWait: math.MaxInt64}, "MaxWait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "ratelimit: "+tt.field+" ") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.field)
			}
			groupErr := GroupConfig{Config: tt.cfg}.Validate()
			if want := strings.Replace(err.Error(), "ratelimit: ", "ratelimit: Config.", 1); groupErr == nil || groupErr.Error() != want {
				t.Fatalf("GroupConfig.Validate() = %v, want %q", groupErr, want)
			}
			for _, mk := range []struct {
				make func()
				err  error
			}{{func() { New(tt.cfg) }, err}, {func() { NewGroup(GroupConfig{Config: tt.cfg}) }, groupErr}} {
				func() {
					defer func() {
						if r := recover(); r != mk.err.Error() {
							t.Errorf("panicked with %v, want %q", r, mk.err.Error())
						}
					}()
					mk.make()
				}()
			}
		})
	}
	for _, n := range []int{-1, 1<<24 + 1} {
		if err := (GroupConfig{MaxKeys: n}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "ratelimit: MaxKeys ") {
			t.Errorf("GroupConfig{MaxKeys: %d}.Validate() = %v, want an error naming MaxKeys", n, err)
		}
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "ratelimit: MaxKeys ") {
					t.Errorf("NewGroup(MaxKeys %d) panicked with %q, want one naming MaxKeys", n, r)
				}
			}()
			NewGroup(GroupConfig{MaxKeys: n})
		}()
	}
}

func FuzzConfig(f *testing.F) {
	f.Add(10.0, 0, int64(0))
	f.Add(1e-300, 1, int64(time.Second))
	f.Add(1e9, 1<<30, int64(1<<60))
	f.Add(math.Inf(1), -1, int64(-1))
	f.Fuzz(func(t *testing.T, r float64, burst int, maxWait int64) {
		cfg := Config{Rate: r, Burst: burst, MaxWait: time.Duration(maxWait)}
		if err := cfg.Validate(); err != nil {
			if !strings.HasPrefix(err.Error(), "ratelimit: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		synctest.Test(t, func(t *testing.T) {
			l := New(cfg)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			for range 3 {
				err := l.Allow()
				if err != nil {
					if d := err.(retryAfter).RetryAfter(); d < 0 {
						t.Fatalf("negative RetryAfter %v", d)
					}
				}
				if err := l.Wait(ctx); err != nil && !errors.Is(err, ErrLimited) {
					t.Fatalf("Wait: %v", err)
				} else if err != nil && err.(retryAfter).RetryAfter() <= 0 {
					t.Fatalf("Wait refused with RetryAfter %v", err.(retryAfter).RetryAfter())
				}
			}
			if s := l.Stats(); s.Burst < 1 || !(s.Rate > 0) {
				t.Fatalf("Stats %+v", s)
			}
		})
	})
}

func BenchmarkAllow(b *testing.B) {
	l := New(Config{Rate: 1e9, Burst: 1 << 30})
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Allow()
	}
}
