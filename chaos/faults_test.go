package chaos

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// newBaseTransport returns the plain transport every client in these tests
// builds on. Its idle connections are closed when the test ends.
func newBaseTransport(t testing.TB) *http.Transport {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     5 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// get sends one GET through rt and reads the whole body.
func get(ctx context.Context, rt http.RoundTripper, url string) (int, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, int(n), err
}

// TestFaultsAreReal checks each fault against a plain http.Transport, with
// no resilience in the way: it proves the faults the scenarios rely on do
// what they say, and shows what an unprotected client sees.
func TestFaultsAreReal(t *testing.T) {
	const limit = time.Second
	for _, tc := range []struct {
		name  string
		setup func(p *faultProxy, u *upstream)
		check func(t *testing.T, took time.Duration, status, n int, err error)
	}{
		{
			name: "latency_and_jitter",
			setup: func(p *faultProxy, _ *upstream) {
				p.Add("latency", "downstream", map[string]any{"latency": 60, "jitter": 20})
			},
			check: func(t *testing.T, took time.Duration, status, _ int, err error) {
				if err != nil || status != 200 || took < 40*time.Millisecond {
					t.Errorf("got status %d, err %v after %v; want 200 after ≥40ms", status, err, took)
				}
			},
		},
		{
			name:  "timeout_hang",
			setup: func(p *faultProxy, _ *upstream) { p.Add("timeout", "upstream", map[string]any{"timeout": 0}) },
			check: func(t *testing.T, took time.Duration, _, _ int, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || took < limit {
					t.Errorf("got %v after %v; want the caller's deadline after ≥%v", err, took, limit)
				}
			},
		},
		{
			name:  "reset_peer",
			setup: func(p *faultProxy, _ *upstream) { p.Add("reset_peer", "upstream", map[string]any{"timeout": 0}) },
			check: func(t *testing.T, took time.Duration, _, _ int, err error) {
				if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
					t.Errorf("got %v after %v; want a connection reset", err, took)
				}
			},
		},
		{
			name: "slow_close",
			setup: func(p *faultProxy, u *upstream) {
				u.drop.Store(true)
				p.Add("slow_close", "downstream", map[string]any{"delay": 2000})
			},
			check: func(t *testing.T, took time.Duration, _, _ int, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || took < limit {
					t.Errorf("got %v after %v; want the close held past the caller's deadline", err, took)
				}
			},
		},
		{
			name:  "bandwidth",
			setup: func(p *faultProxy, _ *upstream) { p.Add("bandwidth", "downstream", map[string]any{"rate": 256}) },
			check: func(t *testing.T, took time.Duration, status, n int, err error) {
				// 64 KiB at 256 KB/s takes about 250 ms.
				if err != nil || status != 200 || n != 64<<10 || took < 150*time.Millisecond {
					t.Errorf("got status %d, %d bytes, err %v after %v; want 64 KiB after ≥150ms", status, n, err, took)
				}
			},
		},
		{
			name:  "proxy_down",
			setup: func(p *faultProxy, _ *upstream) { p.Down() },
			check: func(t *testing.T, took time.Duration, _, _ int, err error) {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("got %v after %v; want connection refused", err, took)
				}
			},
		},
		{
			name:  "upstream_down",
			setup: func(_ *faultProxy, u *upstream) { u.Down() },
			check: func(t *testing.T, took time.Duration, _, _ int, err error) {
				// Toxiproxy accepts, fails to reach the upstream and hangs up:
				// the client sees EOF, or "server closed idle connection".
				if err == nil || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v after %v; want the connection closed without an answer", err, took)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			u := startUpstream(t, 64<<10)
			p := startProxy(t, u.Addr())
			tr := newBaseTransport(t)
			tc.setup(p, u)
			start := time.Now() // before the deadline is set, so took ≥ limit when it fires
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			status, n, err := get(ctx, tr, p.URL())
			took := time.Since(start)
			t.Logf("plain client: status %d, %d bytes, err %v, after %v", status, n, err, round(took))
			tc.check(t, took, status, n, err)
		})
	}
}
