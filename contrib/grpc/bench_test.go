package resgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"
	"github.com/seed94f50169/resilience/breaker"
	resgrpc "github.com/seed94f50169/resilience/contrib/grpc"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// BenchmarkUnary measures a loopback TCP unary call: bare, through this
// package's client interceptor (retry, breaker and a per-attempt timeout,
// and the same without the timeout), and through failsafe-go's with the
// same three policies.
func BenchmarkUnary(b *testing.B) {
	ours := resgrpc.NewClient(&middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3},
		Breaker: breaker.New(breaker.Config{}),
		Timeout: 5 * time.Second,
	}, resgrpc.ClientConfig{})
	theirs := failsafegrpc.NewUnaryClientInterceptor[any](
		retrypolicy.NewBuilder[any]().WithMaxAttempts(3).Build(),
		circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Minute).Build(),
		fstimeout.New[any](5*time.Second),
	)
	noTimeout := resgrpc.NewClient(&middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 3},
		Breaker: breaker.New(breaker.Config{}),
	}, resgrpc.ClientConfig{})
	cases := []struct {
		name string
		opts []grpc.DialOption
	}{
		{"bare", nil},
		{"resilience", []grpc.DialOption{grpc.WithUnaryInterceptor(ours.UnaryInterceptor())}},
		{"resilience-no-timeout", []grpc.DialOption{grpc.WithUnaryInterceptor(noTimeout.UnaryInterceptor())}},
		{"failsafe-go", []grpc.DialOption{grpc.WithUnaryInterceptor(theirs)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := startRig(b, &health{}, true, nil, c.opts...)
			req := &grpc_health_v1.HealthCheckRequest{}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.hc.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
