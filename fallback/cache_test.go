package fallback_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/fallback"
)

func TestCacheServesLastGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hooked []fallback.Stale
		c := fallback.NewCache[string](fallback.CacheConfig{
			MaxAge:  time.Minute,
			OnStale: func(s fallback.Stale) { hooked = append(hooked, s) },
		})
		ctx := context.Background()
		if _, err := fallback.Do(ctx, c.Record("k", ok("v1")), c.Fallback("k")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)

		var stale fallback.Stale
		got, err := fallback.Do(ctx, c.Record("k", fail(errPrimary)), c.FallbackInto("k", &stale))
		if err != nil || got != "v1" {
			t.Fatalf("Do = %q, %v; want the stored v1", got, err)
		}
		want := fallback.Stale{Key: "k", Age: 30 * time.Second, Err: errPrimary}
		if stale != want {
			t.Errorf("stale = %+v, want %+v", stale, want)
		}
		if len(hooked) != 1 || hooked[0] != want {
			t.Errorf("OnStale got %+v, want [%+v]", hooked, want)
		}

		// A fresh success replaces the value and resets its age.
		if _, err := fallback.Do(ctx, c.Record("k", ok("v2")), c.Fallback("k")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Second)
		got, err = fallback.Do(ctx, fail(errPrimary), c.Fallback("k"))
		if err != nil || got != "v2" {
			t.Fatalf("Do = %q, %v; want the stored v2", got, err)
		}
	})
}

func TestCacheMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		maxAge time.Duration
		wait   time.Duration
		served bool
	}{
		{"younger than MaxAge", time.Minute, time.Minute - time.Nanosecond, true},
		{"exactly MaxAge", time.Minute, time.Minute, false},
		{"older than MaxAge", time.Minute, time.Hour, false},
		{"default 5 minutes, younger", 0, 5*time.Minute - time.Second, true},
		{"default 5 minutes, older", 0, 5 * time.Minute, false},
		{"huge MaxAge", time.Duration(1<<63 - 1), 100 * 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := fallback.NewCache[string](fallback.CacheConfig{MaxAge: tt.maxAge})
				c.Put("k", "old")
				time.Sleep(tt.wait)
				next := &step{value: "default"}
				var stale fallback.Stale
				got, err := fallback.Do(context.Background(), fail(errPrimary), c.FallbackInto("k", &stale), next.fn)
				if err != nil {
					t.Fatal(err)
				}
				if tt.served {
					if got != "old" || stale.Err == nil || len(next.got) != 0 {
						t.Fatalf("got %q, stale %+v; want the stored value", got, stale)
					}
					return
				}
				if got != "default" || stale.Err != nil {
					t.Fatalf("got %q, stale %+v; want the default", got, stale)
				}
				// A miss passes the error on unchanged.
				if len(next.got) != 1 || next.got[0] != errPrimary {
					t.Fatalf("next fallback received %v, want [%v]", next.got, errPrimary)
				}
			})
		})
	}
}

func TestCacheMissKeepsErrorChain(t *testing.T) {
	var c fallback.Cache[string] // the zero Cache is usable
	_, err := fallback.Do(context.Background(), fail(errPrimary), c.Fallback("absent"))
	if err != errPrimary {
		t.Fatalf("err = %v, want the primary error unchanged", err)
	}
	if s := c.Stats(); s.Missed != 1 || s.Served != 0 {
		t.Fatalf("stats = %+v, want one miss", s)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := fallback.NewCache[int](fallback.CacheConfig{MaxKeys: 2})
	serve := func(key string) bool {
		_, err := fallback.Do(context.Background(),
			func(context.Context) (int, error) { return 0, errPrimary }, c.Fallback(key))
		return err == nil
	}
	c.Put("a", 1)
	c.Put("b", 2)
	if !serve("a") { // a is now more recent than b
		t.Fatal("a not served")
	}
	c.Put("c", 3) // evicts b
	for key, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if got := serve(key); got != want {
			t.Errorf("served %q = %v, want %v", key, got, want)
		}
	}
	c.Delete("a")
	c.Delete("absent")
	if serve("a") {
		t.Error("deleted key served")
	}
	s := c.Stats()
	want := fallback.CacheStats{Keys: 1, Stored: 3, Served: 3, Missed: 2}
	if s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
}

func TestCacheConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  fallback.CacheConfig
		want string // substring of the error; "" means valid
	}{
		{"zero", fallback.CacheConfig{}, ""},
		{"negative MaxAge", fallback.CacheConfig{MaxAge: -1}, "fallback: MaxAge"},
		{"negative MaxKeys", fallback.CacheConfig{MaxKeys: -1}, "fallback: MaxKeys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), tt.want) {
					t.Fatalf("NewCache panicked with %v, want %q", r, tt.want)
				}
			}()
			fallback.NewCache[int](tt.cfg)
		})
	}
}

func TestCacheHookOutsideLock(t *testing.T) {
	var c *fallback.Cache[int]
	c = fallback.NewCache[int](fallback.CacheConfig{OnStale: func(fallback.Stale) {
		c.Put("other", 1) // would deadlock if the hook ran under the lock
		_ = c.Stats()
	}})
	c.Put("k", 1)
	if _, err := fallback.Do(context.Background(),
		func(context.Context) (int, error) { return 0, errPrimary }, c.Fallback("k")); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Keys; got != 2 {
		t.Fatalf("keys = %d, want 2", got)
	}
}

func TestCacheConcurrent(t *testing.T) {
	const maxKeys = 8
	c := fallback.NewCache[int](fallback.CacheConfig{MaxKeys: maxKeys})
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := keys[(g*7+i)%len(keys)]
				switch i % 3 {
				case 0:
					c.Put(key, i)
				case 1:
					_, _ = fallback.Do(context.Background(),
						func(context.Context) (int, error) { return 0, errPrimary }, c.Fallback(key))
				default:
					if i%30 == 2 {
						c.Delete(key)
					}
				}
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Keys > maxKeys {
		t.Fatalf("keys = %d, want at most %d", s.Keys, maxKeys)
	}
	if s.Stored != 8*667 || s.Served+s.Missed != 8*667 {
		t.Fatalf("stats = %+v, want 5336 stores and 5336 lookups", s)
	}
}

// FuzzCache runs arbitrary operation sequences against a simple model of a
// bounded LRU store with an age limit.
func FuzzCache(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 1, 1, 2, 2}, uint8(2))
	f.Add([]byte{0, 0, 3, 10, 1, 0, 2, 0, 1, 0}, uint8(1))
	f.Add([]byte{0, 5, 0, 6, 1, 5, 0, 7, 1, 6, 1, 7}, uint8(3))
	f.Fuzz(func(t *testing.T, ops []byte, maxKeys uint8) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		synctest.Test(t, func(t *testing.T) {
			const maxAge = 10 * time.Second
			c := fallback.NewCache[int](fallback.CacheConfig{MaxAge: maxAge, MaxKeys: int(maxKeys % 5)})
			limit := int(maxKeys % 5)
			if limit == 0 {
				limit = fallback.DefaultMaxKeys
			}
			type item struct {
				val int
				at  time.Time
			}
			model := map[string]item{}
			var order []string // least recently used first
			touch := func(k string) {
				for i, o := range order {
					if o == k {
						order = append(order[:i], order[i+1:]...)
						break
					}
				}
				order = append(order, k)
			}
			for i := 0; i+1 < len(ops); i += 2 {
				op, arg := ops[i]%4, ops[i+1]
				key := string(rune('a' + arg%6))
				switch op {
				case 0: // put
					if _, ok := model[key]; !ok && len(model) >= limit {
						delete(model, order[0])
						order = order[1:]
					}
					c.Put(key, i)
					model[key] = item{i, time.Now()}
					touch(key)
				case 1: // serve
					got, err := fallback.Do(context.Background(),
						func(context.Context) (int, error) { return 0, errPrimary }, c.Fallback(key))
					m, ok := model[key]
					fresh := ok && time.Since(m.at) < maxAge
					if fresh {
						touch(key)
					}
					if fresh != (err == nil) || (fresh && got != m.val) {
						t.Fatalf("op %d: serve %q = %d, %v; model %+v present %v", i, key, got, err, m, ok)
					}
					if !fresh && !errors.Is(err, errPrimary) {
						t.Fatalf("op %d: miss returned %v", i, err)
					}
				case 2: // delete
					c.Delete(key)
					if _, ok := model[key]; ok {
						delete(model, key)
						for j, o := range order {
							if o == key {
								order = append(order[:j], order[j+1:]...)
								break
							}
						}
					}
				case 3: // let time pass
					time.Sleep(time.Duration(arg%16) * time.Second)
				}
				if got := c.Stats().Keys; got != len(model) {
					t.Fatalf("op %d: keys = %d, model has %d", i, got, len(model))
				}
			}
		})
	})
}
