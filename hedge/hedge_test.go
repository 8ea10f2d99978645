package hedge_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/retry"
)

// replica answers after the latency its attempt number is given, or when
// its context ends.
type replica struct {
	latency []time.Duration // by attempt, 1-based index - 1
	errs    []error         // by attempt; nil: success
	mu      sync.Mutex
	started []time.Duration // when each attempt started, since t0
	ended   map[int]error   // ctx error seen by each attempt that was cut
	t0      time.Time
	n       atomic.Int32
}

func newReplica(lat []time.Duration, errs []error) *replica {
	return &replica{latency: lat, errs: errs, ended: map[int]error{}, t0: time.Now()}
}

func (r *replica) call(ctx context.Context) (int, error) {
	i := int(r.n.Add(1))
	r.mu.Lock()
	r.started = append(r.started, time.Since(r.t0))
	r.mu.Unlock()
	t := time.NewTimer(r.latency[i-1])
	defer t.Stop()
	select {
	case <-t.C:
		if i-1 < len(r.errs) && r.errs[i-1] != nil {
			return 0, r.errs[i-1]
		}
		return i, nil
	case <-ctx.Done():
		r.mu.Lock()
		r.ended[i] = ctx.Err()
		r.mu.Unlock()
		return 0, ctx.Err()
	}
}

type statusError int

func (e statusError) Error() string   { return fmt.Sprintf("status %d", int(e)) }
func (e statusError) StatusCode() int { return int(e) }

const ms = time.Millisecond

func TestDoHedgesSlowCalls(t *testing.T) {
	errA, errB, errC := errors.New("a"), errors.New("b"), errors.New("c")
	tests := []struct {
		name      string
		policy    *hedge.Policy
		latency   []time.Duration
		errs      []error
		wantV     int
		wantErrs  []error // all must match
		wantTook  time.Duration
		wantStart []time.Duration
		wantCut   []int // attempts whose context ended while they ran
		wantWon   uint64
	}{
		{name: "fast first, no hedge", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{5 * ms}, wantV: 1, wantTook: 5 * ms, wantStart: []time.Duration{0}},
		{name: "fast failure, no hedge", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{5 * ms}, errs: []error{errA}, wantErrs: []error{errA}, wantTook: 5 * ms, wantStart: []time.Duration{0}},
		{name: "hedge wins", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{time.Second, 3 * ms}, wantV: 2, wantTook: 13 * ms,
			wantStart: []time.Duration{0, 10 * ms}, wantCut: []int{1}, wantWon: 1},
		{name: "first wins after hedge sent", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{12 * ms, 50 * ms}, wantV: 1, wantTook: 12 * ms,
			wantStart: []time.Duration{0, 10 * ms}, wantCut: []int{2}},
		{name: "three hedges spaced by the delay", policy: &hedge.Policy{Delay: 10 * ms, MaxHedges: 3},
			latency: []time.Duration{time.Second, time.Second, time.Second, 1 * ms}, wantV: 4, wantTook: 31 * ms,
			wantStart: []time.Duration{0, 10 * ms, 20 * ms, 30 * ms}, wantCut: []int{1, 2, 3}, wantWon: 1},
		{name: "hedge fails, first still wins", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{30 * ms, 1 * ms}, errs: []error{nil, errB}, wantV: 1, wantTook: 30 * ms,
			wantStart: []time.Duration{0, 10 * ms}},
		{name: "all fail: error matches each", policy: &hedge.Policy{Delay: 10 * ms, MaxHedges: 2},
			latency: []time.Duration{40 * ms, 5 * ms, 5 * ms}, errs: []error{errA, errB, errC}, wantErrs: []error{errA, errB, errC},
			wantTook: 40 * ms, wantStart: []time.Duration{0, 10 * ms, 20 * ms}},
		{name: "4xx ends the call", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{time.Second, 2 * ms}, errs: []error{nil, statusError(404)}, wantErrs: []error{statusError(404)},
			wantTook: 12 * ms, wantStart: []time.Duration{0, 10 * ms}, wantCut: []int{1}},
		{name: "5xx does not", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{30 * ms, 2 * ms}, errs: []error{nil, statusError(503)}, wantV: 1,
			wantTook: 30 * ms, wantStart: []time.Duration{0, 10 * ms}},
		{name: "permanent ends the call", policy: &hedge.Policy{Delay: 10 * ms},
			latency: []time.Duration{time.Second, 2 * ms}, errs: []error{nil, retry.Permanent(errB)}, wantErrs: []error{errB},
			wantTook: 12 * ms, wantStart: []time.Duration{0, 10 * ms}, wantCut: []int{1}},
		{name: "Hedgeable decides", policy: &hedge.Policy{Delay: 10 * ms, Hedgeable: func(err error) bool { return !errors.Is(err, errC) }},
			latency: []time.Duration{time.Second, 2 * ms}, errs: []error{nil, errC}, wantErrs: []error{errC},
			wantTook: 12 * ms, wantStart: []time.Duration{0, 10 * ms}, wantCut: []int{1}},
		{name: "Hedgeable true for 4xx", policy: &hedge.Policy{Delay: 10 * ms, Hedgeable: func(error) bool { return true }},
			latency: []time.Duration{30 * ms, 2 * ms}, errs: []error{nil, statusError(429)}, wantV: 1,
			wantTook: 30 * ms, wantStart: []time.Duration{0, 10 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := tt.policy
				r := newReplica(tt.latency, tt.errs)
				v, err := hedge.Do(context.Background(), p, r.call)
				took := time.Since(r.t0)
				if len(tt.wantErrs) == 0 && (err != nil || v != tt.wantV) {
					t.Errorf("Do = %d, %v; want %d, nil", v, err, tt.wantV)
				}
				for _, want := range tt.wantErrs {
					if !errors.Is(err, want) {
						t.Errorf("error %v does not match %v", err, want)
					}
				}
				if took != tt.wantTook {
					t.Errorf("took %v, want %v", took, tt.wantTook)
				}
				if fmt.Sprint(r.started) != fmt.Sprint(tt.wantStart) {
					t.Errorf("attempts started at %v, want %v", r.started, tt.wantStart)
				}
				for _, i := range tt.wantCut {
					if !errors.Is(r.ended[i], context.Canceled) {
						t.Errorf("attempt %d: context error %v, want context.Canceled", i, r.ended[i])
					}
				}
				if len(r.ended) != len(tt.wantCut) {
					t.Errorf("attempts cut: %v, want %v", r.ended, tt.wantCut)
				}
				s := p.Stats()
				if s.Calls != 1 || s.Hedges != uint64(len(tt.wantStart)-1) || s.Won != tt.wantWon {
					t.Errorf("Stats = %+v, want 1 call, %d hedges, %d won", s, len(tt.wantStart)-1, tt.wantWon)
				}
			})
		})
	}
}

func TestDoCallerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p := &hedge.Policy{Delay: 10 * ms}
		r := newReplica([]time.Duration{time.Second, time.Second}, nil)
		time.AfterFunc(15*ms, cancel)
		_, err := hedge.Do(ctx, p, r.call)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if took := time.Since(r.t0); took != 15*ms {
			t.Errorf("took %v, want 15ms", took)
		}
		if len(r.ended) != 2 {
			t.Errorf("attempts cut: %v, want both", r.ended)
		}

		// A context that has ended before Do: fn is not called.
		calls := 0
		_, err = hedge.Do(ctx, p, func(context.Context) (int, error) { calls++; return 0, nil })
		if !errors.Is(err, context.Canceled) || calls != 0 {
			t.Errorf("ended context: err %v, %d calls; want context.Canceled, 0 calls", err, calls)
		}
	})
}

func TestDoCallerCancelWrapsAttemptError(t *testing.T) {
	// An attempt that fails with its own error after the caller's context
	// ended: the error matches both.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		own := errors.New("own")
		p := &hedge.Policy{Delay: 10 * ms}
		time.AfterFunc(20*ms, cancel)
		_, err := hedge.Do(ctx, p, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, own
		})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, own) {
			t.Errorf("error %v, want one matching context.Canceled and the attempt's error", err)
		}
	})
}

// countingBudget refuses every withdrawal after the first allow ones.
type countingBudget struct {
	allow              int
	deposits, withdraw int
}

func (b *countingBudget) Deposit() { b.deposits++ }
func (b *countingBudget) Withdraw() bool {
	b.withdraw++
	return b.withdraw <= b.allow
}

func TestBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &countingBudget{allow: 1}
		p := &hedge.Policy{Delay: 10 * ms, MaxHedges: 3, Budget: b}
		r := newReplica([]time.Duration{100 * ms, 100 * ms, 1 * ms}, nil)
		v, err := hedge.Do(context.Background(), p, r.call)
		if err != nil || v != 1 {
			t.Errorf("Do = %d, %v; want the first attempt's 1", v, err)
		}
		if fmt.Sprint(r.started) != fmt.Sprint([]time.Duration{0, 10 * ms}) {
			t.Errorf("attempts started at %v; the refused hedge must not be sent", r.started)
		}
		s := p.Stats()
		if b.deposits != 1 || b.withdraw != 2 || s.Hedges != 1 || s.Refused != 1 {
			t.Errorf("deposits %d, withdrawals %d, stats %+v; want 1, 2, 1 hedge, 1 refused", b.deposits, b.withdraw, s)
		}
	})
}

func TestRetryBudgetBoundsHedges(t *testing.T) {
	// Every call is slow: without a budget each would be hedged. A
	// retry.Budget of 10% (floor 1/s) lets about a tenth of them hedge.
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(retry.BudgetConfig{Ratio: 0.1, MinPerSecond: 1, MaxTokens: 1})
		p := &hedge.Policy{Delay: ms, Budget: b}
		for range 1000 {
			_, err := hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
				time.Sleep(2 * ms)
				return 1, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		s := p.Stats()
		// 1000 calls take 2s: at most 100 from the ratio, 3 from the floor.
		if s.Hedges < 90 || s.Hedges > 103 || s.Hedges+s.Refused != 1000 {
			t.Errorf("stats %+v: want about 100 hedges sent and the rest refused", s)
		}
		if bs := b.Stats(); bs.Retries != s.Hedges || bs.Refused != s.Refused {
			t.Errorf("budget stats %+v do not agree with %+v", bs, s)
		}
	})
}

func TestOnHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []hedge.Hedge
		p := &hedge.Policy{Delay: 10 * ms, MaxHedges: 2, OnHedge: func(h hedge.Hedge) {
			mu.Lock()
			got = append(got, h)
			mu.Unlock()
		}}
		r := newReplica([]time.Duration{25 * ms, time.Second, time.Second}, nil)
		if _, err := hedge.Do(context.Background(), p, r.call); err != nil {
			t.Fatal(err)
		}
		want := []hedge.Hedge{{Attempt: 2, Delay: 10 * ms}, {Attempt: 3, Delay: 10 * ms}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("OnHedge got %v, want %v", got, want)
		}
	})
}

func TestPanicPropagates(t *testing.T) {
	tests := []struct {
		name    string
		latency []time.Duration
		panics  int // the attempt that panics
	}{
		{"first, before the delay", []time.Duration{5 * ms}, 1},
		{"first, after a hedge was sent", []time.Duration{20 * ms, time.Second}, 1},
		{"hedge", []time.Duration{time.Second, 5 * ms}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &hedge.Policy{Delay: 10 * ms}
				var n atomic.Int32
				var cut atomic.Int32
				defer func() {
					if r := recover(); r != "boom" {
						t.Errorf("recovered %v, want boom", r)
					}
					if tt.panics == 1 && len(tt.latency) == 2 || tt.panics == 2 {
						if cut.Load() != 1 {
							t.Errorf("%d attempts cut, want the other one", cut.Load())
						}
					}
				}()
				hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					i := int(n.Add(1))
					select {
					case <-time.After(tt.latency[i-1]):
					case <-ctx.Done():
						cut.Add(1)
						return 0, ctx.Err()
					}
					if i == tt.panics {
						panic("boom")
					}
					return i, nil
				})
				t.Error("Do returned")
			})
		})
	}
}

func TestAdaptiveDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &hedge.Policy{Window: 1000}
		if d := p.Stats().Delay; d != time.Second {
			t.Errorf("cold delay %v, want MaxDelay 1s", d)
		}
		// Latencies 1..100ms evenly: p95 is 95ms.
		for i := range 400 {
			lat := time.Duration(i%100+1) * ms
			if _, err := hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
				time.Sleep(lat)
				return 0, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		s := p.Stats()
		if s.Delay < 95*ms || s.Delay > 95*ms+95*ms/16 {
			t.Errorf("delay %v, want p95 95ms (at most 1/16 above)", s.Delay)
		}
		// Warm after 200 calls; then the calls slower than p95 (95 to
		// 100ms, 5 of every 100) are hedged, and win nothing (the hedge is
		// slower still), and their latencies count too.
		if s.Hedges == 0 || s.Hedges > 20 || s.Won != 0 || s.Samples < 400 {
			t.Errorf("stats %+v: want 1 to 20 hedges, none won, at least 400 samples", s)
		}

		// Floor and cap.
		lo := &hedge.Policy{MinDelay: 200 * ms, MaxDelay: 300 * ms}
		hi := &hedge.Policy{MinDelay: ms, MaxDelay: 50 * ms, Window: 100}
		for range 300 {
			for _, p := range []*hedge.Policy{lo, hi} {
				hedge.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					time.Sleep(100 * ms)
					return 0, nil
				})
			}
		}
		if d := lo.Stats().Delay; d != 200*ms {
			t.Errorf("floored delay %v, want 200ms", d)
		}
		if d := hi.Stats().Delay; d != 50*ms {
			t.Errorf("capped delay %v, want 50ms", d)
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		p    *hedge.Policy
		want string // a field name; "" means valid
	}{
		{&hedge.Policy{}, ""},
		{&hedge.Policy{Delay: ms, MaxHedges: 3, Quantile: 0.99, Window: 10, MinDelay: ms, MaxDelay: ms}, ""},
		{&hedge.Policy{Delay: -1}, "Delay"},
		{&hedge.Policy{Quantile: 1}, "Quantile"},
		{&hedge.Policy{Quantile: -0.1}, "Quantile"},
		{&hedge.Policy{MinDelay: -1}, "MinDelay"},
		{&hedge.Policy{MaxDelay: -1}, "MaxDelay"},
		{&hedge.Policy{MinDelay: 2 * ms, MaxDelay: ms}, "MinDelay"},
		{&hedge.Policy{MinDelay: 2 * time.Second}, "MinDelay"},
		{&hedge.Policy{MinDelay: time.Second}, ""},
		{&hedge.Policy{Window: -1}, "Window"},
		{&hedge.Policy{MaxHedges: -1}, "MaxHedges"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tt.p.Delay, err)
		case tt.want != "" && (err == nil || !containsWord(err.Error(), tt.want)):
			t.Errorf("Validate = %v, want an error naming %s", err, tt.want)
		}
	}
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w {
			return true
		}
	}
	return false
}

func TestBadFieldsAreRefused(t *testing.T) {
	// Do returns Validate's error without calling fn.
	for _, p := range []*hedge.Policy{
		{Delay: -ms},
		{MaxHedges: -5},
		{MinDelay: -ms},
		{MaxDelay: -ms},
		{Window: -1},
		{Quantile: 7},
		{Quantile: math.NaN()},
		{MinDelay: 2 * time.Second}, // above the default MaxDelay
		{MinDelay: 2 * ms, MaxDelay: ms},
	} {
		want := p.Validate()
		if want == nil {
			t.Fatalf("Validate(%+v) = nil, want an error", p)
		}
		called := false
		_, err := hedge.Do(context.Background(), p, func(context.Context) (int, error) {
			called = true
			return 0, nil
		})
		if err == nil || err.Error() != want.Error() || called {
			t.Errorf("Do(%+v) = %v, called %v; want %q without a call", p, err, called, want)
		}
		if err := p.Do(context.Background(), func(context.Context) error { called = true; return nil }); err == nil || called {
			t.Errorf("Policy.Do(%+v) = %v, called %v; want an error without a call", p, err, called)
		}
	}
}

func TestHugeMaxHedgesCountsAs16(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		hedge.Do(context.Background(), &hedge.Policy{Delay: 10 * ms, MaxHedges: 1 << 40}, func(ctx context.Context) (int, error) {
			n.Add(1)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			return 0, errors.New("slow")
		})
		if n.Load() != 17 {
			t.Errorf("%d attempts, want 17", n.Load())
		}
	})
}
