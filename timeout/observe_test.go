package timeout

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type events struct{ got []Event }

func (e *events) Observe(ev Event) { e.got = append(e.got, ev) }

type reqKey struct{}

func TestObserversSeeTimeoutsWithTheirScope(t *testing.T) {
	tests := []struct {
		name      string
		outer     time.Duration // the "pipeline" scope; 0: none
		inner     time.Duration
		work      time.Duration
		wantName  string
		wantLimit time.Duration
		wantCount int
	}{
		{"in time", 0, time.Second, 10 * time.Millisecond, "", 0, 0},
		{"own limit", 0, time.Second, 2 * time.Second, "step", time.Second, 1},
		{"enclosing budget", 500 * time.Millisecond, time.Second, 2 * time.Second, "pipeline", 500 * time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := &events{}, &events{}
				ctx := WithObserver(WithObserver(context.WithValue(t.Context(), reqKey{}, "r"), a), b)
				step := func(ctx context.Context) (int, error) {
					return DoNamed(ctx, "step", tc.inner, func(ctx context.Context) (int, error) {
						select {
						case <-ctx.Done():
							return 0, ctx.Err()
						case <-time.After(tc.work):
							return 1, nil
						}
					})
				}
				if tc.outer > 0 {
					DoNamed(ctx, "pipeline", tc.outer, step)
				} else {
					step(ctx)
				}
				for _, r := range []*events{a, b} {
					if len(r.got) != tc.wantCount {
						t.Fatalf("got %d events %+v, want %d", len(r.got), r.got, tc.wantCount)
					}
					for _, e := range r.got {
						if e.Kind != EventTimeout || e.Name != tc.wantName || e.Limit != tc.wantLimit || !errors.Is(e.Err, ErrTimeout) || e.Ctx.Value(reqKey{}) != "r" {
							t.Errorf("event %+v, want a timeout of %q (%v)", e, tc.wantName, tc.wantLimit)
						}
					}
				}
			})
		})
	}
}
