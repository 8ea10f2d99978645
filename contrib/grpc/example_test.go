package resgrpc_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	resgrpc "github.com/seed94f50169/resilience/contrib/grpc"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// flaky answers UNAVAILABLE to its first call, then SERVING.
type flaky struct {
	grpc_health_v1.UnimplementedHealthServer
	calls int
}

func (f *flaky) Check(context.Context, *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	f.calls++
	if f.calls == 1 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func Example() {
	// A server whose panics become INTERNAL and whose requests time out.
	srvRec := resgrpc.NewServer(&middleware.Recovery{Timeout: 2 * time.Second}, resgrpc.ServerConfig{})
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(srvRec.UnaryInterceptor()))
	svc := &flaky{}
	grpc_health_v1.RegisterHealthServer(srv, svc)
	lis := bufconn.Listen(1 << 16)
	go srv.Serve(lis)
	defer srv.Stop()

	// A client that retries UNAVAILABLE behind a breaker.
	b := breaker.New(breaker.Config{})
	cli := resgrpc.NewClient(&middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3},
		Breaker: b,
		Timeout: time.Second,
	}, resgrpc.ClientConfig{})
	conn, err := grpc.NewClient("passthrough:///example",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(cli.UnaryInterceptor()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	resp, err := grpc_health_v1.NewHealthClient(conn).Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err, "after", svc.calls, "calls; breaker", b.State())
	// Output: SERVING <nil> after 2 calls; breaker closed
}
