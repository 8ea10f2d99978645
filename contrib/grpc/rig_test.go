package resgrpc_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
)

// health is a health service whose failures the test controls.
type health struct {
	grpc_health_v1.UnimplementedHealthServer

	mu       sync.Mutex
	calls    int
	prev     []string        // grpc-previous-rpc-attempts of each call, "" if absent
	left     []time.Duration // time left on each call's deadline, 0 if none
	fail     func(n int) error
	trailer  func(n int) metadata.MD
	messages int // Watch: messages sent before fail is asked
	block    chan struct{}
	panicOn  bool
}

func (h *health) record(ctx context.Context) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	p := ""
	if v := md.Get("grpc-previous-rpc-attempts"); len(v) > 0 {
		p = v[0]
	}
	h.prev = append(h.prev, p)
	var left time.Duration
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	h.left = append(h.left, left)
	return h.calls
}

func (h *health) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

func (h *health) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	n := h.record(ctx)
	if h.panicOn {
		panic("boom")
	}
	if h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if h.trailer != nil {
		if md := h.trailer(n); md != nil {
			grpc.SetTrailer(ctx, md)
		}
	}
	if h.fail != nil {
		if err := h.fail(n); err != nil {
			return nil, err
		}
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(req *grpc_health_v1.HealthCheckRequest, s grpc.ServerStreamingServer[grpc_health_v1.HealthCheckResponse]) error {
	n := h.record(s.Context())
	for i := 0; i < h.messages; i++ {
		if err := s.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	if h.fail != nil {
		if err := h.fail(n); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ {
		if err := s.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	return nil
}

// rig is a real gRPC server with the health service, on bufconn or TCP.
type rig struct {
	srv  *grpc.Server
	conn *grpc.ClientConn
	hc   grpc_health_v1.HealthClient
}

func startRig(t testing.TB, h *health, tcp bool, srvOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) *rig {
	t.Helper()
	var lis net.Listener
	target := "passthrough:///bufnet"
	dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis, target = l, l.Addr().String()
	} else {
		bl := bufconn.Listen(1 << 20)
		lis = bl
		dialOpts = append(dialOpts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return bl.DialContext(ctx) }))
	}
	srv := grpc.NewServer(srvOpts...)
	grpc_health_v1.RegisterHealthServer(srv, h)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(lis) }()
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return &rig{srv: srv, conn: conn, hc: grpc_health_v1.NewHealthClient(conn)}
}

// slowFirst is a health service whose first Check waits until release is
// closed or its context ends.
type slowFirst struct {
	*health
	release chan struct{}
}

func (s *slowFirst) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	if s.health.Calls() == 0 {
		s.health.record(ctx)
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_NOT_SERVING}, nil
	}
	return s.health.Check(ctx, req)
}

// startRigWith serves srv on bufconn.
func startRigWith(t testing.TB, srv grpc_health_v1.HealthServer, dialOpts ...grpc.DialOption) *rig {
	t.Helper()
	bl := bufconn.Listen(1 << 20)
	dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return bl.DialContext(ctx) }))
	s := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(s, srv)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(bl) }()
	conn, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		s.Stop()
		<-done
	})
	return &rig{srv: s, conn: conn, hc: grpc_health_v1.NewHealthClient(conn)}
}
