package resgrpc_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/bulkhead"
	resgrpc "github.com/seed94f50169/resilience/contrib/grpc"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/ratelimit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// serverRig starts a bufconn server with h behind the interceptors of rec,
// and a plain client (extra dial options may add client interceptors).
func serverRig(t *testing.T, h *health, rec *middleware.Recovery, cfg resgrpc.ServerConfig, dial ...grpc.DialOption) *rig {
	s := resgrpc.NewServer(rec, cfg)
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.UnaryInterceptor()), grpc.ChainStreamInterceptor(s.StreamInterceptor())}
	return startRig(t, h, false, opts, dial...)
}

func TestServerPanicBecomesInternal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{panicOn: true}
		tracker := errtrack.New(errtrack.Config{})
		var panics []*middleware.PanicError
		var methods []string
		cfg := resgrpc.ServerConfig{OnPanic: func(ctx context.Context, method string, p *middleware.PanicError) {
			panics = append(panics, p)
			methods = append(methods, method)
		}}
		r := serverRig(t, h, &middleware.Recovery{Tracker: tracker}, cfg)
		err := check(r)
		st := status.Convert(err)
		if st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Errorf("status = %v %q, want Internal \"internal error\" (no panic text for the client)", st.Code(), st.Message())
		}
		if len(panics) != 1 || panics[0].Value != "boom" || len(panics[0].Stack) == 0 {
			t.Fatalf("OnPanic got %v, want one panic \"boom\" with a stack", panics)
		}
		if methods[0] != "/grpc.health.v1.Health/Check" {
			t.Errorf("OnPanic method = %q", methods[0])
		}
		if tracker.Total() != 1 || tracker.ByClass()[errtrack.Class("panic")] != 1 {
			t.Errorf("tracked %v, want one panic", tracker.ByClass())
		}
		// The server keeps serving.
		h.panicOn = false
		if err := check(r); err != nil {
			t.Errorf("after a panic: %v", err)
		}
	})
}

func TestServerOverloadIsResourceExhaustedWithPushback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{block: make(chan struct{})}
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue})
		tracker := errtrack.New(errtrack.Config{})
		r := serverRig(t, h, &middleware.Recovery{Bulkhead: bh, Tracker: tracker, MaxRetryAfter: 3 * time.Second}, resgrpc.ServerConfig{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); check(r) }()
		synctest.Wait()
		var trailer metadata.MD
		_, err := r.hc.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("second call = %v, want ResourceExhausted", err)
		}
		pb := trailer.Get(resgrpc.PushbackKey)
		if len(pb) != 1 {
			t.Fatalf("trailer %v has no pushback", trailer)
		}
		if ms, err := strconv.Atoi(pb[0]); err != nil || ms <= 0 || ms > 3000 {
			t.Errorf("pushback %q, want 1..3000 ms", pb[0])
		}
		if h.Calls() != 1 {
			t.Errorf("handler ran %d times, want 1: a refused request never reaches it", h.Calls())
		}
		close(h.block)
		wg.Wait()
		if tracker.ByClass()[errtrack.Class("bulkhead_full")] != 1 {
			t.Errorf("tracked %v, want one bulkhead_full", tracker.ByClass())
		}
	})
}

func TestServerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{block: make(chan struct{})}
		defer close(h.block)
		tracker := errtrack.New(errtrack.Config{})
		r := serverRig(t, h, &middleware.Recovery{Timeout: 2 * time.Second, Tracker: tracker}, resgrpc.ServerConfig{})
		start := time.Now()
		err := check(r)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("code = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("answered after %v, want the 2s request timeout", d)
		}
		if tracker.ByClass()[errtrack.Timeout] != 1 {
			t.Errorf("tracked %v, want one timeout", tracker.ByClass())
		}
	})
}

func TestServerStreamTimeoutAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{}
		tracker := errtrack.New(errtrack.Config{})
		r := serverRig(t, h, &middleware.Recovery{Timeout: time.Second, Tracker: tracker}, resgrpc.ServerConfig{})
		s, err := r.hc.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, err := s.Recv(); err != nil {
				break
			}
		}
		if n != 3 {
			t.Errorf("received %d messages, want 3", n)
		}
		if len(h.left) != 1 || h.left[0] <= 0 || h.left[0] > time.Second {
			t.Errorf("the stream handler saw %v left, want (0, 1s]", h.left)
		}
	})
}

// The client's interceptor honours the server's overload pushback.
func TestClientHonoursServerPushback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &health{block: make(chan struct{})}
		bh := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue})
		c := resgrpc.NewClient(&middleware.Recovery{Retry: fastRetry(3)}, resgrpc.ClientConfig{})
		r := serverRig(t, h, &middleware.Recovery{Bulkhead: bh}, resgrpc.ServerConfig{}, grpc.WithUnaryInterceptor(c.UnaryInterceptor()))
		go func() { time.Sleep(100 * time.Millisecond); close(h.block) }()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); check(r) }()
		synctest.Wait()
		start := time.Now()
		err := check(r) // refused with a pushback, retried after it, served
		if err != nil {
			t.Errorf("call behind the pushback: %v", err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %v, before the 1s pushback", d)
		}
		wg.Wait()
	})
}

func TestRealTCP(t *testing.T) {
	h := &health{fail: func(n int) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "first fails")
		}
		return nil
	}}
	c := resgrpc.NewClient(&middleware.Recovery{Retry: fastRetry(3), Timeout: 5 * time.Second}, resgrpc.ClientConfig{})
	s := resgrpc.NewServer(&middleware.Recovery{Timeout: 5 * time.Second}, resgrpc.ServerConfig{})
	r := startRig(t, h, true,
		[]grpc.ServerOption{grpc.ChainUnaryInterceptor(s.UnaryInterceptor())},
		grpc.WithUnaryInterceptor(c.UnaryInterceptor()))
	if err := check(r); err != nil {
		t.Fatal(err)
	}
	if h.Calls() != 2 {
		t.Errorf("calls = %d, want 2", h.Calls())
	}
	var ce *resgrpc.Error
	h.fail = func(int) error { return status.Error(codes.Unavailable, "down") }
	err := check(r)
	if !errors.As(err, &ce) || status.Code(err) != codes.Unavailable {
		t.Errorf("exhausted call = %T %v, want a *resgrpc.Error with Unavailable", err, err)
	}
}

func TestServerRateLimitAndLimit(t *testing.T) {
	tests := []struct {
		name  string
		rec   func() *middleware.Recovery
		class errtrack.Class
	}{
		{"rate limit", func() *middleware.Recovery {
			return &middleware.Recovery{RateLimit: ratelimit.NewGroup(ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 0.5, Burst: 1}})}
		}, "rate_limited"},
		{"adaptive limit", func() *middleware.Recovery {
			return &middleware.Recovery{Limit: limit.New(limit.Config{InitialLimit: 1, MaxLimit: 1})}
		}, "limit_exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &health{block: make(chan struct{})}
				rec := tt.rec()
				rec.Tracker = errtrack.New(errtrack.Config{})
				r := serverRig(t, h, rec, resgrpc.ServerConfig{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); check(r) }()
				synctest.Wait()
				var trailer metadata.MD
				_, err := r.hc.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{}, grpc.Trailer(&trailer))
				if status.Code(err) != codes.ResourceExhausted {
					t.Errorf("second call = %v, want ResourceExhausted", err)
				}
				if len(trailer.Get(resgrpc.PushbackKey)) != 1 {
					t.Errorf("trailer %v has no pushback", trailer)
				}
				close(h.block)
				wg.Wait()
				if h.Calls() != 1 {
					t.Errorf("handler ran %d times, want 1", h.Calls())
				}
				if got := rec.Tracker.ByClass()[tt.class]; got != 1 {
					t.Errorf("tracked %v, want one %s", rec.Tracker.ByClass(), tt.class)
				}
			})
		})
	}
}
