package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
)

type events struct{ got []retry.Event }

func (e *events) Observe(ev retry.Event) { e.got = append(e.got, ev) }

type reqID struct{}

func TestObserversSeeRetriesWithTheirDelayAndReason(t *testing.T) {
	tests := []struct {
		name   string
		errs   []error // one per failing attempt; then success
		max    int
		want   []retry.Event
		reason []retry.DelayReason
	}{
		{
			name: "backoff then success",
			errs: []error{errBoom, errBoom},
			want: []retry.Event{
				{Kind: retry.EventRetry, Attempt: 1, Delay: 100 * ms, Reason: retry.ReasonBackoff},
				{Kind: retry.EventRetry, Attempt: 2, Delay: 200 * ms, Reason: retry.ReasonBackoff},
			},
		},
		{
			name: "Retry-After longer than the backoff",
			errs: []error{hintError{3 * time.Second}, hintError{time.Millisecond}},
			want: []retry.Event{
				{Kind: retry.EventRetry, Attempt: 1, Delay: 3 * time.Second, Reason: retry.ReasonRetryAfter},
				{Kind: retry.EventRetry, Attempt: 2, Delay: 200 * ms, Reason: retry.ReasonBackoff},
			},
		},
		{
			name: "exhausted",
			errs: []error{errBoom, errBoom, errBoom},
			want: []retry.Event{
				{Kind: retry.EventRetry, Attempt: 1, Delay: 100 * ms, Reason: retry.ReasonBackoff},
				{Kind: retry.EventRetry, Attempt: 2, Delay: 200 * ms, Reason: retry.ReasonBackoff},
				{Kind: retry.EventExhausted, Attempt: 3},
			},
		},
		{
			name: "permanent is not exhaustion",
			errs: []error{retry.Permanent(errBoom)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := &events{}, &events{}
				var hooked []retry.Attempt
				p := retry.Policy{
					Backoff:   backoff.Policy{Jitter: backoff.NoJitter},
					OnRetry:   func(at retry.Attempt) { hooked = append(hooked, at) },
					Observers: []retry.Observer{a, b},
				}
				ctx := context.WithValue(t.Context(), reqID{}, "r1")
				n := 0
				retry.Do(ctx, p, func(context.Context) (int, error) {
					if n < len(tc.errs) {
						n++
						return 0, tc.errs[n-1]
					}
					return 1, nil
				})
				for _, ev := range [][]retry.Event{a.got, b.got} {
					if len(ev) != len(tc.want) {
						t.Fatalf("got %d events %+v, want %d", len(ev), ev, len(tc.want))
					}
					for i, e := range ev {
						if e.Ctx.Value(reqID{}) != "r1" {
							t.Errorf("event %d: Ctx lost the caller's values", i)
						}
						if e.Err == nil {
							t.Errorf("event %d: no Err", i)
						}
						var ex *retry.ExhaustedError
						if (e.Kind == retry.EventExhausted) != errors.As(e.Err, &ex) {
							t.Errorf("event %d: Err = %v", i, e.Err)
						}
						e.Ctx, e.Err = nil, nil
						if e != tc.want[i] {
							t.Errorf("event %d = %+v, want %+v", i, e, tc.want[i])
						}
					}
				}
				for i, at := range hooked {
					if w := tc.want[i]; at.Delay != w.Delay || at.Reason != w.Reason {
						t.Errorf("OnRetry %d = %+v, want delay %v reason %v", i, at, w.Delay, w.Reason)
					}
				}
			})
		})
	}
}

func TestDelayReasonString(t *testing.T) {
	for r, want := range map[retry.DelayReason]string{retry.ReasonBackoff: "backoff", retry.ReasonRetryAfter: "retry_after", 0: "unknown"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", r, got, want)
		}
	}
}
