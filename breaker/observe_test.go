package breaker

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is an Observer that keeps every event.
type recorder struct{ events []Event }

func (r *recorder) Observe(e Event) { r.events = append(r.events, e) }

func TestObserversSeeTransitionsAndRejections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hooked []State
		a, c := &recorder{}, &recorder{}
		b := New(Config{
			FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: time.Second,
			OnStateChange: func(_, to State) { hooked = append(hooked, to) },
			Observers:     []Observer{a, c},
		})
		Do(t.Context(), b, fail)
		Do(t.Context(), b, fail) // opens
		time.Sleep(400 * time.Millisecond)
		Do(t.Context(), b, ok) // rejected, 600ms left
		time.Sleep(600 * time.Millisecond)
		Do(t.Context(), b, ok) // half-open probe, closes

		want := []Event{
			{Kind: EventStateChange, From: Closed, To: Open},
			{Kind: EventReject, From: Open, To: Open, RetryAfter: 600 * time.Millisecond},
			{Kind: EventStateChange, From: Open, To: HalfOpen},
			{Kind: EventStateChange, From: HalfOpen, To: Closed},
		}
		for _, r := range []*recorder{a, c} {
			if len(r.events) != len(want) {
				t.Fatalf("got %d events %+v, want %d", len(r.events), r.events, len(want))
			}
			for i, e := range r.events {
				if !errors.Is(e.Err, ErrOpen) != (want[i].Kind != EventReject) {
					t.Errorf("event %d: Err = %v", i, e.Err)
				}
				e.Err = nil
				if e != want[i] {
					t.Errorf("event %d = %+v, want %+v", i, e, want[i])
				}
			}
		}
		if len(hooked) != 3 {
			t.Errorf("OnStateChange saw %v, want 3 transitions next to the observers", hooked)
		}
	})
}

func TestGroupObserversCarryTheKey(t *testing.T) {
	var keys []string
	g := NewGroup(GroupConfig{Config: Config{FailureThreshold: 1, Observers: []Observer{
		ObserverFunc(func(e Event) { keys = append(keys, e.Key+":"+e.Kind.String()) }),
	}}})
	Do(t.Context(), g.Get("a"), fail)
	Do(t.Context(), g.Get("b"), ok)
	Do(t.Context(), g.Get("a"), ok)
	want := []string{"a:state_change", "a:reject"}
	if len(keys) != len(want) || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("events = %v, want %v", keys, want)
	}
}

func TestObserversDoNotAllocate(t *testing.T) {
	n := 0
	b := New(Config{FailureThreshold: 1, Observers: []Observer{ObserverFunc(func(Event) { n++ })}})
	if a := testing.AllocsPerRun(100, func() {
		p, err := b.Allow()
		if err == nil {
			p.Done(errBoom)
		}
	}); a != 0 {
		t.Errorf("a rejection with an observer allocates %v times, want 0", a)
	}
	if n == 0 {
		t.Error("observer saw nothing")
	}
}

func TestStatsWindow(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		calls []string // "ok", "fail", "slow", "ign"; "wait" sleeps 1s
		want  WindowStats
	}{
		{"no rate rule, no window", Config{}, []string{"ok", "fail"}, WindowStats{}},
		{"count", Config{FailureRateThreshold: 0.9, WindowSize: 4, FailureThreshold: -1},
			[]string{"fail", "ok", "fail", "ign", "ok"},
			WindowStats{Calls: 4, Failures: 2, FailureRate: 0.5}},
		{"count slides", Config{FailureRateThreshold: 0.9, WindowSize: 2, FailureThreshold: -1},
			[]string{"fail", "ok", "ok", "ok"},
			WindowStats{Calls: 2}},
		{"slow", Config{SlowCallRateThreshold: 0.9, SlowCallDuration: time.Second, WindowSize: 10, FailureThreshold: -1},
			[]string{"slow", "ok", "ok", "ok"},
			WindowStats{Calls: 4, SlowCalls: 1, SlowCallRate: 0.25}},
		{"time window forgets old buckets", Config{FailureRateThreshold: 0.9, WindowDuration: 10 * time.Second, FailureThreshold: -1},
			[]string{"fail", "fail", "wait", "ok", "wait", "wait", "wait", "wait", "wait", "wait", "wait", "wait", "wait", "ok"},
			WindowStats{Calls: 2, Failures: 0}},
		{"time window", Config{FailureRateThreshold: 0.9, WindowDuration: 10 * time.Second, FailureThreshold: -1},
			[]string{"fail", "wait", "ok", "wait", "ok", "ok"},
			WindowStats{Calls: 4, Failures: 1, FailureRate: 0.25}},
		{"a transition empties it", Config{FailureRateThreshold: 0.5, WindowSize: 4, MinimumCalls: 2, FailureThreshold: -1, OpenTimeout: time.Second},
			[]string{"fail", "fail", "wait", "ok"},
			WindowStats{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(tc.cfg)
				for _, c := range tc.calls {
					p, err := b.Allow()
					switch {
					case c == "wait":
						if err == nil {
							p.Ignore()
						}
						time.Sleep(time.Second)
						continue
					case err != nil:
						continue
					case c == "ok":
						p.Done(nil)
					case c == "fail":
						p.Done(errBoom)
					case c == "slow":
						time.Sleep(time.Second)
						p.Done(nil)
					case c == "ign":
						p.Ignore()
					}
				}
				if got := b.Stats().Window; got != tc.want {
					t.Errorf("Window = %+v, want %+v", got, tc.want)
				}
			})
		})
	}
}
