package resgrpc_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	resgrpc "github.com/seed94f50169/resilience/contrib/grpc"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func fastRetry(n int) *retry.Policy {
	return &retry.Policy{MaxAttempts: n, Backoff: backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: backoff.NoJitter}}
}

// clientRig starts a bufconn server with h and a client connection through
// the interceptors of rec, inside the caller's synctest bubble.
func clientRig(t *testing.T, h *health, rec *middleware.Recovery, cfg resgrpc.ClientConfig) (*rig, *resgrpc.Client) {
	c := resgrpc.NewClient(rec, cfg)
	r := startRig(t, h, false, nil, grpc.WithUnaryInterceptor(c.UnaryInterceptor()), grpc.WithStreamInterceptor(c.StreamInterceptor()))
	return r, c
}

func check(r *rig) error {
	_, err := r.hc.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	return err
}

func pushback(v string) func(int) metadata.MD {
	return func(int) metadata.MD { return metadata.Pairs(resgrpc.PushbackKey, v) }
}

func TestUnaryRetriesByCode(t *testing.T) {
	tests := []struct {
		name     string
		code     codes.Code
		pushback string // "" for none
		attempts int
	}{
		{"unavailable", codes.Unavailable, "", 3},
		{"unavailable, pushback says stop", codes.Unavailable, "-1", 1},
		{"unavailable, garbage pushback", codes.Unavailable, "soon", 1},
		{"resource exhausted without pushback", codes.ResourceExhausted, "", 1},
		{"resource exhausted with pushback", codes.ResourceExhausted, "2", 3},
		{"invalid argument", codes.InvalidArgument, "", 1},
		{"not found", codes.NotFound, "", 1},
		{"permission denied", codes.PermissionDenied, "", 1},
		{"internal", codes.Internal, "", 1},
		{"deadline exceeded", codes.DeadlineExceeded, "", 1},
		{"unknown", codes.Unknown, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &health{fail: func(int) error { return status.Error(tt.code, "nope") }}
				if tt.pushback != "" {
					h.trailer = pushback(tt.pushback)
				}
				r, _ := clientRig(t, h, &middleware.Recovery{Retry: fastRetry(3)}, resgrpc.ClientConfig{})
				err := check(r)
				if got := status.Code(err); got != tt.code {
					t.Errorf("code = %v, want %v (err %v)", got, tt.code, err)
				}
				if got := status.Convert(err).Message(); got != "nope" {
					t.Errorf("message = %q, want the server's %q", got, "nope")
				}
				if got := h.Calls(); got != tt.attempts {
					t.Errorf("attempts = %d, want %d", got, tt.attempts)
				}
			})
		})
	}
}

func TestUnaryRetrySucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{fail: func(n int) error {
			if n < 3 {
				return status.Error(codes.Unavailable, "warming up")
			}
			return nil
		}}
		r, _ := clientRig(t, h, &middleware.Recovery{Retry: fastRetry(3)}, resgrpc.ClientConfig{})
		if err := check(r); err != nil {
			t.Fatal(err)
		}
		want := []string{"", "1", "2"}
		for i, p := range h.prev {
			if p != want[i] {
				t.Errorf("call %d: %s = %q, want %q", i+1, resgrpc.PreviousAttemptsKey, p, want[i])
			}
		}
	})
}

func TestUnaryPushbackHonouredAndCapped(t *testing.T) {
	tests := []struct {
		name     string
		pushback string
		max      time.Duration
		want     time.Duration
	}{
		{"honoured", "250", 0, 250 * time.Millisecond},
		{"capped by MaxRetryAfter", "9999999999999999999999", 2 * time.Second, 2 * time.Second},
		{"capped by the default", "86400000", 0, middleware.DefaultMaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &health{
					fail:    func(n int) error { return status.Error(codes.Unavailable, "busy") },
					trailer: pushback(tt.pushback),
				}
				var delays []time.Duration
				p := fastRetry(2)
				p.OnRetry = func(a retry.Attempt) { delays = append(delays, a.Delay) }
				r, _ := clientRig(t, h, &middleware.Recovery{Retry: p, MaxRetryAfter: tt.max}, resgrpc.ClientConfig{})
				start := time.Now()
				check(r)
				if len(delays) != 1 || delays[0] != tt.want {
					t.Errorf("delays = %v, want [%v]", delays, tt.want)
				}
				if got := time.Since(start); got < tt.want {
					t.Errorf("the call took %v, less than the pushback %v", got, tt.want)
				}
			})
		})
	}
}

func TestUnaryDeadlinePropagates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{fail: func(n int) error {
			if n == 1 {
				return status.Error(codes.Unavailable, "again")
			}
			return nil
		}}
		rec := &middleware.Recovery{Retry: fastRetry(2), Timeout: 300 * time.Millisecond, Total: 5 * time.Second}
		r, _ := clientRig(t, h, rec, resgrpc.ClientConfig{})
		if err := check(r); err != nil {
			t.Fatal(err)
		}
		for i, left := range h.left {
			if left <= 0 || left > rec.Timeout {
				t.Errorf("call %d: the server saw %v left, want (0, %v]", i+1, left, rec.Timeout)
			}
		}
		// A caller's deadline shorter than the attempt's wins.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := r.hc.Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		if left := h.left[len(h.left)-1]; left <= 0 || left > 100*time.Millisecond {
			t.Errorf("the server saw %v left, want at most the caller's 100ms", left)
		}
	})
}

func TestUnaryTimeoutIsDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{block: make(chan struct{})}
		defer close(h.block)
		r, _ := clientRig(t, h, &middleware.Recovery{Timeout: time.Second}, resgrpc.ClientConfig{})
		err := check(r)
		if got := status.Code(err); got != codes.DeadlineExceeded {
			t.Errorf("code = %v, want DeadlineExceeded (err %v)", got, err)
		}
	})
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := true
		h := &health{fail: func(int) error {
			if down {
				return status.Error(codes.Unavailable, "down")
			}
			return nil
		}}
		b := breaker.New(breaker.Config{FailureThreshold: 3, OpenTimeout: time.Minute})
		tracker := errtrack.New(errtrack.Config{})
		r, _ := clientRig(t, h, &middleware.Recovery{Breaker: b, Tracker: tracker}, resgrpc.ClientConfig{})
		for i := 0; i < 3; i++ {
			check(r)
		}
		if got := b.State(); got != breaker.Open {
			t.Fatalf("state after 3 UNAVAILABLE = %v, want open", got)
		}
		err := check(r)
		if got := status.Code(err); got != codes.Unavailable {
			t.Errorf("rejected call's code = %v, want Unavailable", got)
		}
		if !errors.Is(err, breaker.ErrOpen) {
			t.Errorf("rejected call's error %v does not match breaker.ErrOpen", err)
		}
		if got := h.Calls(); got != 3 {
			t.Errorf("server calls = %d, want 3 (the open breaker fails fast)", got)
		}
		down = false
		time.Sleep(time.Minute)
		for i := 0; i < 2; i++ {
			if err := check(r); err != nil {
				t.Fatalf("probe %d: %v", i+1, err)
			}
		}
		if got := b.State(); got != breaker.Closed {
			t.Errorf("state after two probes = %v, want closed", got)
		}
		if got := tracker.ByClass()[errtrack.Class("circuit_open")]; got != 1 {
			t.Errorf("circuit_open tracked %d times, want 1", got)
		}
	})
}

func TestBreakerIgnoresAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{fail: func(int) error { return status.Error(codes.NotFound, "no such service") }}
		b := breaker.New(breaker.Config{FailureThreshold: 2})
		r, _ := clientRig(t, h, &middleware.Recovery{Breaker: b, Retry: fastRetry(3)}, resgrpc.ClientConfig{})
		for i := 0; i < 5; i++ {
			if got := status.Code(check(r)); got != codes.NotFound {
				t.Fatalf("code = %v, want NotFound", got)
			}
		}
		if got := b.State(); got != breaker.Closed {
			t.Errorf("state = %v, want closed: NOT_FOUND is an answer, not a failure", got)
		}
		if s := b.Stats(); s.Successes != 5 || s.Failures != 0 {
			t.Errorf("stats = %d successes, %d failures; want 5, 0", s.Successes, s.Failures)
		}
	})
}

func TestPerMethodBreakers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{fail: func(int) error { return status.Error(codes.Unavailable, "down") }, messages: 0}
		rec := &middleware.Recovery{HostBreaker: &breaker.Config{FailureThreshold: 2}}
		r, c := clientRig(t, h, rec, resgrpc.ClientConfig{BreakerKey: resgrpc.PerMethod})
		check(r)
		check(r)
		const checkMethod = "/grpc.health.v1.Health/Check"
		b := c.Breaker(checkMethod)
		if b == nil || b.State() != breaker.Open {
			t.Fatalf("breaker of %s = %v, want an open one", checkMethod, b)
		}
		n := 0
		for k := range c.Breakers() {
			n++
			if k != checkMethod {
				t.Errorf("unexpected breaker %q", k)
			}
		}
		if n != 1 {
			t.Errorf("%d breakers, want 1", n)
		}
		// Watch has its own breaker, still closed: its call reaches the server.
		before := h.Calls()
		s, err := r.hc.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		s.Recv()
		if h.Calls() != before+1 {
			t.Errorf("Watch did not reach the server while Check's breaker is open")
		}
	})
}

func TestStreamRetriedBeforeFirstMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{fail: func(n int) error {
			if n < 3 {
				return status.Error(codes.Unavailable, "not yet")
			}
			return nil
		}}
		b := breaker.New(breaker.Config{FailureThreshold: 10})
		r, _ := clientRig(t, h, &middleware.Recovery{Retry: fastRetry(3), Breaker: b}, resgrpc.ClientConfig{})
		s, err := r.hc.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{Service: "x"})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for {
			_, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Recv after %d messages: %v", got, err)
			}
			got++
		}
		if got != 3 {
			t.Errorf("received %d messages, want 3", got)
		}
		if h.Calls() != 3 {
			t.Errorf("server calls = %d, want 3", h.Calls())
		}
		if st := b.Stats(); st.Failures != 2 || st.Successes != 1 {
			t.Errorf("breaker saw %d failures and %d successes, want 2 and 1", st.Failures, st.Successes)
		}
	})
}

func TestStreamNotReplayedAfterFirstMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{messages: 1, fail: func(int) error { return status.Error(codes.Unavailable, "gone") }}
		r, _ := clientRig(t, h, &middleware.Recovery{Retry: fastRetry(3)}, resgrpc.ClientConfig{})
		s, err := r.hc.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatalf("first Recv: %v", err)
		}
		_, err = s.Recv()
		if status.Code(err) != codes.Unavailable {
			t.Errorf("second Recv = %v, want Unavailable", err)
		}
		if h.Calls() != 1 {
			t.Errorf("server calls = %d, want 1: a stream that delivered a message is not replayed", h.Calls())
		}
	})
}

func TestNewClientValidates(t *testing.T) {
	defer func() {
		if p := recover(); p == nil {
			t.Error("NewClient with BreakerKey and no HostBreaker did not panic")
		}
	}()
	resgrpc.NewClient(&middleware.Recovery{}, resgrpc.ClientConfig{BreakerKey: resgrpc.PerMethod})
}

func TestUnaryHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{}
		first := make(chan struct{})
		h.fail = func(n int) error { return nil }
		h.block = nil
		slow := &slowFirst{health: h, release: first}
		rec := &middleware.Recovery{Hedge: &hedge.Policy{Delay: 10 * time.Millisecond}}
		c := resgrpc.NewClient(rec, resgrpc.ClientConfig{})
		r := startRigWith(t, slow, grpc.WithUnaryInterceptor(c.UnaryInterceptor()))
		start := time.Now()
		resp, err := r.hc.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			t.Errorf("reply %v, want SERVING copied from the hedge that won", resp)
		}
		if d := time.Since(start); d != 10*time.Millisecond {
			t.Errorf("answered after %v, want the 10ms hedge delay", d)
		}
		if h.Calls() != 2 || h.prev[1] != "1" {
			t.Errorf("calls %d, previous attempts %q; want 2, the hedge marked 1", h.Calls(), h.prev)
		}
		close(first)
	})
}
