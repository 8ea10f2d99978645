package fallback_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seed94f50169/resilience/fallback"
)

type events struct{ got []fallback.Event }

func (e *events) Observe(ev fallback.Event) { e.got = append(e.got, ev) }

func TestObserversSeeWhichStepServed(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	failWith := func(e error) fallback.Func[int] {
		return func(context.Context, error) (int, error) { return 0, e }
	}
	tests := []struct {
		name      string
		primary   error
		fallbacks []fallback.Func[int]
		want      []fallback.Event // Ctx left out
	}{
		{"primary succeeds", nil, []fallback.Func[int]{fallback.Value(1)}, nil},
		{"first fallback", errA, []fallback.Func[int]{fallback.Value(1)},
			[]fallback.Event{{Kind: fallback.EventServed, Step: 1, Err: errA}}},
		{"second fallback", errA, []fallback.Func[int]{failWith(errB), fallback.Value(2)},
			[]fallback.Event{{Kind: fallback.EventServed, Step: 2, Err: errB}}},
		{"all fail", errA, []fallback.Func[int]{failWith(errB)},
			[]fallback.Event{{Kind: fallback.EventFailed, Step: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := &events{}, &events{}
			ctx := fallback.WithObserver(fallback.WithObserver(t.Context(), a), b)
			_, err := fallback.Do(ctx, func(context.Context) (int, error) { return 0, tc.primary }, tc.fallbacks...)
			for _, r := range []*events{a, b} {
				if len(r.got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", r.got, tc.want)
				}
				for i, e := range r.got {
					if e.Ctx == nil {
						t.Errorf("event %d has no Ctx", i)
					}
					w := tc.want[i]
					if w.Kind == fallback.EventFailed {
						w.Err = err // Do's own error
					}
					if e.Kind != w.Kind || e.Step != w.Step || e.Err != w.Err {
						t.Errorf("event %d = %+v, want %+v", i, e, w)
					}
				}
			}
		})
	}
}
