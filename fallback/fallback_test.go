package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/fallback"
)

var (
	errPrimary = errors.New("primary down")
	errBackup  = errors.New("backup down")
	errCache   = errors.New("cache down")
)

func ok(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}

func fail(err error) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return "", err }
}

// step is a fallback that records the error it received.
type step struct {
	got   []error
	value string
	err   error
}

func (s *step) fn(_ context.Context, err error) (string, error) {
	s.got = append(s.got, err)
	return s.value, s.err
}

// sliceError cannot be compared with ==.
type sliceError []string

func (e sliceError) Error() string { return fmt.Sprint([]string(e)) }

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		primary   func(context.Context) (string, error)
		steps     []*step
		want      string
		wantErrs  []error // errors the result must match; nil means success
		wantType  bool    // the error is an *Error
		wantCalls []int   // calls per step
		wantGot   [][]error
	}{
		{
			name:      "primary succeeds",
			primary:   ok("primary"),
			steps:     []*step{{value: "backup"}},
			want:      "primary",
			wantCalls: []int{0},
		},
		{
			name:      "first fallback succeeds",
			primary:   fail(errPrimary),
			steps:     []*step{{value: "backup"}, {value: "default"}},
			want:      "backup",
			wantCalls: []int{1, 0},
			wantGot:   [][]error{{errPrimary}, nil},
		},
		{
			name:      "each fallback receives the error before it",
			primary:   fail(errPrimary),
			steps:     []*step{{err: errBackup}, {err: errCache}, {value: "default"}},
			want:      "default",
			wantCalls: []int{1, 1, 1},
			wantGot:   [][]error{{errPrimary}, {errBackup}, {errCache}},
		},
		{
			name:      "all fail",
			primary:   fail(errPrimary),
			steps:     []*step{{err: errBackup}, {err: errCache}},
			wantErrs:  []error{errPrimary, errBackup, errCache},
			wantType:  true,
			wantCalls: []int{1, 1},
		},
		{
			name:     "no fallbacks returns the error unchanged",
			primary:  fail(errPrimary),
			wantErrs: []error{errPrimary},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fbs := make([]fallback.Func[string], len(tt.steps))
			for i, s := range tt.steps {
				fbs[i] = s.fn
			}
			got, err := fallback.Do(context.Background(), tt.primary, fbs...)
			if tt.wantErrs == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Do = %q, %v; want %q, nil", got, err, tt.want)
				}
			} else {
				if err == nil || got != "" {
					t.Fatalf("Do = %q, %v; want \"\" and an error", got, err)
				}
				for _, want := range tt.wantErrs {
					if !errors.Is(err, want) {
						t.Errorf("errors.Is(%v, %v) = false", err, want)
					}
				}
				var fe *fallback.Error
				if errors.As(err, &fe) != tt.wantType {
					t.Errorf("err is *Error: %v, want %v", !tt.wantType, tt.wantType)
				}
				if !tt.wantType && err != tt.wantErrs[0] {
					t.Errorf("err = %v, want it unchanged: %v", err, tt.wantErrs[0])
				}
				if tt.wantType && len(fe.Errs) != len(tt.wantErrs) {
					t.Errorf("len(Errs) = %d, want %d", len(fe.Errs), len(tt.wantErrs))
				}
			}
			for i, s := range tt.steps {
				if len(s.got) != tt.wantCalls[i] {
					t.Errorf("step %d called %d times, want %d", i, len(s.got), tt.wantCalls[i])
				}
				if tt.wantGot != nil && tt.wantGot[i] != nil && (len(s.got) != 1 || s.got[0] != tt.wantGot[i][0]) {
					t.Errorf("step %d received %v, want %v", i, s.got, tt.wantGot[i])
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := fallback.Do(context.Background(), fail(errPrimary),
		fallback.From(fail(errBackup)), fallback.From(fail(errCache)))
	want := "fallback: every step failed: primary down; then: backup down; then: cache down"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if got := (&fallback.Error{Errs: []error{nil}}).Error(); got != "fallback: every step failed: <nil>" {
		t.Errorf("nil entry: %q", got)
	}
}

func TestWhen(t *testing.T) {
	isBackup := func(err error) bool { return errors.Is(err, errBackup) }
	t.Run("match runs f", func(t *testing.T) {
		got, err := fallback.Do(context.Background(), fail(errPrimary),
			fallback.From(fail(errBackup)),
			fallback.When(isBackup, fallback.Value("handled")))
		if err != nil || got != "handled" {
			t.Fatalf("Do = %q, %v", got, err)
		}
	})
	t.Run("no match passes the error on", func(t *testing.T) {
		next := &step{value: "next"}
		ran := false
		got, err := fallback.Do(context.Background(), fail(errPrimary),
			fallback.When(isBackup, func(context.Context, error) (string, error) {
				ran = true
				return "skipped", nil
			}),
			next.fn)
		if err != nil || got != "next" || ran {
			t.Fatalf("Do = %q, %v (When ran f: %v); want \"next\"", got, err, ran)
		}
		if len(next.got) != 1 || next.got[0] != errPrimary {
			t.Fatalf("next fallback received %v, want [%v]", next.got, errPrimary)
		}
	})
	t.Run("all skipped returns the error unchanged", func(t *testing.T) {
		never := func(error) bool { return false }
		_, err := fallback.Do(context.Background(), fail(errPrimary),
			fallback.When(never, fallback.Value("a")),
			fallback.When(never, fallback.Value("b")))
		if err != errPrimary {
			t.Fatalf("err = %v, want %v unchanged", err, errPrimary)
		}
	})
	t.Run("non-comparable error passed on", func(t *testing.T) {
		primary := sliceError{"a", "b"}
		never := func(error) bool { return false }
		_, err := fallback.Do(context.Background(),
			func(context.Context) (string, error) { return "", primary },
			fallback.When(never, fallback.Value("a")),
			fallback.From(fail(sliceError{"c"})))
		var fe *fallback.Error
		if !errors.As(err, &fe) || len(fe.Errs) != 2 {
			t.Fatalf("err = %#v, want an *Error of two errors", err)
		}
	})
}

func TestFromIgnoresError(t *testing.T) {
	var gotCtx context.Context
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	got, err := fallback.Do(ctx, fail(errPrimary), fallback.From(func(ctx context.Context) (string, error) {
		gotCtx = ctx
		return "backup", nil
	}))
	if err != nil || got != "backup" {
		t.Fatalf("Do = %q, %v", got, err)
	}
	if gotCtx.Value(key{}) != 1 {
		t.Fatal("From did not pass the caller's context")
	}
}

func TestCancellation(t *testing.T) {
	t.Run("caller canceled before fallbacks", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := &step{value: "default"}
		_, err := fallback.Do(ctx, func(context.Context) (string, error) {
			cancel()
			return "", errPrimary
		}, s.fn)
		if len(s.got) != 0 {
			t.Fatal("fallback ran after the caller canceled")
		}
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errPrimary) {
			t.Fatalf("err = %v, want it to match context.Canceled and the primary error", err)
		}
	})
	t.Run("caller canceled, no fallbacks given", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var fbs []fallback.Func[string] // a chain built at run time, empty this time
		_, err := fallback.Do(ctx, func(context.Context) (string, error) {
			cancel()
			return "", errPrimary
		}, fbs...)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errPrimary) {
			t.Fatalf("err = %v, want it to match context.Canceled and the primary error", err)
		}
	})
	t.Run("operation returned the context error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &step{value: "default"}
		_, err := fallback.Do(ctx, func(ctx context.Context) (string, error) { return "", ctx.Err() }, s.fn)
		if err != context.Canceled || len(s.got) != 0 {
			t.Fatalf("err = %v, fallback calls %d; want context.Canceled unchanged, 0", err, len(s.got))
		}
	})
	t.Run("canceled during a fallback stops the chain", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		last := &step{value: "default"}
		_, err := fallback.Do(ctx, fail(errPrimary),
			func(context.Context, error) (string, error) {
				cancel()
				return "", errBackup
			}, last.fn)
		if len(last.got) != 0 {
			t.Fatal("fallback ran after the caller canceled")
		}
		for _, want := range []error{errPrimary, errBackup, context.Canceled} {
			if !errors.Is(err, want) {
				t.Errorf("err = %v, does not match %v", err, want)
			}
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel()
		_, err := fallback.Do(ctx, fail(errPrimary), fallback.Value("default"))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errPrimary) {
			t.Fatalf("err = %v, want the deadline and the primary error", err)
		}
	})
	t.Run("own per-attempt deadline triggers fallbacks", func(t *testing.T) {
		got, err := fallback.Do(context.Background(), func(ctx context.Context) (string, error) {
			ctx, cancel := context.WithDeadline(ctx, time.Unix(0, 0))
			defer cancel()
			<-ctx.Done()
			return "", ctx.Err()
		}, fallback.Value("default"))
		if err != nil || got != "default" {
			t.Fatalf("Do = %q, %v; want the fallback", got, err)
		}
	})
}

func TestPanicPropagates(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want boom", r)
		}
	}()
	_, _ = fallback.Do(context.Background(), func(context.Context) (string, error) { panic("boom") },
		fallback.Value("default"))
	t.Fatal("Do returned after a panic")
}

func TestDoDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	primary := func(context.Context) (int, error) { return 1, nil }
	failing := func(context.Context) (int, error) { return 0, errPrimary }
	fbs := []fallback.Func[int]{fallback.Value(2), fallback.Value(3)}
	tests := []struct {
		name string
		call func()
	}{
		{"prebuilt fallbacks", func() { _, _ = fallback.Do(ctx, primary, fbs...) }},
		{"inline Value", func() { _, _ = fallback.Do(ctx, primary, fallback.Value(2)) }},
		{"no fallbacks", func() { _, _ = fallback.Do(ctx, primary) }},
		{"first fallback answers", func() { _, _ = fallback.Do(ctx, failing, fbs...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.call); n != 0 {
				t.Fatalf("allocs = %v, want 0", n)
			}
		})
	}
}

// wrapped is comparable by type but holds an error that may not be.
type wrapped struct{ inner error }

func (e wrapped) Error() string { return "wrapped: " + e.inner.Error() }
func (e wrapped) Unwrap() error { return e.inner }

func TestPassOnUncomparableInside(t *testing.T) {
	primary := wrapped{sliceError{"x"}}
	never := func(error) bool { return false }
	_, err := fallback.Do(context.Background(),
		func(context.Context) (string, error) { return "", primary },
		fallback.When(never, fallback.Value("a")),
		fallback.From(fail(wrapped{sliceError{"y"}})))
	var fe *fallback.Error
	if !errors.As(err, &fe) || len(fe.Errs) != 2 {
		t.Fatalf("err = %#v, want an *Error of two errors", err)
	}
}
