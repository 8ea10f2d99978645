package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/retry"
)

// log is an Observer that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) Observe(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) kinds() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for i, e := range l.events {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Kind.String())
	}
	return b.String()
}

type traceID struct{}

// hinted is an error with a Retry-After hint.
type hinted struct{ d time.Duration }

func (h hinted) Error() string             { return "busy" }
func (h hinted) RetryAfter() time.Duration { return h.d }

func TestObserversSeeDoEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &eventLog{}, &eventLog{}
		var hookRetries int
		r := &Recovery{
			Retry:     &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Jitter: backoff.NoJitter}},
			Timeout:   time.Second,
			Hooks:     Hooks{OnRetry: func(Event) { hookRetries++ }},
			Observers: []Observer{a, b},
		}
		ctx := context.WithValue(t.Context(), traceID{}, "t-1")
		n := 0
		_, err := Do(ctx, r, func(ctx context.Context) (int, error) {
			n++
			switch n {
			case 1:
				time.Sleep(20 * time.Millisecond)
				return 0, hinted{5 * time.Second}
			case 2:
				<-ctx.Done() // the per-attempt timeout
				return 0, ctx.Err()
			}
			return 0, errBoom
		}, fallback.Value(0), fallback.Value(7))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := a.kinds(), "attempt retry attempt timeout retry attempt exhausted fallback"; got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
		if b.kinds() != a.kinds() || hookRetries != 2 {
			t.Errorf("second observer saw %q, hook saw %d retries", b.kinds(), hookRetries)
		}
		ev := a.events
		for i, e := range ev {
			if e.Ctx == nil || e.Ctx.Value(traceID{}) != "t-1" {
				t.Errorf("event %d (%v): Ctx lost the caller's values", i, e.Kind)
			}
		}
		if ev[0].Duration != 20*time.Millisecond || !errors.As(ev[0].Err, new(hinted)) {
			t.Errorf("first attempt: %+v", ev[0])
		}
		if ev[1].Attempt != 2 || ev[1].Delay != 5*time.Second || ev[1].Reason != retry.ReasonRetryAfter {
			t.Errorf("first retry: attempt %d delay %v reason %v, want 2, 5s, retry_after", ev[1].Attempt, ev[1].Delay, ev[1].Reason)
		}
		if ev[2].Duration != time.Second || ev[3].Scope != "" || ev[3].Kind != EventTimeout {
			t.Errorf("timed-out attempt: %+v / %+v", ev[2], ev[3])
		}
		if ev[4].Delay != 200*time.Millisecond || ev[4].Reason != retry.ReasonBackoff {
			t.Errorf("second retry: delay %v reason %v, want 200ms, backoff", ev[4].Delay, ev[4].Reason)
		}
		if ev[6].Attempt != 3 || !errors.As(ev[6].Err, new(*retry.ExhaustedError)) {
			t.Errorf("exhausted: %+v", ev[6])
		}
		if ev[7].Step != 1 || !errors.Is(ev[7].Err, errBoom) {
			t.Errorf("fallback: step %d err %v, want 1, boom", ev[7].Step, ev[7].Err)
		}
	})
}

func TestObserversSeeRejections(t *testing.T) {
	a := &eventLog{}
	br := breaker.New(breaker.Config{})
	br.ForceOpen()
	r := &Recovery{Breaker: br, Observers: []Observer{a}}
	Do(t.Context(), r, func(context.Context) (int, error) { return 1, nil })
	if a.kinds() != "reject" || !errors.Is(a.events[0].Err, breaker.ErrOpen) || a.events[0].Attempt != 1 {
		t.Errorf("events %q %+v, want one breaker rejection", a.kinds(), a.events)
	}
}

func TestObserversSeeTransportEvents(t *testing.T) {
	a := &eventLog{}
	r := &Recovery{
		Retry:       &retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: backoff.NoJitter}},
		HostBreaker: &breaker.Config{FailureThreshold: 2},
		Observers:   []Observer{a},
	}
	base := rtFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("down")), Request: req, Header: http.Header{}}, nil
	})
	c := &http.Client{Transport: r.Transport(base)}
	resp, err := c.Get("http://api.example/v1/items?id=3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := a.kinds(), "attempt retry state_change attempt exhausted"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i, e := range a.events {
		if e.Kind == EventStateChange {
			if e.Host != "api.example" || e.From != breaker.Closed || e.To != breaker.Open {
				t.Errorf("state change %+v", e)
			}
			continue
		}
		if e.Method != "GET" || e.URL == nil || e.URL.String() != "http://api.example/v1/items?id=3" || e.Host != "api.example" {
			t.Errorf("event %d (%v): method %q URL %v host %q", i, e.Kind, e.Method, e.URL, e.Host)
		}
		if e.Kind == EventAttempt && e.Status != 503 {
			t.Errorf("event %d: Status %d, want 503", i, e.Status)
		}
	}
}

func TestObserversSeeHandlerOutcomes(t *testing.T) {
	bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue})
	a := &eventLog{}
	var panics int
	r := &Recovery{Bulkhead: bh, Observers: []Observer{a}, Hooks: Hooks{OnPanic: func(Event) { panics++ }}}
	h := r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/panic":
			panic("boom")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	serve := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code
	}
	serve("/ok")
	serve("/teapot")
	serve("/panic")
	bh.Acquire(t.Context()) // the only slot: the next request is shed
	serve("/shed")
	bh.Release()
	if got, want := a.kinds(), "request request request panic reject request"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	want := []struct {
		path   string
		status int
		shed   bool
	}{{"/ok", 200, false}, {"/teapot", 418, false}, {"/panic", 500, false}, {"/panic", 500, false}, {"/shed", 503, false}, {"/shed", 503, true}}
	for i, e := range a.events {
		w := want[i]
		if e.URL.Path != w.path || e.Status != w.status || e.Shed != w.shed || e.Method != "GET" || e.Ctx == nil {
			t.Errorf("event %d (%v): path %s status %d shed %v, want %s %d %v", i, e.Kind, e.URL.Path, e.Status, e.Shed, w.path, w.status, w.shed)
		}
	}
	if panics != 1 {
		t.Errorf("OnPanic ran %d times next to the observer, want 1", panics)
	}
}
