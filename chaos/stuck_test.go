package chaos

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
)

// TestStuckBackend puts a backend that accepts connections and never
// answers (Toxiproxy's timeout toxic) behind a Transport whose breaker
// opens after 5 consecutive failures, and sends a request every 40 ms. With
// breaker.Config.StuckAfter the breaker opens at the first request after
// 5 calls have hung for StuckAfter; without it, only once the first hung
// attempts reach their 1.5 s timeout.
//
// Real sockets and real time: the checks are orderings with wide margins
// (an opening before the attempt timeout, never before StuckAfter), which
// a slow machine can only make later, not wrong.
func TestStuckBackend(t *testing.T) {
	const (
		stuckAfter     = 200 * time.Millisecond
		attemptTimeout = 1500 * time.Millisecond
		interval       = 40 * time.Millisecond
		threshold      = 5
	)
	tests := []struct {
		name       string
		stuckAfter time.Duration
	}{
		{"stuck_after", stuckAfter},
		{"without", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := startUpstream(t, 64)
			p := startProxy(t, u.Addr())
			p.Add("timeout", "upstream", map[string]any{"timeout": 0})

			opened := make(chan time.Time, 1)
			b := breaker.New(breaker.Config{
				FailureThreshold: threshold,
				OpenTimeout:      time.Minute,
				StuckAfter:       tt.stuckAfter,
				OnStateChange: func(from, to breaker.State) {
					if to == breaker.Open {
						select {
						case opened <- time.Now():
						default:
						}
					}
				},
			})
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			client := &http.Client{Transport: (&middleware.Recovery{Breaker: b, Timeout: attemptTimeout}).Transport(base)}

			var wg sync.WaitGroup
			start := time.Now()
			var openedAt time.Time
			sent := 0
			tick := time.NewTicker(interval)
			defer tick.Stop()
		loop:
			for time.Since(start) < 2*attemptTimeout {
				wg.Go(func() {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.URL()+"/", nil)
					if resp, err := client.Do(req); err == nil {
						resp.Body.Close()
					}
				})
				sent++
				select {
				case openedAt = <-opened:
					break loop
				case <-tick.C:
				}
			}
			wg.Wait()
			if openedAt.IsZero() {
				t.Fatalf("the breaker never opened in %v (%d requests)", time.Since(start), sent)
			}
			took := openedAt.Sub(start)
			s := b.Stats()
			t.Logf("opened after %v and %d requests; stuck %d, failures %d, rejected %d", took.Round(time.Millisecond), sent, s.Stuck, s.Failures, s.Rejected)
			if tt.stuckAfter > 0 {
				if took < tt.stuckAfter || took >= attemptTimeout {
					t.Errorf("opened after %v: want at least StuckAfter (%v) and before the attempt timeout (%v)", took, tt.stuckAfter, attemptTimeout)
				}
				if s.Stuck < threshold {
					t.Errorf("Stuck %d, want at least %d", s.Stuck, threshold)
				}
			} else {
				if took < attemptTimeout {
					t.Errorf("opened after %v, before any attempt could time out (%v)", took, attemptTimeout)
				}
				if s.Stuck != 0 {
					t.Errorf("Stuck %d without StuckAfter", s.Stuck)
				}
			}
		})
	}
}
