package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// inMemory carries requests straight to a handler, so agent and fusion share
// a synctest bubble and fake time.
type inMemory struct{ h http.Handler }

func (t inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// recorder collects an agent's events.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) add(ev Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) of(kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, ev := range r.evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// start runs an agent against srv until the returned stop is called.
func start(t *testing.T, srv http.Handler, id string, tweak func(*Config)) (*Agent, *recorder, func()) {
	t.Helper()
	rec := new(recorder)
	cfg := Config{Fusion: "http://fusion", PipeID: "p", AgentID: id, Transport: inMemory{srv}, OnEvent: rec.add}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	return a, rec, func() { cancel(); <-done }
}

func TestBackoffScheduleAndDegraded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		srv.FailFor(time.Hour)
		t0 := time.Now()
		a, rec, stop := start(t, srv, "a1", nil)
		time.Sleep(5*time.Minute + time.Second)
		stop()
		fails := rec.of(Failed)
		want := []time.Duration{5, 10, 20, 40, 60, 60, 60}
		if len(fails) < len(want) {
			t.Fatalf("%d errors, want at least %d", len(fails), len(want))
		}
		at := t0
		for i, w := range want {
			if got := fails[i].Delay; got != w*time.Second {
				t.Errorf("delay after error %d = %v, want %v", i+1, got, w*time.Second)
			}
			if fails[i].Time != at {
				t.Errorf("error %d at %v, want %v", i+1, fails[i].Time.Sub(t0), at.Sub(t0))
			}
			if fails[i].Class != "service_unavailable" {
				t.Errorf("error %d class %q", i+1, fails[i].Class)
			}
			at = at.Add(w * time.Second)
		}
		deg := rec.of(BecameDegraded)
		if len(deg) != 1 || deg[0].Time != fails[4].Time {
			t.Errorf("degraded events %v, want one, at the 5th error", deg)
		}
		st := a.Status()
		if st.ConsecutiveErrors != len(fails) || st.ErrorsByClass["service_unavailable"] != uint64(len(fails)) {
			t.Errorf("status %+v", st)
		}
	})
}

func TestDegradedAfterMaxConsecutiveErrorsThenRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		srv.FailFor(5*time.Second + 10*time.Second + 20*time.Second + 30*time.Second) // 65s: errors at 0, 5, 15, 35
		a, rec, stop := start(t, srv, "a1", nil)
		defer stop()
		time.Sleep(36 * time.Second)
		if st := a.Status(); st.State != Connecting || st.ConsecutiveErrors != 4 {
			t.Fatalf("after 4 errors: %s with %d errors, want connecting with 4", st.State, st.ConsecutiveErrors)
		}
		time.Sleep(40 * time.Second) // 5th error at 75s... the outage ended at 65s
		if st := a.Status(); st.State != Ready || st.ConsecutiveErrors != 0 {
			t.Fatalf("after the outage: %s with %d errors, want ready with 0", st.State, st.ConsecutiveErrors)
		}
		if len(rec.of(BecameDegraded)) != 0 || len(rec.of(Recovered)) != 1 {
			t.Errorf("4 errors must not degrade; got %d degraded, %d recovered", len(rec.of(BecameDegraded)), len(rec.of(Recovered)))
		}
		// A second outage starts the schedule again at 5s.
		srv.FailFor(time.Hour)
		srv.Restart()
		time.Sleep(11 * time.Second) // next heartbeat fails
		fails := rec.of(Failed)
		if last := fails[len(fails)-1]; last.Delay != 5*time.Second {
			t.Errorf("first delay after a success = %v, want 5s (reset)", last.Delay)
		}
		time.Sleep(5 * time.Minute)
		if st := a.Status(); st.State != Degraded {
			t.Errorf("after a long outage: %s, want degraded", st.State)
		}
	})
}

func TestObsoleteSessionReconnectsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a, rec, stop := start(t, srv, "a1", nil)
		defer stop()
		synctest.Wait()
		first := a.Status().SessionID
		srv.Restart()
		time.Sleep(10 * time.Second) // the next heartbeat finds the session obsolete
		synctest.Wait()
		obs, created := rec.of(Obsolete), rec.of(SessionCreated)
		if len(obs) != 1 || len(created) != 2 {
			t.Fatalf("%d obsolete, %d sessions; want 1 and 2", len(obs), len(created))
		}
		if obs[0].SessionID != first || created[1].Time != obs[0].Time {
			t.Errorf("reconnected at %v after obsolete at %v, want the same instant", created[1].Time, obs[0].Time)
		}
		if n := len(rec.of(Failed)); n != 0 {
			t.Errorf("obsolete counted as %d errors, want 0", n)
		}
		if st := a.Status(); st.SessionID == first || st.SessionID == "" || st.Role != fusion.Leader || st.Sessions != 2 {
			t.Errorf("status after reconnect %+v", st)
		}
	})
}

// TestObsoleteEverySessionBacksOff runs an agent with events to push
// against a server that grants sessions but finds every one obsolete (410)
// at its first use: after the first obsolete session, which is reconnected
// at once, the agent backs off instead of looping.
func TestObsoleteEverySessionBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		var mu sync.Mutex
		creates := 0
		h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/api/v1/pipe/sessions/" {
				mu.Lock()
				creates++
				n := creates
				mu.Unlock()
				if n > 1000 { // the loop did not back off: stop it
					http.Error(w, "enough", http.StatusServiceUnavailable)
					return
				}
				srv.ServeHTTP(w, req)
				return
			}
			http.Error(w, "session obsolete", http.StatusGone)
		})
		a, rec, stop := start(t, h, "a1", nil)
		a.Submit(context.Background(), fusion.Event{Key: "/k", Mtime: 1})
		time.Sleep(time.Minute)
		stop()
		mu.Lock()
		defer mu.Unlock()
		// Sessions at 0s, 0s, then after backoffs of 5, 10, 20s: 35s.
		if creates != 5 {
			t.Errorf("%d sessions created in a minute, want 5 (one reconnect at once, then backoff)", creates)
		}
		if n := len(rec.of(Failed)); n != creates-1 {
			t.Errorf("%d failures counted, want %d: every obsolete session but the first", n, creates-1)
		}
	})
}

func TestAdaptiveHeartbeatSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a, rec, stop := start(t, srv, "a1", nil)
		ctx := context.Background()
		// A push every 4s: every heartbeat finds an ack within 10s.
		for i := range 30 {
			a.Submit(ctx, fusion.Event{Key: "/k", Mtime: float64(i), Seq: int64(i)})
			time.Sleep(4 * time.Second)
		}
		stop()
		st := a.Status()
		// 120s = 12 heartbeat ticks: skip, skip, send, skip, skip, send...
		if st.SkippedHeartbeats != 8 || st.Heartbeats != 4 {
			t.Errorf("%d skipped, %d sent; want 8 and 4", st.SkippedHeartbeats, st.Heartbeats)
		}
		if st.Sessions != 1 || len(rec.of(Obsolete)) != 0 {
			t.Errorf("skipping heartbeats lost the session: %+v", st)
		}

		// Without pushes, no heartbeat is skipped.
		srv2 := fusion.New(fusion.Config{})
		defer srv2.Close()
		b, _, stop2 := start(t, srv2, "b1", nil)
		time.Sleep(100 * time.Second)
		stop2()
		if st := b.Status(); st.SkippedHeartbeats != 0 || st.Heartbeats != 10 {
			t.Errorf("idle agent: %d skipped, %d sent; want 0 and 10", st.SkippedHeartbeats, st.Heartbeats)
		}
	})
}

func TestServerSuggestedHeartbeatInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{SessionTimeout: 9 * time.Second}) // suggests 3s
		defer srv.Close()
		a, _, stop := start(t, srv, "a1", func(c *Config) { c.HeartbeatInterval = time.Hour })
		time.Sleep(30*time.Second + time.Millisecond)
		stop()
		if st := a.Status(); st.Heartbeats != 10 || st.Sessions != 1 {
			t.Errorf("%d heartbeats, %d sessions in 30s; want 10 (every 3s) and 1", st.Heartbeats, st.Sessions)
		}
	})
}

func TestLeaderFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a1, _, stop1 := start(t, srv, "a1", nil)
		synctest.Wait()
		a2, rec2, stop2 := start(t, srv, "a2", nil)
		defer stop2()
		synctest.Wait()
		if a1.Status().Role != fusion.Leader || a2.Status().Role != fusion.Follower {
			t.Fatalf("roles %s/%s, want leader/follower", a1.Status().Role, a2.Status().Role)
		}
		stop1()
		stopped := time.Now()
		time.Sleep(45 * time.Second)
		if a2.Status().Role != fusion.Leader {
			t.Fatalf("follower not promoted 45s after the leader stopped")
		}
		roles := rec2.of(RoleChanged)
		if len(roles) != 1 || roles[0].Role != fusion.Leader {
			t.Fatalf("role changes %v", roles)
		}
		// Promotion waits for the leader's session to expire (30s idle).
		if d := roles[0].Time.Sub(stopped); d <= 30*time.Second || d > 40*time.Second {
			t.Errorf("promoted %v after the leader stopped, want in (30s, 40s]", d)
		}
	})
}

func TestNoEventLostAcrossOutageAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a1, _, stop1 := start(t, srv, "a1", func(c *Config) { c.SpoolSize = 16; c.BatchSize = 5 })
		defer stop1()
		a2, _, stop2 := start(t, srv, "a2", func(c *Config) { c.SpoolSize = 16; c.BatchSize = 5 })
		defer stop2()
		ctx := context.Background()
		want := map[string]fusion.Entry{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, a := range []*Agent{a1, a2} {
			wg.Go(func() {
				for n := range 300 {
					key := fmt.Sprintf("/f%d", n%40) // both agents write the same keys
					ev := fusion.Event{Key: key, Mtime: float64(time.Now().UnixNano()) / 1e9, Seq: int64(n*2 + i), Payload: fmt.Sprint(i, "-", n)}
					if err := a.Submit(ctx, ev); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if w, ok := want[key]; !ok || w.Newer(ev.Mtime, ev.Seq) {
						want[key] = fusion.Entry{Mtime: ev.Mtime, Seq: ev.Seq, Payload: ev.Payload}
					}
					mu.Unlock()
					time.Sleep(time.Second)
				}
			})
		}
		time.Sleep(30 * time.Second)
		srv.FailFor(2 * time.Minute)
		time.Sleep(3 * time.Minute)
		srv.Restart()
		time.Sleep(20 * time.Second)
		srv.HangFor(30 * time.Second)
		wg.Wait()
		for _, a := range []*Agent{a1, a2} {
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			st := a.Status()
			if st.Submitted != 300 || st.Acked != 300 || st.Spooled != 0 {
				t.Errorf("%s: submitted %d, acked %d, spooled %d", st.Agent, st.Submitted, st.Acked, st.Spooled)
			}
			if st.BackpressureWaits == 0 {
				t.Errorf("%s: a 16-event spool never pushed back during a 2-minute outage", st.Agent)
			}
			if st.Sessions < 2 {
				t.Errorf("%s: %d sessions, want a new one after the restart", st.Agent, st.Sessions)
			}
		}
		got := srv.View("p")
		if len(got) != len(want) {
			t.Fatalf("view has %d keys, want %d", len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("view[%s] = %+v, want %+v", k, got[k], w)
			}
		}
	})
}

func TestHungServerTimesOutAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		srv.HangFor(time.Minute)
		t0 := time.Now()
		a, rec, stop := start(t, srv, "a1", func(c *Config) { c.RequestTimeout = 2 * time.Second })
		defer stop()
		time.Sleep(61 * time.Second)
		fails := rec.of(Failed)
		if len(fails) == 0 || !errors.Is(fails[0].Err, context.DeadlineExceeded) || fails[0].Time.Sub(t0) != 2*time.Second {
			t.Fatalf("errors %v, want deadline exceeded after 2s", fails)
		}
		time.Sleep(2 * time.Minute)
		if st := a.Status(); st.SessionID == "" || st.State != Ready {
			t.Errorf("after the hang: %+v", st)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Fusion: "http://127.0.0.1:1", PipeID: "p", AgentID: "a"}
	tests := []struct {
		name   string
		change func(*Config)
		field  string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no fusion", func(c *Config) { c.Fusion = "" }, "Fusion"},
		{"bad fusion", func(c *Config) { c.Fusion = "ftp://x" }, "Fusion"},
		{"no pipe", func(c *Config) { c.PipeID = "" }, "PipeID"},
		{"no agent", func(c *Config) { c.AgentID = "" }, "AgentID"},
		{"negative heartbeat", func(c *Config) { c.HeartbeatInterval = -1 }, "HeartbeatInterval"},
		{"huge backoff", func(c *Config) { c.MaxBackoff = 1 << 62 }, "MaxBackoff"},
		{"max below initial", func(c *Config) { c.ErrorRetryInterval = time.Minute; c.MaxBackoff = time.Second }, "MaxBackoff"},
		{"multiplier below 1", func(c *Config) { c.BackoffMultiplier = 0.5 }, "BackoffMultiplier"},
		{"negative errors", func(c *Config) { c.MaxConsecutiveErrors = -3 }, "MaxConsecutiveErrors"},
		{"huge spool", func(c *Config) { c.SpoolSize = 1 << 40 }, "SpoolSize"},
		{"zero batch", func(c *Config) { c.BatchSize = -1 }, "BatchSize"},
		{"negative event size", func(c *Config) { c.MaxEventBytes = -1 }, "MaxEventBytes"},
		{"huge event size", func(c *Config) { c.MaxEventBytes = 1 << 40 }, "MaxEventBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestFollowerAuditTickDoesNotResetBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		_, _, stop1 := start(t, srv, "a1", nil)
		defer stop1()
		synctest.Wait()
		_, rec, stop2 := start(t, srv, "a2", func(c *Config) { c.AuditInterval = time.Second })
		defer stop2()
		synctest.Wait()
		srv.FailFor(time.Hour)
		time.Sleep(3 * time.Minute)
		var got []time.Duration
		for _, f := range rec.of(Failed) {
			got = append(got, f.Delay/time.Second)
		}
		if want := []time.Duration{5, 10, 20, 40, 60}; len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("follower delays %v s, want %v s first", got, want)
		}
	})
}

// keyRecorder records the Idempotency-Key of every request by operation.
type keyRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	keys map[string][]string
}

func (k *keyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	path := strings.TrimSuffix(req.URL.Path, "/")
	op := path[strings.LastIndex(path, "/")+1:]
	k.mu.Lock()
	k.keys[op] = append(k.keys[op], req.Header.Get("Idempotency-Key"))
	k.mu.Unlock()
	return k.next.RoundTrip(req)
}

func TestOnlyRepeatableRequestsCarryAnIdempotencyKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		rec := &keyRecorder{next: inMemory{srv}, keys: map[string][]string{}}
		a, _, stop := start(t, srv, "a1", func(c *Config) { c.Transport = rec })
		a.Submit(context.Background(), fusion.Event{Key: "/a", Mtime: 1, Seq: 1})
		time.Sleep(25 * time.Second)
		stop()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if keys := rec.keys["sessions"]; len(keys) != 1 || keys[0] != "" {
			t.Errorf("session creation keys %q, want one request without a key", keys)
		}
		seen := map[string]bool{}
		for _, op := range []string{"events", "heartbeat"} {
			if len(rec.keys[op]) == 0 {
				t.Fatalf("no %s request", op)
			}
			for _, k := range rec.keys[op] {
				if k == "" || seen[k] {
					t.Errorf("%s key %q: want a unique key per request", op, k)
				}
				seen[k] = true
			}
		}
	})
}

// TestLargestEventsAreDelivered submits events of the largest size Submit
// accepts by default: each fits fusion's default body limit alone, two do
// not, so the pushes are split until they fit.
func TestLargestEventsAreDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a, _, stop := start(t, srv, "a1", nil)
		defer stop()
		ctx := context.Background()
		for i := range 3 {
			ev := fusion.Event{Key: fmt.Sprint("/big", i), Mtime: 1, Seq: int64(i)}
			b, _ := json.Marshal(ev)
			ev.Payload = strings.Repeat("x", 512<<10-len(b)) // exactly MaxEventBytes as JSON
			if err := a.Submit(ctx, ev); err != nil {
				t.Fatalf("Submit(%d): %v", i, err)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		if err := a.Flush(fctx); err != nil {
			t.Fatalf("Flush: %v; status %+v", err, a.Status())
		}
		if got := srv.View("p"); len(got) != 3 {
			t.Errorf("view holds %d keys, want 3", len(got))
		}
	})
}

// TestSubmitRefusesUndeliverableEvents: an event that can never be delivered
// (it cannot be encoded as JSON, or fusion must refuse it) is refused by
// Submit: accepted, it would stay at the head of the spool forever and block
// every event behind it.
func TestSubmitRefusesUndeliverableEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   fusion.Event
	}{
		{"empty key", fusion.Event{Key: "", Mtime: 1, Seq: 1}},
		{"NaN mtime", fusion.Event{Key: "/a", Mtime: math.NaN(), Seq: 1}},
		{"infinite mtime", fusion.Event{Key: "/a", Mtime: math.Inf(1), Seq: 1}},
		{"-infinite mtime", fusion.Event{Key: "/a", Mtime: math.Inf(-1), Seq: 1}},
		{"key not UTF-8", fusion.Event{Key: "/a\xff", Mtime: 1, Seq: 1}},
		{"payload not UTF-8", fusion.Event{Key: "/a", Mtime: 1, Seq: 1, Payload: "\xfe\xff"}},
		// 200 KiB of control bytes is 1.2 MiB as JSON: over fusion's limit.
		{"too large as JSON", fusion.Event{Key: "/a", Mtime: 1, Seq: 1, Payload: strings.Repeat("\x01", 200<<10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := fusion.New(fusion.Config{})
				defer srv.Close()
				a, _, stop := start(t, srv, "a1", nil)
				defer stop()
				ctx := context.Background()
				if err := a.Submit(ctx, tt.ev); !errors.Is(err, ErrInvalidEvent) {
					t.Errorf("Submit = %v, want ErrInvalidEvent", err)
				}
				good := fusion.Event{Key: "/ok", Mtime: 2, Seq: 2, Payload: "ok"}
				if err := a.Submit(ctx, good); err != nil {
					t.Fatal(err)
				}
				fctx, cancel := context.WithTimeout(ctx, time.Hour)
				defer cancel()
				if err := a.Flush(fctx); err != nil {
					t.Fatalf("Flush: %v; status %+v", err, a.Status())
				}
				if got := srv.View("p"); len(got) != 1 || got["/ok"].Payload != "ok" {
					t.Errorf("view %v, want only /ok", got)
				}
				if st := a.Status(); st.Submitted != 1 || st.Acked != 1 {
					t.Errorf("submitted %d, acked %d; want 1 and 1", st.Submitted, st.Acked)
				}
			})
		})
	}
}

// Events that each fit fusion's body limit are delivered even when a full
// batch of them does not: a 413 makes the agent push fewer at a time.
func TestBatchOverBodyLimitIsSplit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{MaxBodyBytes: 64 << 10})
		defer srv.Close()
		a, rec, stop := start(t, srv, "a1", func(c *Config) { c.BatchSize = 16 })
		defer stop()
		ctx := context.Background()
		payload := strings.Repeat("x", 10<<10) // 16 of them are 160 KiB
		for i := range 40 {
			if err := a.Submit(ctx, fusion.Event{Key: fmt.Sprint("/f", i), Mtime: 1, Seq: int64(i), Payload: payload}); err != nil {
				t.Fatal(err)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		if err := a.Flush(fctx); err != nil {
			t.Fatalf("Flush: %v; status %+v", err, a.Status())
		}
		if got := len(srv.View("p")); got != 40 {
			t.Errorf("view has %d keys, want 40", got)
		}
		if n := len(rec.of(Failed)); n != 0 {
			t.Errorf("%d errors, want none: a batch that is too large is split, not failed", n)
		}
	})
}

// A suggested heartbeat interval that rounds to zero is no suggestion: the
// agent keeps its own interval instead of heartbeating in a tight loop.
func TestSuggestedIntervalUnderANanosecondIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		beats, sessions := 0, 0
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/heartbeat") {
				beats++
				if beats == 1000 { // a tight loop: end it with a sane session
					w.WriteHeader(http.StatusGone)
					return
				}
				fmt.Fprint(w, `{"role":"leader"}`)
				return
			}
			sessions++
			interval := "1e-12"
			if beats >= 1000 {
				interval = "10"
			}
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"session_id":"s%d","role":"leader","heartbeat_interval_seconds":%s,"session_timeout_seconds":30}`, sessions, interval)
		})
		_, _, stop := start(t, h, "a1", func(c *Config) { c.HeartbeatInterval = 5 * time.Second })
		time.Sleep(30*time.Second + time.Millisecond)
		stop()
		mu.Lock()
		defer mu.Unlock()
		if beats != 6 || sessions != 1 {
			t.Errorf("%d heartbeats, %d sessions in 30s; want 6 (every 5s) and 1", beats, sessions)
		}
	})
}

// The leader audits its own pipe whatever characters its id holds.
func TestAuditEscapesPipeID(t *testing.T) {
	for _, pipe := range []string{"a+b", "p&pipe_id=q", "p#1", "p q", "p%41"} {
		t.Run(pipe, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := fusion.New(fusion.Config{})
				defer srv.Close()
				a, rec, stop := start(t, srv, "a1", func(c *Config) { c.PipeID = pipe; c.AuditInterval = time.Second })
				defer stop()
				if err := a.Submit(context.Background(), fusion.Event{Key: "/a", Mtime: 1, Seq: 1}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				if got := len(srv.View(pipe)); got != 1 {
					t.Fatalf("view of %q has %d entries, want 1", pipe, got)
				}
				audits := rec.of(Audited)
				if len(audits) == 0 || audits[len(audits)-1].N != 1 {
					t.Errorf("audits %v, want the last one to count 1 entry; failures %v", audits, rec.of(Failed))
				}
			})
		})
	}
}

// Two Runs at once would both push and commit the head of the spool, and
// the second commit would drop events never sent: the second Run refuses.
func TestRunTwiceAtOnceIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := fusion.New(fusion.Config{})
		defer srv.Close()
		a, _, stop := start(t, srv, "a1", nil)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Run(ctx); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
		if ctx.Err() != nil {
			t.Error("the second Run ran until its context ended")
		}
		stop()
		// Once the first Run has returned, Run may be called again.
		ctx2, cancel2 := context.WithCancel(context.Background())
		cancel2()
		if err := a.Run(ctx2); err != nil {
			t.Errorf("Run after the first returned = %v, want nil", err)
		}
	})
}
