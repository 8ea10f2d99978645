package timeout

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// These tests run outside testing/synctest, where runtime timers are
// reused from call to call. None waits for a clock: a limit either never
// fires (an hour) or has fired by the time Done is closed.

// TestKeptContextAfterReuse: a context kept after its Do has returned stays
// as it ended, whatever later calls, which reuse its timer, do.
func TestKeptContextAfterReuse(t *testing.T) {
	type kept struct {
		ctx     context.Context
		wantErr error
		done    <-chan struct{} // asked before Do returned
	}
	var all []kept
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	parents := []context.Context{context.Background(), live}
	keep := func(wantErr error, askDone bool) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			k := kept{ctx: ctx, wantErr: wantErr}
			if askDone {
				k.done = ctx.Done()
			}
			if wantErr == context.DeadlineExceeded {
				<-ctx.Done()
			}
			all = append(all, k)
			return 0, nil
		}
	}
	for i := range 200 {
		switch i % 4 {
		case 0:
			_, _ = Do(parents[i/4%2], time.Hour, keep(context.Canceled, false))
		case 1:
			_, _ = DoNamed(parents[i/4%2], "step", time.Hour, keep(context.Canceled, true))
		case 2:
			_, _ = Do(parents[i/4%2], time.Nanosecond, keep(context.DeadlineExceeded, true))
		case 3:
			// A live call between: its context must not be ended by a
			// timer that fired for an earlier one.
			_, _ = Do(parents[i/4%2], time.Hour, func(ctx context.Context) (int, error) {
				runtime.Gosched()
				if err := ctx.Err(); err != nil {
					t.Errorf("call %d: live context has ended: %v", i, err)
				}
				return 0, nil
			})
		}
	}
	for i, k := range all {
		if err := k.ctx.Err(); err != k.wantErr {
			t.Fatalf("kept context %d: Err = %v, want %v", i, err, k.wantErr)
		}
		if cause := context.Cause(k.ctx); !errors.Is(cause, k.wantErr) {
			t.Fatalf("kept context %d: Cause = %v, want %v", i, cause, k.wantErr)
		}
		if k.done != nil && k.done != k.ctx.Done() {
			t.Fatalf("kept context %d: Done changed", i)
		}
		select {
		case <-k.ctx.Done():
		default:
			t.Fatalf("kept context %d: Done is open", i)
		}
		ran := make(chan struct{})
		if stop := context.AfterFunc(k.ctx, func() { close(ran) }); stop() {
			t.Fatalf("kept context %d: AfterFunc stopped", i)
		}
		<-ran
		child, cancel := context.WithCancel(k.ctx)
		if err := child.Err(); err != k.wantErr {
			t.Fatalf("kept context %d: child's Err = %v, want %v", i, err, k.wantErr)
		}
		cancel()
	}
}

// TestDerivedContextsStartNoGoroutine: what the standard library derives
// from fn's context, and AfterFunc, cost no goroutine, under any parent.
// Goroutines of earlier tests may still be finishing: a try in which the
// count rises passes if a later one does not.
func TestDerivedContextsStartNoGoroutine(t *testing.T) {
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	derive := func(ctx context.Context) (int, error) {
		before := runtime.NumGoroutine()
		_, cancel1 := context.WithCancel(ctx)
		_, cancel2 := context.WithTimeout(ctx, time.Hour)
		_, cancel3 := context.WithCancelCause(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, func() {})
		_, _ = Do(ctx, time.Hour, func(ctx context.Context) (int, error) {
			_ = ctx.Done() // registers with the enclosing scope
			return 0, nil
		})
		started := runtime.NumGoroutine() - before
		stop()
		cancel1()
		cancel2()
		cancel3(nil)
		return started, nil
	}
	for _, parent := range []context.Context{context.Background(), live} {
		started := 0
		for range 5 {
			if started, _ = Do(parent, time.Hour, derive); started <= 0 {
				break
			}
		}
		if started > 0 {
			t.Errorf("deriving contexts started %d goroutines", started)
		}
	}
}

// TestHTTPRoundTrip: fn's context carries a real request over loopback,
// and ends it: at its own deadline (a timeout), or when the caller
// cancels (no timeout), as context.WithTimeout's would.
func TestHTTPRoundTrip(t *testing.T) {
	var arrived atomic.Pointer[func()]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			if f := arrived.Load(); f != nil {
				(*f)()
			}
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	get := func(path string) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
			if err != nil {
				return "", err
			}
			resp, err := client.Do(req)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
	}
	std := func(ctx context.Context, d time.Duration, fn func(context.Context) (string, error)) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return fn(ctx)
	}

	if got, err := Do(context.Background(), time.Minute, get("/")); got != "hello" || err != nil {
		t.Fatalf("Do: %q, %v", got, err)
	}

	for _, ours := range []bool{false, true} {
		_, err := Do(context.Background(), 20*time.Millisecond, get("/hang"))
		if !ours {
			_, err = std(context.Background(), 20*time.Millisecond, get("/hang"))
		}
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Errorf("ours %v, at the deadline: err = %v", ours, err)
		}
		if te := (*Error)(nil); ours && (!errors.As(err, &te) || te.Limit != 20*time.Millisecond) {
			t.Errorf("at the deadline: err = %v, want a *timeout.Error", err)
		}

		parent, cancel := context.WithCancel(context.Background())
		f := func() { cancel() }
		arrived.Store(&f)
		if ours {
			_, err = Do(parent, time.Minute, get("/hang"))
		} else {
			_, err = std(parent, time.Minute, get("/hang"))
		}
		arrived.Store(nil)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Errorf("ours %v, caller canceled: err = %v, want context.Canceled", ours, err)
		}
	}
}

// TestParentCancelClosesDoneAtOnce: as with context.WithTimeout, the
// caller's cancel has closed fn's Done by the time it returns, and fn's
// Err reports it.
func TestParentCancelClosesDoneAtOnce(t *testing.T) {
	for _, parent := range []func() (context.Context, func()){
		func() (context.Context, func()) { return context.WithCancel(context.Background()) },
		func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(errShutdown) }
		},
	} {
		pctx, cancel := parent()
		_, _ = Do(pctx, time.Hour, func(ctx context.Context) (int, error) {
			done := ctx.Done()
			cancel()
			select {
			case <-done:
			default:
				t.Errorf("Done open after the caller's cancel returned")
			}
			if err := ctx.Err(); err != context.Canceled {
				t.Errorf("Err = %v, want context.Canceled", err)
			}
			if got, want := context.Cause(ctx), context.Cause(pctx); got != want {
				t.Errorf("Cause = %v, want %v", got, want)
			}
			return 0, nil
		})
	}
}
