package hedge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Do calls fn and, if it has not returned after the policy's delay, calls
// it again concurrently, up to MaxHedges extra attempts spaced by the
// delay; the first success is returned and every other attempt's context
// ends.
//
// The first attempt runs on the caller's goroutine; each hedge runs on a
// goroutine of its own, and all of them have returned before Do returns.
// Every attempt's context ends when Do returns, the winner's included (as
// with errgroup.WithContext): a result that must outlive Do on that context,
// such as an HTTP response body, needs a context of its own.
//
// Do returns:
//   - the value of the first attempt to succeed, and a nil error;
//   - an error that ends the call (see Policy.Hedgeable), unchanged (so an
//     outer retry still sees a retry.Permanent mark); once the caller's
//     context has ended, an error matching ctx.Err() and the attempt's
//     error;
//   - when every attempt sent has failed: the error of the only attempt,
//     or an error that matches all of them with errors.Is (errors.Join).
//
// A failure does not send a hedge early: hedges cut slow calls, and
// failures are for retry. So the call ends when no attempt is left running.
// If ctx has ended before the first attempt, Do returns ctx.Err() without
// calling fn, and for a Policy that Validate rejects it returns that error
// without calling fn. A panic in any attempt is re-raised on the caller's
// goroutine, with the same value, once the other attempts have returned.
func Do[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	if p.invalid() {
		var zero T
		return zero, p.Validate()
	}
	p.calls.Add(1)
	if p.Budget != nil {
		p.Budget.Deposit()
	}
	c := &call[T]{p: p, fn: fn, delay: p.delay(), adaptive: p.Delay <= 0}
	c.first.parent = ctx
	c.first.owner = c

	h, _ := p.timers.Get().(*timerHolder)
	if h == nil {
		h = &timerHolder{cur: &c.first}
		h.t = time.AfterFunc(c.delay, h.fire)
	} else {
		h.cur = &c.first
		h.t.Reset(c.delay)
	}
	var start time.Time
	if c.adaptive {
		start = time.Now()
	}
	v, err := c.runFirst(h)
	c.returned.Store(true)
	if h.t.Stop() {
		// The fast path: no hedge was sent.
		h.cur = nil
		p.timers.Put(h)
		if c.adaptive && err == nil {
			p.record(time.Since(start))
		}
		c.first.end()
		return v, err
	}
	// The timer fired: the call's coordinator is running (see coordinate)
	// and waits for the first attempt's outcome.
	if c.adaptive && (err == nil || c.first.endedByDo()) {
		p.record(time.Since(start))
	}
	c.once.Do(c.init)
	c.results <- outcome[T]{val: v, err: err, attempt: 1}
	r := <-c.final
	if r.panicked {
		panic(r.panicVal)
	}
	return r.val, r.err
}

// Do is the non-generic form of the package-level Do, for operations that
// return only an error.
func (p *Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	_, err := Do(ctx, p, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// outcome is what an attempt, or the whole call, came to.
type outcome[T any] struct {
	val      T
	err      error
	attempt  int // 1 for the first attempt
	panicked bool
	panicVal any
	gone     bool // the first attempt panicked: no value, no error
}

// call is the state of one Do. Until the delay expires only the fields
// above once are used, by the caller's goroutine alone.
type call[T any] struct {
	p        *Policy
	fn       func(context.Context) (T, error)
	delay    time.Duration
	adaptive bool
	first    attemptCtx

	returned atomic.Bool // the first attempt has returned

	once    sync.Once
	results chan outcome[T] // attempts → coordinator
	final   chan outcome[T] // coordinator → caller
}

func (c *call[T]) init() {
	n := c.p.maxHedges() + 1
	c.results = make(chan outcome[T], n)
	c.final = make(chan outcome[T], 1)
}

// runFirst runs the first attempt. If fn panics, it stops the hedging and
// waits for the hedges to return before letting the panic go on.
func (c *call[T]) runFirst(h *timerHolder) (v T, err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if h.t.Stop() {
			h.cur = nil
			c.p.timers.Put(h)
		} else {
			c.once.Do(c.init)
			c.results <- outcome[T]{attempt: 1, gone: true}
			<-c.final
		}
		c.first.end()
	}()
	v, err = c.fn(&c.first)
	returned = true
	return v, err
}

// runHedge runs one hedge on its own goroutine and reports its outcome.
func (c *call[T]) runHedge(a *attemptCtx, attempt int) {
	o := outcome[T]{attempt: attempt}
	defer func() {
		if r := recover(); r != nil {
			o.panicked, o.panicVal = true, r
		}
		c.results <- o
	}()
	if c.p.OnHedge != nil {
		c.p.OnHedge(Hedge{Attempt: attempt, Delay: c.delay})
	}
	if len(c.p.Observers) != 0 {
		notify(c.p.Observers, Event{Kind: EventHedge, Ctx: a.parent, Attempt: attempt, Delay: c.delay})
	}
	var start time.Time
	if c.adaptive {
		start = time.Now()
	}
	o.val, o.err = c.fn(a)
	if c.adaptive && (o.err == nil || a.endedByDo()) {
		c.p.record(time.Since(start))
	}
}

// coordinate runs on the hedge timer's goroutine once the delay has
// expired while the first attempt was running. It sends the hedges, takes
// the attempts' outcomes, decides the call's, ends the other attempts,
// waits for every hedge to return and hands the outcome to the caller.
func (c *call[T]) coordinate() {
	c.once.Do(c.init)
	co := coordinator[T]{c: c, ctx: c.first.parent, attempts: []*attemptCtx{&c.first}, running: 1}
	// The first attempt may have returned just as the timer fired: then
	// its outcome is on its way, and no hedge is needed.
	if c.returned.Load() {
		co.take(<-c.results)
	} else {
		co.send()
	}
	for co.running > 0 {
		select {
		case o := <-c.results:
			co.take(o)
		case <-co.tick:
			co.tick = nil
			co.send()
		}
	}
	if co.next != nil {
		co.next.Stop()
	}
	c.final <- co.final
}

// coordinator is the state of coordinate, used by its goroutine alone.
type coordinator[T any] struct {
	c        *call[T]
	ctx      context.Context // the caller's
	attempts []*attemptCtx   // every attempt sent, the first included
	running  int             // attempts whose outcome has not come yet
	sent     int             // hedges sent
	errs     []error         // the failures taken so far, in order

	final   outcome[T] // the call's outcome, once settled
	settled bool

	next *time.Timer      // the delay before the next hedge
	tick <-chan time.Time // next's channel while a hedge is due; else nil
}

// take counts in the outcome of one attempt, and settles the call if that
// outcome decides it.
func (co *coordinator[T]) take(o outcome[T]) {
	co.running--
	if co.settled {
		return
	}
	switch {
	case o.gone || o.panicked:
		co.settle(o)
	case o.err == nil:
		if o.attempt > 1 {
			co.c.p.won.Add(1)
		}
		co.settle(o)
	case co.c.p.ends(co.ctx, o.err):
		if cerr := co.ctx.Err(); cerr != nil && !errors.Is(o.err, cerr) {
			o.err = fmt.Errorf("hedge: %w: %w", cerr, o.err)
		}
		co.settle(o)
	default:
		co.errs = append(co.errs, o.err)
		if co.running == 0 {
			o.err = co.errs[0]
			if len(co.errs) > 1 {
				o.err = errors.Join(co.errs...)
			}
			co.settle(o)
		}
	}
}

// settle makes o the call's outcome and ends every attempt and the hedge
// timer.
func (co *coordinator[T]) settle(o outcome[T]) {
	co.final, co.settled = o, true
	for _, a := range co.attempts {
		a.end()
	}
	if co.next != nil {
		co.next.Stop()
		co.tick = nil
	}
}

// send sends one more hedge, if the call is still open, hedges are left
// and the budget allows it, and arms the timer of the next one.
func (co *coordinator[T]) send() {
	p := co.c.p
	if co.settled || co.sent >= p.maxHedges() || co.ctx.Err() != nil {
		return
	}
	if p.Budget != nil && !p.Budget.Withdraw() {
		p.refused.Add(1)
		if len(p.Observers) != 0 {
			notify(p.Observers, Event{Kind: EventRefused, Ctx: co.ctx, Attempt: co.sent + 2, Delay: co.c.delay})
		}
		return
	}
	co.sent++
	co.running++
	p.hedges.Add(1)
	a := &attemptCtx{parent: co.ctx}
	co.attempts = append(co.attempts, a)
	go co.c.runHedge(a, co.sent+1)
	if co.sent < p.maxHedges() {
		if co.next == nil {
			co.next = time.NewTimer(co.c.delay)
		} else {
			co.next.Reset(co.c.delay)
		}
		co.tick = co.next.C
	}
}
