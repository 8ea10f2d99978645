package timeout

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// waitFor returns after d, or with ctx's error when ctx ends first.
func waitFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// work returns fn for Do that takes d, or less if its context ends.
func work(d time.Duration) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		if err := waitFor(ctx, d); err != nil {
			return 0, err
		}
		return 42, nil
	}
}

func asTimeout(t *testing.T, err error) *Error {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want a *timeout.Error", err, err)
	}
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v does not match ErrTimeout and context.DeadlineExceeded", err)
	}
	return te
}

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		limit     time.Duration
		takes     time.Duration
		want      int
		wantLimit time.Duration // 0: no timeout expected
		elapsed   time.Duration
	}{
		{"fast", time.Second, 10 * time.Millisecond, 42, 0, 10 * time.Millisecond},
		{"just in time", time.Second, time.Second - 1, 42, 0, time.Second - 1},
		{"too slow", time.Second, time.Hour, 0, time.Second, time.Second},
		{"huge limit", math.MaxInt64, time.Hour, 42, 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				got, err := Do(context.Background(), tt.limit, work(tt.takes))
				if elapsed := time.Since(start); elapsed != tt.elapsed {
					t.Errorf("returned after %v, want %v", elapsed, tt.elapsed)
				}
				if got != tt.want {
					t.Errorf("got %d, want %d", got, tt.want)
				}
				if tt.wantLimit == 0 {
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					return
				}
				te := asTimeout(t, err)
				if te.Name != "" || te.Limit != tt.wantLimit || !errors.Is(te.Err, context.DeadlineExceeded) {
					t.Fatalf("Error = %+v", te)
				}
			})
		})
	}
}

func TestDoDeadlineGivenToFn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _ = Do(context.Background(), 3*time.Second, func(ctx context.Context) (int, error) {
			if left, ok := Remaining(ctx); !ok || left != 3*time.Second {
				t.Errorf("Remaining = %v, %v; want 3s", left, ok)
			}
			return 0, nil
		})
		_, _ = Do(context.Background(), math.MaxInt64, func(ctx context.Context) (int, error) {
			if left, ok := Remaining(ctx); !ok || left < 100*365*24*time.Hour {
				t.Errorf("Remaining = %v, %v; want centuries", left, ok)
			}
			return 0, nil
		})
	})
}

func TestDoResultAfterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errLate := errors.New("late failure")
		tests := []struct {
			name    string
			err     error
			wantErr error // wrapped in Err
		}{
			{"success is dropped", nil, nil},
			{"error is wrapped", errLate, errLate},
		}
		for _, tt := range tests {
			// fn ignores ctx and returns after its deadline.
			got, err := Do(context.Background(), time.Second, func(context.Context) (int, error) {
				time.Sleep(2 * time.Second)
				return 7, tt.err
			})
			te := asTimeout(t, err)
			if got != 0 || te.Err != tt.wantErr || te.Limit != time.Second {
				t.Errorf("%s: got %d, %+v", tt.name, got, te)
			}
		}
	})
}

// TestDoIgnoredContext: fn never looks at its context (so no timer runs
// under a parent that cannot end); Do still tells a late return from one
// in time.
func TestDoIgnoredContext(t *testing.T) {
	live := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		return ctx
	}
	for _, parent := range []func(*testing.T) context.Context{
		func(*testing.T) context.Context { return context.Background() },
		func(t *testing.T) context.Context { return context.WithoutCancel(live(t)) },
		live,
	} {
		for _, tt := range []struct {
			takes       time.Duration
			wantTimeout bool
		}{{time.Second - 1, false}, {time.Second + 1, true}, {time.Hour, true}} {
			synctest.Test(t, func(t *testing.T) {
				got, err := Do(parent(t), time.Second, func(context.Context) (int, error) {
					time.Sleep(tt.takes)
					return 7, nil
				})
				if !tt.wantTimeout {
					if got != 7 || err != nil {
						t.Errorf("took %v: got %d, %v; want 7, nil", tt.takes, got, err)
					}
					return
				}
				if te := asTimeout(t, err); got != 0 || te.Limit != time.Second || te.Err != nil {
					t.Errorf("took %v: got %d, %+v", tt.takes, got, te)
				}
			})
		}
	}
}

func TestCallerEndsPassThrough(t *testing.T) {
	errFn := errors.New("fn gave up")
	cause := errors.New("shutting down")
	tests := []struct {
		name    string
		caller  func() (context.Context, context.CancelFunc)
		fnErr   error // what fn returns once ctx ends; nil: ctx.Err()
		want    error // compared with ==
		wantVal int
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			return ctx, cancel
		}, nil, context.Canceled, 0},
		{"cancel, fn's own error", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			return ctx, cancel
		}, errFn, errFn, 0},
		{"caller's deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, nil, context.DeadlineExceeded, 0},
		{"caller's deadline with a cause", func() (context.Context, context.CancelFunc) {
			return context.WithTimeoutCause(context.Background(), time.Second, cause)
		}, nil, context.DeadlineExceeded, 0},
		{"already canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, nil, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := tt.caller()
				defer cancel()
				for _, do := range []func(context.Context, time.Duration, func(context.Context) (int, error)) (int, error){
					Do[int],
					func(ctx context.Context, d time.Duration, fn func(context.Context) (int, error)) (int, error) {
						return DoNamed(ctx, "step", d, fn)
					},
				} {
					got, err := do(ctx, 10*time.Second, func(ctx context.Context) (int, error) {
						<-ctx.Done()
						if tt.fnErr != nil {
							return 3, tt.fnErr
						}
						return 3, ctx.Err()
					})
					if err != tt.want || got != 3 {
						t.Errorf("got %d, %v; want 3, %v unchanged", got, err, tt.want)
					}
					if errors.Is(err, ErrTimeout) {
						t.Errorf("%v matches ErrTimeout", err)
					}
				}
			})
		})
	}
}

func TestInvalidLimit(t *testing.T) {
	for _, d := range []time.Duration{0, -1, -time.Hour, math.MinInt64} {
		called := false
		fn := func(context.Context) (int, error) { called = true; return 1, nil }
		for _, name := range []string{"", "named"} {
			var err error
			if name == "" {
				_, err = Do(context.Background(), d, fn)
			} else {
				_, err = DoNamed(context.Background(), name, d, fn)
			}
			if !errors.Is(err, ErrInvalidLimit) || errors.Is(err, ErrTimeout) || called {
				t.Errorf("limit %v: err = %v, called = %v; want ErrInvalidLimit, not called", d, err, called)
			}
		}
	}
}

func TestErrorMethods(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Limit: time.Second}, "timeout: exceeded 1s"},
		{&Error{Name: "load", Limit: 10 * time.Second, Err: context.DeadlineExceeded}, `timeout: "load" exceeded 10s: context deadline exceeded`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if tt.err.ErrorClass() != "timeout" || !tt.err.Timeout() {
			t.Errorf("ErrorClass/Timeout wrong for %v", tt.err)
		}
		if errors.Is(tt.err, context.Canceled) {
			t.Errorf("%v matches context.Canceled", tt.err)
		}
	}
}

// level is one level of nested timeouts in the cascading tests.
type level struct {
	name  string // "" is an unnamed Do
	limit time.Duration
	after time.Duration // time spent in the parent before opening this scope
}

// TestCascading nests scopes and checks that the error names the scope
// whose deadline fired, and that every step gets the smaller budget.
func TestCascading(t *testing.T) {
	tests := []struct {
		name      string
		caller    time.Duration // the caller's own deadline; 0: none
		scopes    []level       // outermost first; the innermost waits for ctx
		wantName  string
		wantLimit time.Duration // 0: the caller's plain DeadlineExceeded
		wantAt    time.Duration
	}{
		{"step's own limit", 0, []level{{"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 0}}, "step", 10 * time.Second, 10 * time.Second},
		{"pipeline budget left is smaller", 0, []level{{"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 25 * time.Second}}, "pipeline", 30 * time.Second, 30 * time.Second},
		{"unnamed step in a named pipeline", 0, []level{{"pipeline", 30 * time.Second, 0}, {"", 10 * time.Second, 25 * time.Second}}, "pipeline", 30 * time.Second, 30 * time.Second},
		{"unnamed step fires first", 0, []level{{"pipeline", 30 * time.Second, 0}, {"", 10 * time.Second, 5 * time.Second}}, "", 10 * time.Second, 15 * time.Second},
		{"three levels, middle fires", 0, []level{{"job", time.Minute, 0}, {"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 25 * time.Second}}, "pipeline", 30 * time.Second, 30 * time.Second},
		{"three levels, outer fires", 0, []level{{"job", time.Minute, 0}, {"pipeline", 30 * time.Second, 50 * time.Second}, {"step", 10 * time.Second, 5 * time.Second}}, "job", time.Minute, time.Minute},
		{"unnamed in unnamed: outer fires", 0, []level{{"", 30 * time.Second, 0}, {"", 10 * time.Second, 25 * time.Second}}, "", 30 * time.Second, 30 * time.Second},
		{"unnamed in unnamed: inner fires", 0, []level{{"", 30 * time.Second, 0}, {"", 10 * time.Second, 5 * time.Second}}, "", 10 * time.Second, 15 * time.Second},
		{"three unnamed, outer fires", 0, []level{{"", time.Minute, 0}, {"", 30 * time.Second, 50 * time.Second}, {"", 10 * time.Second, 5 * time.Second}}, "", time.Minute, time.Minute},
		{"unnamed in named in unnamed, outer fires", 0, []level{{"", time.Minute, 0}, {"pipeline", 30 * time.Second, 50 * time.Second}, {"", 10 * time.Second, 5 * time.Second}}, "", time.Minute, time.Minute},
		{"caller's deadline first", 20 * time.Second, []level{{"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 15 * time.Second}}, "", 0, 20 * time.Second},
		{"hostile limits", 0, []level{{"pipeline", math.MaxInt64, 0}, {"step", math.MaxInt64 - 1, time.Hour}, {"", time.Second, 0}}, "", time.Second, time.Hour + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.caller > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.caller)
					defer cancel()
				}
				start := time.Now()
				var innermost error
				var open func(ctx context.Context, i int) (int, error)
				open = func(ctx context.Context, i int) (int, error) {
					if i == len(tt.scopes) {
						<-ctx.Done()
						return 0, ctx.Err()
					}
					s := tt.scopes[i]
					time.Sleep(s.after)
					inner := func(ctx context.Context) (int, error) { return open(ctx, i+1) }
					var v int
					var err error
					if s.name == "" {
						v, err = Do(ctx, s.limit, inner)
					} else {
						v, err = DoNamed(ctx, s.name, s.limit, inner)
					}
					if i == len(tt.scopes)-1 {
						innermost = err
					}
					return v, err
				}
				_, err := open(ctx, 0)
				if at := time.Since(start); at != tt.wantAt {
					t.Errorf("ended after %v, want %v", at, tt.wantAt)
				}
				if tt.wantLimit == 0 {
					if err != context.DeadlineExceeded {
						t.Fatalf("err = %v, want the caller's context.DeadlineExceeded", err)
					}
					if innermost != context.DeadlineExceeded {
						t.Fatalf("innermost err = %v, want the caller's context.DeadlineExceeded", innermost)
					}
					return
				}
				te := asTimeout(t, err)
				if te.Name != tt.wantName || te.Limit != tt.wantLimit {
					t.Fatalf("err names %q %v, want %q %v", te.Name, te.Limit, tt.wantName, tt.wantLimit)
				}
				var nested *Error
				if errors.As(te.Err, &nested) {
					t.Fatalf("timeout reported twice: %v", err)
				}
				// The innermost scope's own result already names the scope.
				if in := asTimeout(t, innermost); *in != *te {
					t.Fatalf("innermost err = %+v, want %+v", in, te)
				}
			})
		})
	}
}

func TestRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if d, ok := Remaining(context.Background()); d != 0 || ok {
			t.Errorf("no deadline: %v, %v", d, ok)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		time.Sleep(time.Second)
		if d, ok := Remaining(ctx); d != 2*time.Second || !ok {
			t.Errorf("Remaining = %v, %v; want 2s", d, ok)
		}
		time.Sleep(time.Hour)
		if d, ok := Remaining(ctx); d != 0 || !ok {
			t.Errorf("past deadline: Remaining = %v, %v; want 0", d, ok)
		}
	})
}

// TestAllocs: fn's context is the one allocation of a call that returns in
// time, named or not, under any parent; a function that watches Done
// costs no more than under context.WithTimeout.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector are not the package's")
	}
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", live}} {
		for _, f := range fns {
			bare := testing.AllocsPerRun(100, func() {
				c, cancel := context.WithTimeout(p.ctx, time.Second)
				_, _ = f.fn(c)
				cancel()
			})
			want := bare
			if f.name == "fast" {
				want = 1
			}
			do := testing.AllocsPerRun(100, func() { _, _ = Do(p.ctx, time.Second, f.fn) })
			named := testing.AllocsPerRun(100, func() { _, _ = DoNamed(p.ctx, "step", time.Second, f.fn) })
			if do > want || named > want {
				t.Errorf("%s, %s fn: Do %v, DoNamed %v allocations; want at most %v (context.WithTimeout: %v)", p.name, f.name, do, named, want, bare)
			}
		}
	}
}

func TestPanicPassesThrough(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v", r)
		}
	}()
	_, _ = Do(context.Background(), time.Second, func(context.Context) (int, error) { panic("boom") })
}

// FuzzNested runs fn under a caller deadline, a named scope and an unnamed
// Do with arbitrary durations, and checks the outcome against whichever
// deadline comes first.
func FuzzNested(f *testing.F) {
	f.Add(int64(0), int64(30e9), int64(10e9), int64(5e9))
	f.Add(int64(20e9), int64(30e9), int64(10e9), int64(50e9))
	f.Add(int64(5e9), int64(30e9), int64(10e9), int64(50e9))
	f.Add(int64(0), int64(3e9), int64(10e9), int64(50e9))
	f.Add(int64(-1), int64(0), int64(math.MaxInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, caller, outer, inner, takes int64) {
		const bound = 1 << 60 // keeps deadlines distinct, before year 2262
		c, o, i, w := time.Duration(caller%bound), time.Duration(outer%bound), time.Duration(inner%bound), time.Duration(takes%bound)
		w = max(w, 0)
		seen := map[time.Duration]bool{w: true}
		for _, d := range []time.Duration{c, o, i} {
			if d > 0 && seen[d] {
				t.Skip("ties have no single first deadline")
			}
			seen[d] = true
		}
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			if c > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c)
				defer cancel()
			}
			got, err := DoNamed(ctx, "outer", o, func(ctx context.Context) (int, error) {
				return Do(ctx, i, work(w))
			})
			first := w
			for _, d := range []time.Duration{c, o, i} {
				if d > 0 {
					first = min(first, d)
				}
			}
			switch {
			case o <= 0 || i <= 0:
				if !errors.Is(err, ErrInvalidLimit) {
					t.Fatalf("err = %v, want ErrInvalidLimit", err)
				}
			case first == w:
				if got != 42 || err != nil {
					t.Fatalf("got %d, %v; want success", got, err)
				}
			case first == c:
				if err != context.DeadlineExceeded {
					t.Fatalf("err = %v, want the caller's DeadlineExceeded", err)
				}
			default:
				te := asTimeout(t, err)
				wantName, wantLimit := "outer", o
				if first == i {
					wantName, wantLimit = "", i
				}
				if te.Name != wantName || te.Limit != wantLimit || got != 0 {
					t.Fatalf("got %d, %+v; want %q %v", got, te, wantName, wantLimit)
				}
			}
		})
	})
}

// TestLateReturnNamesFirstDeadline: fn ignores its context and returns
// only after an enclosing deadline, or the caller's cancellation, has come
// too. The scope whose deadline fired first is still the one reported.
func TestLateReturnNamesFirstDeadline(t *testing.T) {
	tests := []struct {
		name      string
		caller    func() (context.Context, context.CancelFunc)
		scopes    []level // outermost first; the innermost runs fn
		wantName  string
		wantLimit time.Duration
	}{
		{"own limit, then the caller's deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 2*time.Second)
		}, []level{{"", time.Second, 0}}, "", time.Second},
		{"own named limit, then the caller's deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 2*time.Second)
		}, []level{{"step", time.Second, 0}}, "step", time.Second},
		{"own limit, then the caller cancels", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(2*time.Second, cancel)
			return ctx, cancel
		}, []level{{"", time.Second, 0}}, "", time.Second},
		{"step's limit, then the pipeline's", nil, []level{{"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 15 * time.Second}}, "step", 10 * time.Second},
		{"unnamed step's limit, then the pipeline's", nil, []level{{"pipeline", 30 * time.Second, 0}, {"", 10 * time.Second, 15 * time.Second}}, "", 10 * time.Second},
		{"pipeline's budget first", nil, []level{{"pipeline", 30 * time.Second, 0}, {"step", 10 * time.Second, 25 * time.Second}}, "pipeline", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.caller != nil {
					var cancel context.CancelFunc
					ctx, cancel = tt.caller()
					defer cancel()
				}
				var open func(ctx context.Context, i int) (int, error)
				open = func(ctx context.Context, i int) (int, error) {
					if i == len(tt.scopes) {
						time.Sleep(time.Hour) // ignores ctx
						return 7, nil
					}
					s := tt.scopes[i]
					time.Sleep(s.after)
					inner := func(ctx context.Context) (int, error) { return open(ctx, i+1) }
					if s.name == "" {
						return Do(ctx, s.limit, inner)
					}
					return DoNamed(ctx, s.name, s.limit, inner)
				}
				got, err := open(ctx, 0)
				if got != 0 || err == nil {
					t.Fatalf("got %d, %v; want a timeout", got, err)
				}
				te := asTimeout(t, err)
				if te.Name != tt.wantName || te.Limit != tt.wantLimit {
					t.Fatalf("err names %q %v, want %q %v", te.Name, te.Limit, tt.wantName, tt.wantLimit)
				}
			})
		})
	}
}
