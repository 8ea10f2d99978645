package main

import (
	"net/http"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// clientStack is one agent's HTTP stack.
type clientStack struct {
	transport    http.RoundTripper
	breakerState func() string
	base         *http.Transport // closed by close
}

// close drops the stack's idle connections.
func (c clientStack) close() { c.base.CloseIdleConnections() }

// newClientStack builds the transport an agent's requests go through, with
// the pforge defaults scaled in time: bounded retries (3 attempts, backoff
// from 100ms up to 5s), a breaker (open after 5 consecutive failures, for
// 60s; closed again after 2 successes) and a 3s limit per attempt.
// scale is real seconds per story second; breakerOpen, if not zero,
// replaces the breaker's scaled 60s.
func newClientStack(scale float64, breakerOpen time.Duration, onBreaker func(from, to string)) clientStack {
	sec := func(s float64) time.Duration { return time.Duration(s * scale * float64(time.Second)) }
	if breakerOpen == 0 {
		breakerOpen = sec(60)
	}
	br := breaker.New(breaker.Config{
		FailureThreshold: 5,
		SuccessThreshold: 2,
		OpenTimeout:      breakerOpen,
		OnStateChange:    func(from, to breaker.State) { onBreaker(from.String(), to.String()) },
	})
	rec := &middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3, Backoff: backoff.Policy{Initial: sec(0.1), Max: sec(5)}},
		Breaker: br,
		Timeout: sec(3),
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	return clientStack{
		transport:    rec.Transport(base),
		breakerState: func() string { return br.State().String() },
		base:         base,
	}
}

// serverStack serves fusion through a recovery handler: panics become 500s,
// at most 64 requests run at once (256 more may wait 1s) and the rest are
// shed with 503 + Retry-After. Failed requests are tracked in tracker.
func serverStack(srv *fusion.Server, tracker *errtrack.Tracker) http.Handler {
	rec := &middleware.Recovery{
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 64, MaxQueued: 256, QueueTimeout: time.Second}),
		Tracker:  tracker,
	}
	return rec.Handler(srv)
}
