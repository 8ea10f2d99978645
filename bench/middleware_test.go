package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

// The same stack in each library, outermost first: retry (3 attempts),
// circuit breaker (library defaults), bulkhead (room for every benchmark
// goroutine), timeout (1s per attempt), around an operation that succeeds.

func mwRecovery() *middleware.Recovery {
	return &middleware.Recovery{
		Retry:    &retry.Policy{MaxAttempts: 3},
		Breaker:  breaker.New(breaker.Config{}),
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1024}),
		Timeout:  time.Second,
	}
}

func mwFailsafe[R any]() []failsafe.Policy[R] {
	return []failsafe.Policy[R]{
		retrypolicy.NewBuilder[R]().WithMaxAttempts(3).Build(),
		circuitbreaker.NewWithDefaults[R](),
		fsbulkhead.New[R](1024),
		fstimeout.New[R](time.Second),
	}
}

func mwSucceed(ctx context.Context) (int, error) { return 1, ctx.Err() }

func BenchmarkMiddlewareDo(b *testing.B) {
	ctx := context.Background()
	b.Run("resilience", func(b *testing.B) {
		r := mwRecovery()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := middleware.Do(ctx, r, mwSucceed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe-go", func(b *testing.B) {
		ex := failsafe.With(mwFailsafe[int]()...).WithContext(ctx)
		fn := func(e failsafe.Execution[int]) (int, error) { return mwSucceed(e.Context()) }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ex.GetWithExecution(fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMiddlewareDoParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("resilience", func(b *testing.B) {
		r := mwRecovery()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := middleware.Do(ctx, r, mwSucceed); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("failsafe-go", func(b *testing.B) {
		ex := failsafe.With(mwFailsafe[int]()...).WithContext(ctx)
		fn := func(e failsafe.Execution[int]) (int, error) { return mwSucceed(e.Context()) }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ex.GetWithExecution(fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkMiddlewareGlue measures what middleware.Do adds to the layers
// it composes: retry (3 attempts), breaker and bulkhead without a timeout,
// once through a Recovery and once called directly, nested by hand in the
// same order.
func BenchmarkMiddlewareGlue(b *testing.B) {
	ctx := context.Background()
	b.Run("resilience", func(b *testing.B) {
		r := mwRecovery()
		r.Timeout = 0
		b.ReportAllocs()
		for b.Loop() {
			if _, err := middleware.Do(ctx, r, mwSucceed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		r := mwRecovery()
		p, br, bh := *r.Retry, r.Breaker, r.Bulkhead
		guarded := func(ctx context.Context) (int, error) { return bulkhead.Do(ctx, bh, mwSucceed) }
		attempt := func(ctx context.Context) (int, error) { return breaker.Do(ctx, br, guarded) }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := retry.Do(ctx, p, attempt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// mwTransports returns the round trippers compared on a loopback GET, each
// over its own http.Transport: bare; resilience's Transport with retry,
// breaker and bulkhead; and the same with a 1s per-attempt timeout, which
// costs a context timer per request that the bare transport does not pay.
// (failsafe-go's failsafehttp adapter is left out: its imports would add
// dependencies to this module.)
func mwTransports() []struct {
	name string
	wrap func(base http.RoundTripper) http.RoundTripper
} {
	return []struct {
		name string
		wrap func(base http.RoundTripper) http.RoundTripper
	}{
		{"bare", func(base http.RoundTripper) http.RoundTripper { return base }},
		{"resilience", func(base http.RoundTripper) http.RoundTripper {
			r := mwRecovery()
			r.Timeout = 0
			return r.Transport(base)
		}},
		{"resilience-timeout", func(base http.RoundTripper) http.RoundTripper { return mwRecovery().Transport(base) }},
	}
}

func mwLoopback(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	return srv
}

func mwGet(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatal(resp.Status)
	}
}

func BenchmarkMiddlewareTransport(b *testing.B) {
	srv := mwLoopback(b)
	for _, tt := range mwTransports() {
		b.Run(tt.name, func(b *testing.B) {
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			c := &http.Client{Transport: tt.wrap(base)}
			b.ReportAllocs()
			for b.Loop() {
				mwGet(b, c, srv.URL)
			}
		})
	}
}

func BenchmarkMiddlewareTransportParallel(b *testing.B) {
	srv := mwLoopback(b)
	for _, tt := range mwTransports() {
		b.Run(tt.name, func(b *testing.B) {
			base := &http.Transport{MaxIdleConnsPerHost: 64}
			defer base.CloseIdleConnections()
			c := &http.Client{Transport: tt.wrap(base)}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mwGet(b, c, srv.URL)
				}
			})
		})
	}
}

// mwCanned answers every request at once with a small 200, so the
// benchmark below measures what the middleware itself costs per request.
type mwCanned struct{}

func (mwCanned) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func BenchmarkMiddlewareTransportOverhead(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://backend.local/", nil)
	for _, tt := range mwTransports() {
		rt := tt.wrap(mwCanned{})
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

// mwHandlers returns the server-side wrappers compared on a loopback GET:
// bare; resilience's Handler with a bulkhead and a tracker; and the same
// with a request timeout, which costs a context and a timer per request.
func mwHandlers() []struct {
	name string
	wrap func(next http.Handler) http.Handler
} {
	return []struct {
		name string
		wrap func(next http.Handler) http.Handler
	}{
		{"bare", func(next http.Handler) http.Handler { return next }},
		{"resilience", func(next http.Handler) http.Handler {
			r := &middleware.Recovery{
				Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1024}),
				Tracker:  errtrack.New(errtrack.Config{}),
			}
			return r.Handler(next)
		}},
		{"resilience-timeout", func(next http.Handler) http.Handler {
			r := &middleware.Recovery{
				Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1024}),
				Tracker:  errtrack.New(errtrack.Config{}),
				Timeout:  time.Second,
			}
			return r.Handler(next)
		}},
	}
}

func BenchmarkMiddlewareHandler(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	for _, tt := range mwHandlers() {
		b.Run(tt.name, func(b *testing.B) {
			srv := httptest.NewServer(tt.wrap(ok))
			defer srv.Close()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			c := &http.Client{Transport: base}
			b.ReportAllocs()
			for b.Loop() {
				mwGet(b, c, srv.URL)
			}
		})
	}
}
