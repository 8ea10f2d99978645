package resotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/seed94f50169/resilience/breaker"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
	"github.com/seed94f50169/resilience/fallback"
)

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	return names
}

func TestSpanEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, resotel.Config{Name: "payments", AttemptSpans: true, SpanEvents: true})
		tracer := g.tp.Tracer("test")

		ctx, parent := tracer.Start(context.Background(), "call")
		n := 0
		_, err := resotel.Do(ctx, g.o, g.r, func(context.Context) (int, error) {
			n++
			if n < 3 {
				return 0, errRefused
			}
			return n, nil
		})
		parent.End()
		if err != nil {
			t.Fatal(err)
		}
		g.r.Breaker.ForceOpen()
		ctx, rejected := tracer.Start(context.Background(), "rejected")
		v, err := resotel.Do(ctx, g.o, g.r, func(context.Context) (int, error) { return 1, nil }, fallback.Value(7))
		rejected.End()
		if v != 7 || err != nil {
			t.Fatalf("rejected call = %v, %v", v, err)
		}
		ctx, bare := tracer.Start(context.Background(), "bare")
		if _, err := resotel.Do(ctx, g.o, g.r, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, breaker.ErrOpen) {
			t.Errorf("bare call: %v, want breaker.ErrOpen", err)
		}
		bare.End()
		if g.r.Breaker.State() != breaker.Open {
			t.Fatal("breaker not open")
		}

		ended := g.spans.Ended()
		var attempts, failed int
		byName := map[string][]string{}
		for _, s := range ended {
			if s.Name() == "resilience.attempt" {
				attempts++
				if s.Status().Code == codes.Error {
					failed++
				}
				if s.Parent().SpanID() != parent.SpanContext().SpanID() {
					t.Errorf("attempt span's parent %v, want the call's span", s.Parent().SpanID())
				}
				continue
			}
			byName[s.Name()] = eventNames(s)
		}
		if attempts != 3 || failed != 2 {
			t.Errorf("attempt spans: %d, %d failed; want 3, 2 failed", attempts, failed)
		}
		want := map[string][]string{
			"call": {"resilience.retry", "resilience.retry"},
			// A forced-open breaker gives no wait hint: every attempt is
			// tried and refused.
			"rejected": {"resilience.rejected", "resilience.retry", "resilience.rejected", "resilience.retry", "resilience.rejected", "resilience.exhausted", "resilience.fallback"},
			"bare":     {"resilience.rejected", "resilience.retry", "resilience.rejected", "resilience.retry", "resilience.rejected", "resilience.exhausted"},
		}
		for name, w := range want {
			if got := byName[name]; !equal(got, w) {
				t.Errorf("events of %q = %v, want %v", name, got, w)
			}
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
