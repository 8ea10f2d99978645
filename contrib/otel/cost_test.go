package resotel_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func ok(context.Context) (int, error) { return 1, nil }

// recovery is the Recovery the cost is measured on: retry, breaker and
// bulkhead, the common client stack.
func recovery(o *resotel.Observer) *middleware.Recovery {
	return recoveryWith(o, nil)
}

// nop is an observer that does nothing: a Recovery with it pays the
// core's cost of being observed, without the adapter's.
var nop = middleware.ObserverFunc(func(middleware.Event) {})

func recoveryWith(o *resotel.Observer, obs middleware.Observer) *middleware.Recovery {
	var onChange func(from, to breaker.State)
	if o != nil {
		onChange = o.OnStateChange
	}
	r := &middleware.Recovery{
		Retry:    &retry.Policy{},
		Breaker:  breaker.New(breaker.Config{OnStateChange: onChange}),
		Bulkhead: bulkhead.New(bulkhead.Config{}),
	}
	if obs != nil {
		r.Observers = append(r.Observers, obs)
	}
	if o != nil {
		if err := o.Instrument(r); err != nil {
			panic(err)
		}
	}
	return r
}

func observer(tb testing.TB, durations bool) *resotel.Observer {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	o, err := resotel.New(resotel.Config{Name: "bench", MeterProvider: mp, TracerProvider: trace.NewTracerProvider(), Durations: durations})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { o.Close() })
	return o
}

// TestSuccessPathAllocs: on the success path the default Observer (through
// the hooks) adds no allocation to a Recovery without one; with Durations
// (through the observers) it adds none to what an observed Recovery costs
// (one with a no-op observer).
func TestSuccessPathAllocs(t *testing.T) {
	ctx := context.Background()
	plain := recovery(nil)
	observed := recoveryWith(nil, nop)
	o := observer(t, false)
	inst := recovery(o)
	od := observer(t, true)
	timed := recovery(od)
	for _, c := range []struct {
		name       string
		base, with func()
	}{
		{"hooks", func() { middleware.Do(ctx, plain, ok) }, func() { middleware.Do(ctx, inst, ok) }},
		{"resotel.Do", func() { middleware.Do(ctx, plain, ok) }, func() { resotel.Do(ctx, o, inst, ok) }},
		{"durations", func() { middleware.Do(ctx, observed, ok) }, func() { resotel.Do(ctx, od, timed, ok) }},
	} {
		base := testing.AllocsPerRun(1000, c.base)
		with := testing.AllocsPerRun(1000, c.with)
		if with > base {
			t.Errorf("%s: %v allocs per call, %v without the adapter: want no more", c.name, with, base)
		}
	}
}

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	o := observer(b, false)
	od := observer(b, true)
	cases := []struct {
		name string
		do   func()
	}{
		{"plain", func() { r := recovery(nil); b.ResetTimer(); loop(b, func() { middleware.Do(ctx, r, ok) }) }},
		{"nop-observer", func() { r := recoveryWith(nil, nop); b.ResetTimer(); loop(b, func() { middleware.Do(ctx, r, ok) }) }},
		{"observer", func() { r := recovery(o); b.ResetTimer(); loop(b, func() { middleware.Do(ctx, r, ok) }) }},
		{"otel", func() { r := recovery(o); b.ResetTimer(); loop(b, func() { resotel.Do(ctx, o, r, ok) }) }},
		{"otel-durations", func() { r := recovery(od); b.ResetTimer(); loop(b, func() { resotel.Do(ctx, od, r, ok) }) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			bb = b
			c.do()
		})
	}
}

var bb *testing.B

func loop(_ *testing.B, f func()) {
	for bb.Loop() {
		f()
	}
}
