package timeout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The tests in this file hold fn's context to what context.WithTimeout
// (WithTimeoutCause, for DoNamed) gives: the same script of actions is
// played against each, and what a caller can observe is written down after
// every step, once the goroutines of the bubble have settled.

const unit = time.Second

type ctxKey string

// parentKind is the caller's context in a conformance script.
type parentKind int

const (
	bgParent          parentKind = iota // context.Background
	cancelParent                        // WithCancel, canceled by opCancelParent
	causeParent                         // WithCancelCause, canceled with errShutdown
	canceledParent                      // already canceled
	earlierParent                       // WithTimeout, 3 units: earlier than most limits
	laterParent                         // WithTimeout, 40 units, cancellable
	valueParent                         // WithValue over a WithCancel
	scopeParent                         // an enclosing unnamed Do (the reference: WithTimeout), 7 units
	namedScopeParent                    // an enclosing DoNamed "outer" (the reference: WithTimeoutCause), 7 units
	withoutCancelOver                   // WithoutCancel over a live enclosing Do
	numParentKinds
)

var errShutdown = errors.New("shutting down")

// Script operations; each takes one argument byte.
const (
	opSleep         = iota // sleep 1+arg%12 units
	opCancelParent         // cancel the caller's context, if it can be
	opChildCancel          // child := WithCancel(ctx)
	opChildTimeout         // child := WithTimeout(ctx, (1+arg%12) units + 1ns)
	opChildValue           // child := WithCancel(WithValue(ctx))
	opAfterFunc            // context.AfterFunc(ctx, count)
	opStopAfterFunc        // stop the newest AfterFunc, write down what it returned
	opCancelChild          // cancel the newest child
	opReturn               // fn returns (the reference: cancel)
	opWatchDone            // look at ctx.Done
	opChildOfChild         // child := WithTimeout(newest child, (1+arg%12) units + 1ns)
	numOps
)

// world plays a script against fn's context from Do (ours) or from the
// standard library, and returns what it saw.
type world struct {
	t        *testing.T
	ours     bool
	kind     parentKind
	named    bool
	limit    time.Duration
	ctx      context.Context
	end      func() // fn returns / cancel
	ended    bool
	cancelP  func()
	cleanup  []func()
	children []context.Context
	cancels  []context.CancelFunc
	stops    []func() bool
	fired    atomic.Int32
	trace    []string
}

func (w *world) logf(format string, args ...any) {
	w.trace = append(w.trace, fmt.Sprintf(format, args...))
}

func (w *world) parent() context.Context {
	bg := context.Background()
	switch w.kind {
	case cancelParent, valueParent:
		ctx, cancel := context.WithCancel(bg)
		w.cancelP = cancel
		if w.kind == valueParent {
			return context.WithValue(ctx, ctxKey("k"), "parent's")
		}
		return ctx
	case causeParent:
		ctx, cancel := context.WithCancelCause(bg)
		w.cancelP = func() { cancel(errShutdown) }
		return ctx
	case canceledParent:
		ctx, cancel := context.WithCancel(bg)
		cancel()
		return ctx
	case earlierParent:
		ctx, cancel := context.WithTimeout(bg, 3*unit)
		w.cleanup = append(w.cleanup, cancel)
		return ctx
	case laterParent:
		ctx, cancel := context.WithTimeout(bg, 40*unit)
		w.cancelP = cancel
		return ctx
	}
	return bg
}

// start makes fn's context: with Do, fn runs in a goroutine and hands its
// context over, then waits for opReturn.
func (w *world) start() {
	parent := w.parent()
	if !w.ours {
		switch w.kind {
		case scopeParent, withoutCancelOver:
			p, cancel := context.WithTimeout(parent, 7*unit)
			w.cleanup = append(w.cleanup, cancel)
			parent = p
			if w.kind == withoutCancelOver {
				parent = context.WithoutCancel(p)
			}
		case namedScopeParent:
			p, cancel := context.WithTimeoutCause(parent, 7*unit, &Error{Name: "outer", Limit: 7 * unit})
			w.cleanup = append(w.cleanup, cancel)
			parent = p
		}
		var cancel context.CancelFunc
		if w.named {
			w.ctx, cancel = context.WithTimeoutCause(parent, w.limit, &Error{Name: "step", Limit: w.limit})
		} else {
			w.ctx, cancel = context.WithTimeout(parent, w.limit)
		}
		w.end = cancel
		return
	}
	got := make(chan context.Context)
	release := make(chan struct{})
	returned := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		got <- ctx
		<-release
		return 0, nil
	}
	inner := func(ctx context.Context) (int, error) {
		if w.named {
			return DoNamed(ctx, "step", w.limit, fn)
		}
		return Do(ctx, w.limit, fn)
	}
	go func() {
		defer close(returned)
		switch w.kind {
		case scopeParent:
			_, _ = Do(parent, 7*unit, inner)
		case namedScopeParent:
			_, _ = DoNamed(parent, "outer", 7*unit, inner)
		case withoutCancelOver:
			_, _ = Do(parent, 7*unit, func(ctx context.Context) (int, error) { return inner(context.WithoutCancel(ctx)) })
		default:
			_, _ = inner(parent)
		}
	}()
	w.ctx = <-got
	w.end = func() {
		close(release)
		<-returned
	}
}

func errText(err error) string {
	if err == nil {
		return "nil"
	}
	return fmt.Sprintf("%T(%v)", err, err)
}

func closed(ch <-chan struct{}) string {
	if ch == nil {
		return "nil"
	}
	select {
	case <-ch:
		return "closed"
	default:
		return "open"
	}
}

// observe writes down what a caller can see of ctx, without calling Done
// unless done.
func (w *world) observe(step string, done bool) {
	ctx := w.ctx
	dl, ok := ctx.Deadline()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: err=%s cause=%s deadline=%v,%v value=%v", step, errText(ctx.Err()), errText(context.Cause(ctx)), dl, ok, ctx.Value(ctxKey("k")))
	if done {
		fmt.Fprintf(&b, " done=%s", closed(ctx.Done()))
	}
	wc := context.WithoutCancel(ctx)
	wdl, wok := wc.Deadline()
	fmt.Fprintf(&b, " without-cancel: err=%s cause=%s done=%s deadline=%v,%v value=%v", errText(wc.Err()), errText(context.Cause(wc)), closed(wc.Done()), wdl, wok, wc.Value(ctxKey("k")))
	for i, c := range w.children {
		cdl, _ := c.Deadline()
		fmt.Fprintf(&b, " child%d: err=%s cause=%s done=%s deadline=%v value=%v", i, errText(c.Err()), errText(context.Cause(c)), closed(c.Done()), cdl, c.Value(ctxKey("k")))
	}
	fmt.Fprintf(&b, " after-funcs fired=%d", w.fired.Load())
	w.trace = append(w.trace, b.String())
}

func (w *world) addChild(c context.Context, cancel context.CancelFunc) {
	w.children = append(w.children, c)
	w.cancels = append(w.cancels, cancel)
}

func (w *world) step(op, arg byte) {
	d := time.Duration(1+int(arg)%12) * unit
	switch op % numOps {
	case opSleep:
		time.Sleep(d)
		w.logf("sleep %v", d)
	case opCancelParent:
		if w.cancelP != nil {
			w.cancelP()
		}
		w.logf("cancel parent")
	case opChildCancel:
		w.addChild(context.WithCancel(w.ctx))
		w.logf("child with cancel")
	case opChildTimeout:
		w.addChild(context.WithTimeout(w.ctx, d+1))
		w.logf("child with timeout %v", d+1)
	case opChildValue:
		w.addChild(context.WithCancel(context.WithValue(w.ctx, ctxKey("k"), "child's")))
		w.logf("child with value")
	case opAfterFunc:
		w.stops = append(w.stops, context.AfterFunc(w.ctx, func() { w.fired.Add(1) }))
		w.logf("after func")
	case opStopAfterFunc:
		if n := len(w.stops); n > 0 {
			w.logf("stop after func: %v", w.stops[n-1]())
			w.stops = w.stops[:n-1]
		}
	case opCancelChild:
		if n := len(w.cancels); n > 0 {
			w.cancels[n-1]()
			w.logf("cancel child %d", n-1)
		}
	case opReturn:
		if !w.ended {
			w.ended = true
			w.end()
		}
		w.logf("return")
	case opWatchDone:
		w.logf("done %s", closed(w.ctx.Done()))
	case opChildOfChild:
		if n := len(w.children); n > 0 {
			w.addChild(context.WithTimeout(w.children[n-1], d+1))
			w.logf("grandchild with timeout %v", d+1)
		}
	}
	synctest.Wait()
}

// play runs script in a bubble of its own and returns the trace.
func play(t *testing.T, ours bool, kind parentKind, named bool, limit time.Duration, script []byte) []string {
	var trace []string
	synctest.Test(t, func(t *testing.T) {
		w := &world{t: t, ours: ours, kind: kind, named: named, limit: limit}
		w.start()
		synctest.Wait()
		w.observe("start", false)
		for i := 0; i+1 < len(script); i += 2 {
			w.step(script[i], script[i+1])
			w.observe(fmt.Sprint("after step ", i/2), script[i]%numOps == opWatchDone)
		}
		w.step(opReturn, 0)
		w.observe("end", true)
		for _, cancel := range w.cancels {
			cancel()
		}
		if w.cancelP != nil {
			w.cancelP()
		}
		for _, f := range w.cleanup {
			f()
		}
		synctest.Wait()
		trace = w.trace
	})
	return trace
}

func compareWorlds(t *testing.T, kind parentKind, named bool, limit time.Duration, script []byte) {
	t.Helper()
	want := play(t, false, kind, named, limit, script)
	got := play(t, true, kind, named, limit, script)
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("parent kind %d, named %v, limit %v, script %v: line %d differs\n got: %s\nwant: %s\nbefore it:\n%s",
				kind, named, limit, script, i, g, w, strings.Join(want[:i], "\n"))
		}
	}
}

// TestConformance plays scripts a caller would: derive, wait, cancel, look.
func TestConformance(t *testing.T) {
	scripts := []struct {
		name   string
		script []byte
	}{
		{"returns in time", []byte{opSleep, 0, opWatchDone, 0, opReturn, 0}},
		{"deadline fires", []byte{opWatchDone, 0, opSleep, 11, opSleep, 11}},
		{"deadline fires, Done never asked", []byte{opSleep, 11, opSleep, 11}},
		{"parent canceled", []byte{opChildCancel, 0, opCancelParent, 0, opWatchDone, 0}},
		{"parent canceled, Done never asked", []byte{opCancelParent, 0, opSleep, 0}},
		{"parent canceled after Done", []byte{opWatchDone, 0, opCancelParent, 0, opSleep, 0}},
		{"children of every kind, then the deadline", []byte{opChildCancel, 0, opChildTimeout, 1, opChildValue, 0, opAfterFunc, 0, opChildOfChild, 0, opSleep, 11, opSleep, 11}},
		{"child timeout first", []byte{opChildTimeout, 0, opSleep, 1, opWatchDone, 0}},
		{"after func stopped", []byte{opAfterFunc, 0, opStopAfterFunc, 0, opReturn, 0, opStopAfterFunc, 0}},
		{"after func runs", []byte{opAfterFunc, 0, opAfterFunc, 0, opStopAfterFunc, 0, opSleep, 11, opSleep, 11, opStopAfterFunc, 0}},
		{"children canceled", []byte{opChildCancel, 0, opChildValue, 0, opCancelChild, 0, opCancelChild, 0, opReturn, 0}},
		{"used after return", []byte{opReturn, 0, opChildCancel, 0, opChildTimeout, 3, opAfterFunc, 0, opWatchDone, 0, opSleep, 4}},
		{"deadline, then return, then use", []byte{opSleep, 11, opSleep, 11, opReturn, 0, opChildValue, 0, opAfterFunc, 0}},
	}
	for kind := range numParentKinds {
		for _, named := range []bool{false, true} {
			for _, s := range scripts {
				t.Run(fmt.Sprintf("parent %d/named %v/%s", kind, named, s.name), func(t *testing.T) {
					compareWorlds(t, kind, named, 10*unit, s.script)
				})
			}
		}
	}
}

// FuzzConformance plays arbitrary scripts: interleavings of the caller's
// cancellation, deadlines (fn's, its parent's, its children's), children
// made and canceled, AfterFunc and its stop, and fn's return.
func FuzzConformance(f *testing.F) {
	f.Add(byte(0), false, byte(9), []byte{opSleep, 0, opReturn, 0})
	f.Add(byte(1), true, byte(4), []byte{opChildCancel, 0, opCancelParent, 0, opWatchDone, 0})
	f.Add(byte(7), false, byte(9), []byte{opChildTimeout, 0, opAfterFunc, 0, opSleep, 8, opReturn, 0})
	f.Add(byte(8), true, byte(5), []byte{opWatchDone, 0, opSleep, 6, opChildOfChild, 0})
	f.Add(byte(2), true, byte(2), []byte{opAfterFunc, 0, opCancelParent, 0, opStopAfterFunc, 0, opChildValue, 0})
	f.Fuzz(func(t *testing.T, kind byte, named bool, limit byte, script []byte) {
		if len(script) > 64 {
			script = script[:64]
		}
		// Parents' deadlines and sleeps in whole units, limits half a unit
		// off and children's a nanosecond off, so that no two deadlines
		// coincide (the standard library itself has no order for those).
		compareWorlds(t, parentKind(kind)%numParentKinds, named, time.Duration(1+int(limit)%20)*unit+unit/2, script)
	})
}
