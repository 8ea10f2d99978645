package timeout

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// scope is the context Do and DoNamed give fn. It behaves as the context
// of context.WithTimeout (or WithTimeoutCause, for DoNamed) would, but
// costs one allocation, and it records the scope (Name, Limit) so that a
// call nested in it can name the deadline that fired.
//
// Cost: the scope watches its parent only once someone could tell the
// difference. Done under a parent that can end is the Done of a standard
// context derived from the parent (so the parent's end closes it at once,
// as it would a WithTimeout's); AfterFunc and nested scopes register with
// the parent (context.AfterFunc, or the enclosing scope's list); Err asks
// the parent. A function that returns without looking at its context
// registers nothing. Under a parent that can never end
// (context.Background), the scope does not even start its timer until
// someone looks (Done, AfterFunc, Err): a clock read as Do returns tells
// whether fn returned in time. Under a parent that can end, the timer runs
// from the start, so that the order of the parent's end and the deadline
// is known. Timers are reused from call to call (see timer).
//
// State: the fields above mu are set before fn gets the scope and never
// change (released: Do's goroutine only). err is set once, under mu, after
// cause and before Done is closed: a reader that sees err sees cause, and
// waits for Done (waitDone). A scope ends exactly once (its own deadline,
// its parent's end, or Do returning) and never comes back to life; the
// pooled timer is the only part another call can reuse, and only after
// this scope has let go of it.
type scope struct {
	parent   context.Context
	base     time.Time // timed: when the scope began (its deadline is base+limit); else the parent's deadline
	name     string
	limit    time.Duration
	named    bool // DoNamed: the cause of the scope's own timeout is an *Error
	timed    bool // the deadline is the scope's own (earlier than the parent's)
	released bool // finish has run; only Do's goroutine reads and writes it

	mu         sync.Mutex
	armed      atomic.Bool // set once, under mu: arm has run (timer may still be nil)
	timer      *timer      // under mu: set by arm if timed, unless the deadline had passed
	pooled     bool        // under mu: timer came from, and goes back to, timers
	err        atomic.Pointer[errBox]
	done       atomic.Value  // <-chan struct{}: made lazily, closed at the end; closedChan if asked for after it
	watching   atomic.Bool   // watchParent has registered with a foreign parent
	linked     atomic.Bool   // linkTo has run
	cancelDone func()        // under mu: closes Done, if Done is a standard context's
	ownDone    chan struct{} // under mu: Done, if made by the scope
	cause      error         // under mu until err is set, then fixed
	waiters    *waiter       // under mu: to notify at the end
	parentStop func() bool   // under mu: undoes context.AfterFunc on parent
	watched    *scope        // under mu: the enclosing scope link is in
	causeCtx   any           // under mu: a standard context's value carrying cause
	link       waiter        // this scope's entry in watched.waiters
}

// errBox holds an error for atomic.Pointer. The boxes of the two context
// errors are shared, so that ending a scope allocates nothing.
type errBox struct{ err error }

var (
	canceledBox = &errBox{context.Canceled}
	deadlineBox = &errBox{context.DeadlineExceeded}
	closedChan  = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
)

func boxFor(err error) *errBox {
	switch err {
	case context.Canceled:
		return canceledBox
	case context.DeadlineExceeded:
		return deadlineBox
	}
	return &errBox{err}
}

// waiter is an entry in the list of what a scope notifies when it ends:
// a nested scope (child) or a function registered with AfterFunc (f).
// next, prev and linked are guarded by the mu of the scope whose list the
// waiter is in; once unlinked, a waiter is never linked again.
type waiter struct {
	next, prev *waiter
	linked     bool
	child      *scope
	f          func()
}

// timer is a runtime timer that is reused from call to call: it fires for
// the scope in cur. A scope gives its timer back (to timers) only once the
// timer can no longer fire for it: stopped in time, or already fired (fire
// has taken cur). A stopped timer that may still fire for the old scope is
// left to the garbage collector.
type timer struct {
	t   *time.Timer
	cur atomic.Pointer[scope]
}

var timers sync.Pool

func (t *timer) fire() {
	if c := t.cur.Swap(nil); c != nil {
		c.expire()
	}
}

type scopeKeyType int

// scopeKey is the key under which a scope answers Value with itself, so
// that nested code can find the enclosing scopes.
const scopeKey scopeKeyType = 0

// cancelCtxKey is the context package's own key under which
// context.Cause finds the cancelCtx carrying a context's cause; learned
// once, by asking Cause about a context that records the key. nil if the
// context package no longer asks that way.
var cancelCtxKey = func() any {
	p := &keyProbe{Context: context.Background()}
	_ = context.Cause(p)
	return p.key
}()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Err() error { return context.Canceled }

func (p *keyProbe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}

// newScope returns a running scope on parent for a limit d > 0.
func newScope(parent context.Context, name string, d time.Duration, named bool) *scope {
	now := time.Now()
	c := &scope{parent: parent, base: now, name: name, limit: d, named: named}
	if pdl, ok := parent.Deadline(); ok && !now.Add(d).Before(pdl) {
		c.base = pdl // the parent's deadline comes first: no timer of our own
		return c
	}
	c.timed = true
	if _, ok := parent.(*scope); ok || parent.Done() != nil {
		// The parent can end: which of its end and this deadline came
		// first must be known, so the timer runs from the start.
		c.armAt(now)
	}
	return c
}

// arm starts the scope's timer, once, if the deadline is its own: from
// now on the scope ends by itself when the deadline passes (at once if it
// has passed).
func (c *scope) arm() {
	if c.timed && !c.armed.Load() {
		c.armAt(time.Now())
	}
}

// armAt is arm, the clock read at now.
func (c *scope) armAt(now time.Time) {
	c.mu.Lock()
	if c.armed.Load() || c.err.Load() != nil {
		c.mu.Unlock()
		return
	}
	c.armed.Store(true)
	left := c.limit - now.Sub(c.base)
	if left <= 0 {
		c.mu.Unlock()
		c.expire()
		return
	}
	// Inside a testing/synctest bubble time.Now has no monotonic reading,
	// and timers belong to the bubble: there, never share them.
	c.pooled = now != now.Round(0)
	var t *timer
	if c.pooled {
		t, _ = timers.Get().(*timer)
	}
	if t == nil {
		t = &timer{}
		t.cur.Store(c)
		t.t = time.AfterFunc(left, t.fire)
	} else {
		t.cur.Store(c)
		t.t.Reset(left)
	}
	c.timer = t
	c.mu.Unlock()
}

// finish ends the scope as Do returns (as the cancel of WithTimeout does),
// unregisters it, and returns what ended it before that: nil if nothing
// did. Calls after the first return nil.
func (c *scope) finish() *errBox {
	if c.released {
		return nil
	}
	c.released = true
	if c.err.Load() == nil && c.parent.Err() != nil {
		c.parentEnded()
	}
	if c.timed && !c.armed.Load() && c.err.Load() == nil && time.Since(c.base) >= c.limit {
		c.expire() // nobody looked, but the deadline has passed
	}
	c.mu.Lock()
	ended := c.err.Load()
	list, closeDone := c.endLocked(canceledBox, context.Canceled)
	stop, watched := c.parentStop, c.watched
	c.parentStop, c.watched = nil, nil
	t, pooled := c.timer, c.pooled
	c.mu.Unlock()
	if t != nil {
		if !t.cur.CompareAndSwap(c, nil) || t.t.Stop() {
			// Fired (fire has taken c, the timer is spent), or stopped
			// in time: it cannot fire for c any more.
			if pooled {
				timers.Put(t)
			}
		}
	}
	notify(list, closeDone)
	if stop != nil {
		stop()
	}
	if watched != nil {
		watched.remove(&c.link)
	}
	return ended
}

// expire is the timer's: the scope's own deadline has passed. A parent
// that ended before (and that the scope has not heard of) comes first.
func (c *scope) expire() {
	if c.parent.Err() != nil {
		c.parentEnded()
		return
	}
	cause := error(context.DeadlineExceeded)
	if c.named {
		cause = &Error{Name: c.name, Limit: c.limit}
	}
	c.end(deadlineBox, cause)
}

// parentEnded ends the scope as its parent ended.
func (c *scope) parentEnded() {
	err := c.parent.Err()
	if err == nil {
		return
	}
	var cause error
	if p, ok := c.parent.(*scope); ok {
		cause = p.cause // fixed once p.err is set
	} else {
		cause = context.Cause(c.parent)
	}
	c.end(boxFor(err), cause)
}

func (c *scope) end(b *errBox, cause error) {
	c.mu.Lock()
	list, closeDone := c.endLocked(b, cause)
	c.mu.Unlock()
	notify(list, closeDone)
}

// endLocked ends the scope with b and cause unless it has ended already,
// and returns what notify must do once mu is unlocked: the waiters, and
// closing Done if it is a standard context's.
func (c *scope) endLocked(b *errBox, cause error) (list *waiter, closeDone func()) {
	if c.err.Load() != nil {
		return nil, nil
	}
	c.cause = cause
	c.err.Store(b)
	closeDone, c.cancelDone = c.cancelDone, nil
	if closeDone == nil && c.ownDone != nil {
		close(c.ownDone)
	}
	list = c.waiters
	c.waiters = nil
	for w := list; w != nil; w = w.next {
		w.linked = false
	}
	return list, closeDone
}

// notify closes Done (closeDone, if not nil) and runs, in order, what
// waited for a scope that has ended. No lock is held: a waiter may call
// back into any context.
func notify(list *waiter, closeDone func()) {
	if closeDone != nil {
		closeDone()
	}
	for w := list; w != nil; {
		next := w.next
		if w.child != nil {
			w.child.parentEnded()
		} else {
			w.f()
		}
		w = next
	}
}

// push adds w to the waiters, or reports false if the scope has ended.
func (c *scope) push(w *waiter) bool {
	c.watchParent()
	c.arm()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err.Load() != nil {
		return false
	}
	w.next, w.prev, w.linked = c.waiters, nil, true
	if c.waiters != nil {
		c.waiters.prev = w
	}
	c.waiters = w
	return true
}

// remove takes w out of the waiters, and reports whether it was there.
func (c *scope) remove(w *waiter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !w.linked {
		return false
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		c.waiters = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.next, w.prev, w.linked = nil, nil, false
	return true
}

// parentKind tells how the scope can learn that its parent has ended:
// never (the parent cannot end), from the enclosing scope p (if nothing
// that can end on its own lies between: the parent's Done is p's), or from
// a foreign context (a standard library one, the caller's).
func (c *scope) parentKind() (p *scope, foreign bool) {
	pdone := c.parent.Done()
	if pdone == nil {
		return nil, false
	}
	if p, ok := c.parent.Value(scopeKey).(*scope); ok && p.Done() == pdone {
		return p, false
	}
	return nil, true
}

// watchParent makes the scope's waiters run when its parent ends: in the
// enclosing scope's list, or with context.AfterFunc on a foreign parent.
func (c *scope) watchParent() {
	switch p, foreign := c.parentKind(); {
	case p != nil:
		c.linkTo(p)
	case foreign:
		if c.watching.Load() || c.err.Load() != nil || !c.watching.CompareAndSwap(false, true) {
			return
		}
		stop := context.AfterFunc(c.parent, c.parentEnded)
		c.mu.Lock()
		ended := c.err.Load() != nil
		if !ended {
			c.parentStop = stop
		}
		c.mu.Unlock()
		if ended {
			stop()
		}
	}
}

// linkTo puts the scope in the list of the enclosing scope p, once.
func (c *scope) linkTo(p *scope) {
	if c.linked.Load() || c.err.Load() != nil || !c.linked.CompareAndSwap(false, true) {
		return
	}
	c.link.child = c
	if !p.push(&c.link) {
		c.parentEnded()
		return
	}
	c.mu.Lock()
	ended := c.err.Load() != nil
	if !ended {
		c.watched = p
	}
	c.mu.Unlock()
	if ended {
		p.remove(&c.link)
	}
}

// Deadline returns the scope's deadline: the earlier of its own and its
// parent's.
func (c *scope) Deadline() (time.Time, bool) { return c.deadline(), true }

// deadline is computed when asked for: most calls never ask.
func (c *scope) deadline() time.Time {
	if c.timed {
		return c.base.Add(c.limit)
	}
	return c.base
}

// Done returns a channel closed when the scope ends.
func (c *scope) Done() <-chan struct{} {
	if d, _ := c.done.Load().(<-chan struct{}); d != nil {
		return d
	}
	if c.err.Load() != nil {
		return closedChan // ended before anyone asked: nothing else to close
	}
	c.arm()
	// Under a foreign parent, Done is that of a standard context derived
	// from it: the parent closes it as it ends, and so does the scope.
	var inner context.Context
	var cancelInner context.CancelFunc
	switch p, foreign := c.parentKind(); {
	case p != nil:
		c.linkTo(p)
	case foreign:
		inner, cancelInner = context.WithCancel(c.parent)
	}
	c.mu.Lock()
	d, _ := c.done.Load().(<-chan struct{})
	switch {
	case d != nil:
	case c.err.Load() != nil:
		d = closedChan
		c.done.Store(d)
	default:
		if inner != nil {
			d = inner.Done()
			c.cancelDone, cancelInner = cancelInner, nil
		} else {
			c.ownDone = make(chan struct{})
			d = c.ownDone
		}
		c.done.Store(d)
	}
	c.mu.Unlock()
	if cancelInner != nil {
		cancelInner() // not needed: Done was made, or the scope has ended
	}
	return d
}

// Err returns nil while the scope runs, then why it ended:
// context.DeadlineExceeded, context.Canceled, or the parent's error.
func (c *scope) Err() error {
	if b := c.err.Load(); b != nil {
		c.waitDone()
		return b.err
	}
	if c.parent.Err() != nil {
		c.parentEnded()
	} else {
		c.arm()
	}
	if b := c.err.Load(); b != nil {
		return b.err
	}
	return nil
}

// waitDone returns once Done is closed, for an ended scope: endLocked sets
// err before it closes done, and nobody may see an error with Done open.
//
// A Done made before the end is closed by endLocked (or, a standard
// context's, by notify right after); if none was made by then, none will
// be (Done returns closedChan), and there is nothing to wait for.
func (c *scope) waitDone() {
	if d, _ := c.done.Load().(<-chan struct{}); d != nil {
		<-d
	}
}

// Value returns the parent's value for key; context.Cause learns the
// scope's cause through it.
func (c *scope) Value(key any) any {
	switch {
	case key == scopeKey:
		return c
	case cancelCtxKey != nil && key == cancelCtxKey:
		return c.causeValue()
	}
	return c.parent.Value(key)
}

// causeValue answers context.Cause: nil while the scope runs, or when its
// cause is its error (Cause then returns Err); else the value of a
// standard context ended with the same cause.
func (c *scope) causeValue() any {
	if c.Err() == nil {
		return nil
	}
	b := c.err.Load()
	if (b == canceledBox || b == deadlineBox) && c.cause == b.err {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.causeCtx == nil {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(c.cause)
		c.causeCtx = ctx.Value(cancelCtxKey)
	}
	return c.causeCtx
}

// AfterFunc arranges for f to be called once the scope has ended, in the
// goroutine that ends it (at once in a goroutine of its own if it has
// ended already), and returns a function that stops the call if it has
// not started: this is the method context.AfterFunc, and every context the
// standard library derives from the scope, use instead of a goroutine.
func (c *scope) AfterFunc(f func()) (stop func() bool) {
	w := &waiter{f: f}
	if !c.push(w) {
		go f()
		return func() bool { return false }
	}
	return func() bool { return c.remove(w) }
}

// String names the scope as the context package names its contexts.
func (c *scope) String() string {
	var parent string
	if s, ok := c.parent.(interface{ String() string }); ok {
		parent = s.String()
	} else {
		parent = "context"
	}
	dl := c.deadline()
	return parent + ".WithDeadline(" + dl.String() + " [" + time.Until(dl).String() + "])"
}

// scopeError returns the *Error for a call under ctx, whose deadline dl
// fired, that returned err: naming the scope that dl belongs to, or nil if
// it is no scope's (the caller's own deadline).
func scopeError(ctx context.Context, dl time.Time, err error) error {
	for {
		s, _ := ctx.Value(scopeKey).(*scope)
		if s == nil || !s.deadline().Equal(dl) {
			return nil
		}
		if s.timed {
			return &Error{Name: s.name, Limit: s.limit, Err: err}
		}
		ctx = s.parent
	}
}
