package breaker

import "sync"

// watchSize is how many calls in flight a breaker with StuckAfter watches
// at most; calls admitted while it watches that many are not watched.
const watchSize = 512

// watch keeps the calls in flight of a breaker with Config.StuckAfter set,
// oldest first, so that the first call to Allow after one of them has been
// in flight for StuckAfter counts it as a failure.
//
// calls is a ring indexed by sequence number: the calls with seq in
// [head, tail) are watched, at calls[seq%watchSize]. Allow appends (tail)
// with starts that never decrease, so the calls that have been in flight
// for StuckAfter are always at the front. head moves past a call when it
// is done (finish marks it, the next pop or finish steps over it) or when
// pop judges it stuck. So a permit whose seq is below head when its Done
// runs was judged stuck: its outcome was counted already.
//
// A Permit carries its seq in the failure-count bits of its copy of the
// state word, which no outcome reads: modulo 1<<29 (seqMask), 0 meaning
// "not watched". A seq that wrapped around cannot pass for a live one:
// finish also compares the call's start, and starts only grow.
type watch struct {
	mu         sync.Mutex
	after      int64  // StuckAfter in ns
	head, tail uint64 // sequence numbers; 0 is never used, it means "not watched"
	last       int64  // the newest start appended
	calls      [watchSize]watched
}

type watched struct {
	start int64  // ns since the breaker's base; done once finished
	w     uint64 // the permit's state word, without its seq
}

// seqMask keeps the bits of a seq that fit in a Permit's word.
const seqMask = failMask >> failShift

const done = -1

func newWatch(after int64) *watch { return &watch{after: after, head: 1, tail: 1} }

// skipDone moves head past finished calls. w.mu held.
func (w *watch) skipDone() {
	for w.head < w.tail && w.calls[w.head%watchSize].start == done {
		w.head++
	}
}

// pop removes and returns the oldest call if it has been in flight for
// StuckAfter at now: its permit's word and start.
func (w *watch) pop(now int64) (pw uint64, start int64, ok bool) {
	w.mu.Lock()
	w.skipDone()
	if w.head < w.tail {
		c := w.calls[w.head%watchSize]
		if now-c.start >= w.after {
			w.head++
			w.mu.Unlock()
			return c.w, c.start, true
		}
	}
	w.mu.Unlock()
	return 0, 0, false
}

// add watches the call admitted by p at now, unless watchSize calls are
// watched already.
func (w *watch) add(p *Permit, now int64) {
	w.mu.Lock()
	if w.tail&seqMask == 0 && w.tail-w.head < watchSize {
		// 0 means "not watched": skip it, as a call already done.
		w.calls[w.tail%watchSize] = watched{start: done}
		w.tail++
	}
	if w.tail-w.head < watchSize {
		now = max(now, w.last) // a caller that read the clock earlier but locked later
		w.last = now
		pw := p.w &^ failMask
		w.calls[w.tail%watchSize] = watched{start: now, w: pw}
		p.w = pw | (w.tail&seqMask)<<failShift
		p.start = now
		w.tail++
	}
	w.mu.Unlock()
}

// finish ends the watch of the call admitted by p and reports whether its
// outcome still counts: false if it was judged stuck. A call that was not
// watched counts.
func (w *watch) finish(p Permit) bool {
	seq := (p.w & failMask) >> failShift
	if seq == 0 {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &w.calls[seq%watchSize]
	if (seq-w.head)&seqMask >= w.tail-w.head || c.start != p.start {
		return false // judged stuck: head has passed it
	}
	c.start = done
	w.skipDone()
	return true
}

// allowWatched is Allow with StuckAfter set: one clock read, with which
// the calls in flight for StuckAfter are counted as failures before this
// call is admitted (so that the call that finds the backend stuck already
// sees the breaker open), and which is the call's start.
func (b *Breaker) allowWatched(w uint64) (Permit, error) {
	now := b.now()
	for {
		pw, start, ok := b.watch.pop(now)
		if !ok {
			break
		}
		b.shard().stuck.Add(1)
		slow := b.cfg.SlowCallDuration > 0 && now-start >= int64(b.cfg.SlowCallDuration)
		b.apply(pw, failure, now, slow)
		w = b.word.Load()
	}
	var p Permit
	var err error
	if State(w&stateMask) == Closed {
		p = Permit{b: b, w: w, start: now}
	} else {
		p, err = b.allow(w)
	}
	if err == nil {
		p.w &^= failMask // no seq until watched
		b.watch.add(&p, now)
	}
	return p, err
}
