package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// flaky answers 503 to the first attempt of every request path, then lets
// fusion answer.
type flaky struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen[r.URL.Path]++
	first := f.seen[r.URL.Path] == 1
	f.mu.Unlock()
	if first {
		http.Error(w, `{"error":"flaky"}`, http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

// TestClientStackRetriesOnlyRepeatableRequests runs an agent through the
// demo's client stack against a server whose first answer to every path is
// 503: a push (with an Idempotency-Key) is retried inside the transport
// and never fails; session creation is not retried and fails once, so the
// agent backs off before its second session request.
func TestClientStackRetriesOnlyRepeatableRequests(t *testing.T) {
	srv := fusion.New(fusion.Config{})
	defer srv.Close()
	f := &flaky{next: serverStack(srv, errtrack.New(errtrack.Config{})), seen: map[string]int{}}
	hs := httptest.NewServer(f)
	defer hs.Close()
	stack := newClientStack(0.1, 0, func(string, string) {}) // 300ms per attempt, retries after ~10ms
	defer stack.close()
	var mu sync.Mutex
	var failed []agent.Event
	a, err := agent.New(agent.Config{
		Fusion: hs.URL, PipeID: "p", AgentID: "a1",
		ErrorRetryInterval: 5 * time.Millisecond,
		Transport:          stack.transport,
		OnEvent: func(ev agent.Event) {
			if ev.Kind == agent.Failed {
				mu.Lock()
				failed = append(failed, ev)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	for i := range 3 {
		a.Submit(ctx, fusion.Event{Key: "/k", Mtime: 1, Seq: int64(i)})
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 1 || failed[0].Op != "create session" || failed[0].Class != errtrack.Unavailable {
		t.Errorf("failed operations %+v, want exactly one: the first session creation, service_unavailable", failed)
	}
	if st := a.Status(); st.Acked != 3 || st.Sessions != 1 {
		t.Errorf("status %+v", st)
	}
}
