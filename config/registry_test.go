package config_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/middleware"
)

const regV1 = `
fault_tolerance:
  circuit_breaker: {failure_threshold: 2, timeout: 60s}
  error_tracking: {enabled: true}
tools:
  - name: api
    retry: {max_attempts: 2, initial_delay: 1ms, max_delay: 1ms, jitter: false}
    bulkhead: {max_concurrent: 1, max_queued: 0}
  - name: other
    timeout_ms: 1000
`

func trip(t *testing.T, b *breaker.Breaker) {
	t.Helper()
	for b.State() != breaker.Open {
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(errors.New("down"))
	}
}

func TestRegistryKeepsWhatDidNotChange(t *testing.T) {
	reg, err := config.NewRegistry(load(t, regV1), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	api, other := reg.Recovery("api"), reg.Recovery("other")
	if api == nil || other == nil || reg.Recovery("nope") != nil {
		t.Fatalf("api %v, other %v", api, other)
	}
	trip(t, api.Breaker)

	// Only api's retry changes: api gets a new Recovery with the same
	// breaker (still open), bulkhead and tracker; other keeps its Recovery.
	if err := reg.Update(load(t, strings.Replace(regV1, "max_attempts: 2", "max_attempts: 4", 1))); err != nil {
		t.Fatal(err)
	}
	api2 := reg.Recovery("api")
	switch {
	case api2 == api:
		t.Fatal("api's Recovery was kept although its retry changed")
	case api2.Retry.MaxAttempts != 4:
		t.Errorf("MaxAttempts %d, want 4", api2.Retry.MaxAttempts)
	case api2.Breaker != api.Breaker || api2.Breaker.State() != breaker.Open:
		t.Error("the breaker was replaced although its settings did not change")
	case api2.Bulkhead != api.Bulkhead || api2.Tracker != api.Tracker:
		t.Error("the bulkhead or tracker was replaced although its settings did not change")
	case reg.Recovery("other") != other:
		t.Error("other's Recovery was replaced although nothing of it changed")
	}

	// The breaker's timeout changes: a new, closed breaker; the rest stays.
	if err := reg.Update(load(t, strings.Replace(regV1, "timeout: 60s", "timeout: 30s", 1))); err != nil {
		t.Fatal(err)
	}
	api3 := reg.Recovery("api")
	if api3.Breaker == api.Breaker || api3.Breaker.State() != breaker.Closed || api3.Bulkhead != api.Bulkhead {
		t.Errorf("after a breaker change: breaker kept %v, state %v, bulkhead kept %v",
			api3.Breaker == api.Breaker, api3.Breaker.State(), api3.Bulkhead == api.Bulkhead)
	}
	if reg.Recovery("other").Breaker == other.Breaker {
		t.Error("other's breaker was kept although the global breaker changed")
	}

	// An invalid config changes nothing.
	if err := reg.Update(&config.Config{Tools: []config.Tool{{Name: ""}}}); err == nil {
		t.Fatal("Update accepted an invalid config")
	}
	if reg.Recovery("api") != api3 {
		t.Error("a refused Update changed the Recovery")
	}
	if err := reg.Reload(); !errors.Is(err, config.ErrNoFile) {
		t.Errorf("Reload without a file: %v", err)
	}
}

func TestRegistryCallsInFlightFinishOnTheOldConfig(t *testing.T) {
	reg, err := config.NewRegistry(load(t, regV1), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := reg.Recovery("api")
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := config.Do(context.Background(), reg, "api", func(context.Context) (int, error) {
			close(inside)
			<-release
			return 1, nil
		})
		done <- err
	}()
	<-inside
	if err := reg.Update(load(t, strings.Replace(regV1, "max_concurrent: 1", "max_concurrent: 2", 1))); err != nil {
		t.Fatal(err)
	}
	cur := reg.Recovery("api")
	if cur.Bulkhead == old.Bulkhead {
		t.Fatal("the bulkhead was kept although max_concurrent changed")
	}
	if in := old.Bulkhead.Stats().InFlight; in != 1 {
		t.Errorf("old bulkhead holds %d calls, want the one in flight", in)
	}
	if in := cur.Bulkhead.Stats().InFlight; in != 0 {
		t.Errorf("new bulkhead holds %d calls, want 0", in)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if in := old.Bulkhead.Stats().InFlight; in != 0 {
		t.Errorf("old bulkhead still holds %d calls", in)
	}
}

func TestRegistryReloadUnderConcurrentCalls(t *testing.T) {
	v2 := strings.Replace(regV1, "max_attempts: 2", "max_attempts: 3", 1)
	configs := []*config.Config{load(t, regV1), load(t, v2)}
	reg, err := config.NewRegistry(configs[0], config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	breakers := map[*breaker.Breaker]bool{reg.Recovery("api").Breaker: true}
	var calls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := config.Do(context.Background(), reg, "other", func(context.Context) (int, error) {
					calls.Add(1)
					return 1, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	wg.Go(func() {
		for i := range 200 {
			if err := reg.Update(configs[i%2]); err != nil {
				t.Error(err)
			}
			mu.Lock()
			breakers[reg.Recovery("api").Breaker] = true
			mu.Unlock()
		}
		close(stop)
	})
	wg.Wait()
	if calls.Load() == 0 {
		t.Fatal("no call ran")
	}
	if len(breakers) != 1 {
		t.Errorf("%d breakers over the reloads, want the one whose settings never changed", len(breakers))
	}
}

func TestWatchFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "forge.yaml")
		write := func(s string) {
			if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(regV1)
		var reloads []string
		var mu sync.Mutex
		reg, err := config.WatchFile(path, time.Second, config.Options{OnReload: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reloads = append(reloads, errString(err))
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		first := reg.Recovery("api")

		time.Sleep(3 * time.Second) // unchanged: nothing reloads
		synctest.Wait()
		if reg.Recovery("api") != first || len(reloads) != 0 {
			t.Fatalf("an unchanged file reloaded: %q", reloads)
		}

		write(strings.Replace(regV1, "max_attempts: 2", "max_attempts: 5", 1))
		time.Sleep(time.Second)
		synctest.Wait()
		if got := reg.Recovery("api").Retry.MaxAttempts; got != 5 || len(reloads) != 1 || reloads[0] != "" {
			t.Fatalf("after an edit: MaxAttempts %d, reloads %q", got, reloads)
		}
		if reg.Recovery("api").Breaker != first.Breaker {
			t.Error("the reload replaced an unchanged breaker")
		}

		write(strings.Replace(regV1, "max_attempts: 2", "max_attempts: 0", 1))
		time.Sleep(time.Second)
		synctest.Wait()
		if got := reg.Recovery("api").Retry.MaxAttempts; got != 5 || len(reloads) != 2 || !strings.Contains(reloads[1], "tools[0].retry.max_attempts: must be at least 1, got 0") {
			t.Fatalf("after a bad edit: MaxAttempts %d, reloads %q", got, reloads)
		}
		if err := reg.Reload(); err == nil {
			t.Error("Reload of the bad file succeeded")
		}

		reg.Close()
		reg.Close()
		write(regV1)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if len(reloads) != 2 || reg.Recovery("api").Retry.MaxAttempts != 5 {
			t.Errorf("polled after Close: %q", reloads)
		}
		if err := reg.Reload(); err != nil || reg.Recovery("api").Retry.MaxAttempts != 2 {
			t.Errorf("explicit Reload after Close: %v", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestWatchFileRefusesABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "forge.yaml")
	os.WriteFile(path, []byte("tools:\n- name: a\n  retry: {max_attempts: 0}\n"), 0o600)
	if reg, err := config.WatchFile(path, time.Second, config.Options{}); err == nil {
		reg.Close()
		t.Fatal("WatchFile accepted an invalid file")
	}
	if _, err := config.WatchFile(filepath.Join(t.TempDir(), "none.yaml"), 0, config.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRegistryTransport(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	reg, err := config.NewRegistry(load(t, regV1), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: reg.Transport("api", base)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || hits.Load() != 2 {
		t.Errorf("status %d after %d attempts, want 200 after a retry", resp.StatusCode, hits.Load())
	}
	_, err = (&http.Client{Transport: reg.Transport("nope", base)}).Get(srv.URL)
	if !errors.Is(err, config.ErrUnknownTool) {
		t.Errorf("unknown tool: %v", err)
	}
	if _, err := config.Do(context.Background(), reg, "nope", func(context.Context) (int, error) {
		t.Error("fn called for an unknown tool")
		return 0, nil
	}); !errors.Is(err, config.ErrUnknownTool) {
		t.Errorf("Do of an unknown tool: %v", err)
	}
}

func TestRegistryRecoveryAllocatesNothing(t *testing.T) {
	reg, err := config.NewRegistry(load(t, regV1), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = reg.Recovery("api") }); n != 0 {
		t.Errorf("Recovery: %v allocations, want 0", n)
	}
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	viaRegistry := testing.AllocsPerRun(1000, func() { _, _ = config.Do(ctx, reg, "other", fn) })
	direct := testing.AllocsPerRun(1000, func() { _, _ = middleware.Do(ctx, reg.Recovery("other"), fn) })
	if viaRegistry != direct {
		t.Errorf("config.Do: %v allocations, middleware.Do: %v; want the same", viaRegistry, direct)
	}
}

func BenchmarkRegistryRecovery(b *testing.B) {
	reg, err := config.NewRegistry(mustLoad(regV1), config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if reg.Recovery("api") == nil {
				b.Fatal("nil")
			}
		}
	})
}

func BenchmarkDo(b *testing.B) {
	reg, err := config.NewRegistry(mustLoad(`
fault_tolerance:
  circuit_breaker: {}
tools:
  - name: api
    retry: {}
`), config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	fn := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	b.Run("middleware.Do", func(b *testing.B) {
		rec := reg.Recovery("api")
		b.ReportAllocs()
		for b.Loop() {
			_, _ = middleware.Do(ctx, rec, fn)
		}
	})
	b.Run("config.Do", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = config.Do(ctx, reg, "api", fn)
		}
	})
}

func mustLoad(s string) *config.Config {
	c, err := config.Load(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return c
}

func BenchmarkRegistryRecoverySerial(b *testing.B) {
	reg, err := config.NewRegistry(mustLoad(regV1), config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if reg.Recovery("api") == nil {
			b.Fatal("nil")
		}
	}
}
