package breaker

import (
	"context"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// State is the state of a Breaker.
type State int32

// The states of a Breaker.
const (
	Closed   State = iota // calls pass; failures are counted
	Open                  // calls are rejected with ErrOpen
	HalfOpen              // a few probe calls pass; the rest get ErrTooManyCalls
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// The state word packs everything the lock-free paths need:
// bits 0-1 state, bits 3-31 consecutive closed failures, bits 32-63
// generation (bumped by every transition). Bit 2 is always 0 in the word; in
// a Permit's copy, plainBit marks a closed-state admission of a plain breaker,
// and bits 3-31 hold the call's sequence number among the watched calls in
// flight (see watch), 0 if it is not watched.
const (
	stateMask = 3
	plainBit  = 4 // in a closed Permit's copy: no window, no slow-call detection
	failShift = 3
	failOne   = 1 << failShift
	failMask  = (1<<29 - 1) << failShift
	genShift  = 32
)

func gen(w uint64) uint64 { return w >> genShift }

// Stats is a snapshot of a Breaker's counters.
type Stats struct {
	State State

	// Totals since New. Every admitted call counts once in Successes,
	// Failures or Ignored when its Done runs (stale outcomes included);
	// every rejected call (ErrOpen or ErrTooManyCalls) counts once in
	// Rejected. SlowCalls counts successes and failures that were slow.
	// Stuck counts the calls that were counted as failures because they
	// had been in flight for StuckAfter (they count again, once, in
	// Successes, Failures or Ignored when their Done runs).
	Successes, Failures, Ignored, Rejected, SlowCalls, Stuck uint64

	// ConsecutiveFailures counts closed-state failures since the last
	// success or transition. ConsecutiveSuccesses counts the probe successes
	// in half-open; in closed it is the number of successes recorded (stale
	// ones included) since the last failure or transition. Both are 0 while
	// open.
	ConsecutiveFailures, ConsecutiveSuccesses uint64

	// Forced reports whether the breaker was forced open by ForceOpen.
	Forced bool

	// LastTransition is when the state last changed (or New, or Reset).
	LastTransition time.Time

	// Window holds what the rate rules see now: the calls of the sliding
	// window in the current state (it starts empty at every transition).
	// It is zero when no rate rule is set (no window is kept).
	Window WindowStats
}

// WindowStats are the figures of a breaker's sliding window, the ones
// FailureRateThreshold and SlowCallRateThreshold are compared with once
// Calls reaches MinimumCalls.
type WindowStats struct {
	// Calls, Failures and SlowCalls are the successes and failures the
	// window holds, the failures among them and the slow ones (successes
	// and failures alike). Ignored calls are not in the window.
	Calls, Failures, SlowCalls int
	// FailureRate and SlowCallRate are Failures/Calls and SlowCalls/Calls,
	// 0 when the window is empty.
	FailureRate, SlowCallRate float64
}

// Breaker is a circuit breaker. Create one with New: the methods of the zero
// Breaker panic with "breaker: Breaker must be created with New". It is safe
// for concurrent use.
type Breaker struct {
	word atomic.Uint64 // read on every call; written by failures and transitions
	_    [56]byte

	cfg     Config
	plain   uint64 // plainBit when there is no window and no slow-call detection (Allow's fast path applies); 0 otherwise, and in a Breaker not made by New
	clock   bool   // outcomes need the time: slow-call detection or a time window
	base    time.Time
	shards  []shard
	shift   uint // 64 - log2(len(shards)): the top bits of a 64-bit hash pick a shard
	openErr *openError
	win     *window
	watch   *watch // the calls in flight, when StuckAfter is set

	// openUntil is the end of the open period, in ns since base (forever
	// when forced open). It is written, under mu, before the word shows
	// the new open state, and read without the lock: while the word says
	// Open, a call at or after openUntil moves the breaker to half-open.
	openUntil atomic.Int64
	succBase  atomic.Uint64

	mu        sync.Mutex // guards the fields below and every transition
	forced    bool
	probes    int   // half-open permits outstanding
	hoSucc    int   // half-open consecutive successes
	lastProbe int64 // ns since base of the last probe admission
	lastTrans time.Time
}

// shard holds a slice of the totals; calls pick a shard by the address of
// their goroutine's stack so parallel callers rarely share a cache line.
type shard struct {
	successes, failures, ignored, rejected, slow, stuck atomic.Uint64
	_                                                   [80]byte
}

// New returns a closed Breaker. It panics with the message of
// cfg.Validate() ("breaker: <Field> ...") if cfg is invalid.
func New(cfg Config) *Breaker {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	cfg = cfg.withDefaults()
	n := 8 // shards: 8 per CPU, at most 64 (128 bytes each)
	for n < 8*runtime.GOMAXPROCS(0) && n < 64 {
		n *= 2
	}
	b := &Breaker{
		cfg:    cfg,
		base:   time.Now(),
		shards: make([]shard, n),
		shift:  uint(64 - bits.TrailingZeros(uint(n))),
	}
	b.lastTrans = b.base
	b.openErr = &openError{b}
	if cfg.FailureRateThreshold > 0 || cfg.SlowCallRateThreshold > 0 {
		b.win = newWindow(cfg)
	}
	if cfg.StuckAfter > 0 {
		b.watch = newWatch(int64(cfg.StuckAfter))
	}
	if b.win == nil && cfg.SlowCallDuration == 0 && b.watch == nil {
		b.plain = plainBit
	}
	b.clock = cfg.SlowCallDuration > 0 || b.win != nil && b.win.width > 0
	return b
}

// forever is openUntil while forced open: no clock reaches it.
const forever = math.MaxInt64

// errNotNew is the panic of every method of a Breaker not made by New.
const errNotNew = "breaker: Breaker must be created with New"

// mustBeNew panics with errNotNew if b was not made by New (the zero
// Breaker has no shards).
func (b *Breaker) mustBeNew() {
	if b.shards == nil {
		panic(errNotNew)
	}
}

func (b *Breaker) now() int64 { return int64(time.Since(b.base)) }

// due reports whether an open period has ended, so that the next call
// moves the breaker to half-open.
func (b *Breaker) due() bool { return b.now() >= b.openUntil.Load() }

// shard picks the caller's counter shard. The address of a local variable
// identifies the goroutine's stack: goroutines running in parallel have
// different stacks, as small as 2 KiB and often next to one another, so the
// address in 2 KiB units is spread over the shards by a Fibonacci hash, and
// they mostly write different cache lines. A stack that moves only changes
// shard: totals sum every shard.
func (b *Breaker) shard() *shard {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9e3779b97f4a7c15
	return &b.shards[h>>b.shift]
}

// State returns the current state. Once an open period is over, State
// reports HalfOpen, although the transition itself (a new generation, the
// OnStateChange hook) waits for the next call to Allow.
func (b *Breaker) State() State {
	b.mustBeNew()
	s := State(b.word.Load() & stateMask)
	if s == Open && b.due() {
		return HalfOpen
	}
	return s
}

// Permit is the admission of one call, returned by Allow. Report the call's
// outcome with Done exactly once. The zero Permit's Done does nothing.
type Permit struct {
	b     *Breaker
	w     uint64 // state word at admission: state and generation
	start int64  // ns since base, when slow-call detection or StuckAfter is on
}

// Allow asks to make one call. It returns a Permit, or ErrOpen-matching
// error while open, or ErrTooManyCalls when half-open probes are busy. The
// first call at or after the end of an open period moves the breaker to
// half-open. It allocates nothing; in the closed state it takes no lock and
// reads the clock only when SlowCallDuration or StuckAfter is set (once); a
// rejection while open reads the clock once, to compare it with the end of
// the open period. With StuckAfter set it also takes the short lock of the
// calls in flight, twice.
func (b *Breaker) Allow() (Permit, error) {
	w := b.word.Load()
	if w&stateMask|b.plain == plainBit {
		return Permit{b: b, w: w | plainBit}, nil
	}
	if b.watch != nil {
		return b.allowWatched(w)
	}
	return b.allow(w)
}

// allow is Allow past its fast path, w the state word it read.
func (b *Breaker) allow(w uint64) (Permit, error) {
	switch State(w & stateMask) {
	case Open:
		if !b.due() {
			// reject, written out: this is the path of every call while open.
			b.shard().rejected.Add(1)
			if b.cfg.OnReject != nil {
				b.cfg.OnReject(b.openErr)
			}
			if len(b.cfg.Observers) != 0 {
				b.observeReject(b.openErr)
			}
			return Permit{}, b.openErr
		}
	case Closed:
		b.mustBeNew() // the zero Breaker is closed, and has no fast path
		p := Permit{b: b, w: w}
		if b.cfg.SlowCallDuration > 0 {
			p.start = b.now()
		}
		return p, nil
	}
	return b.allowSlow()
}

func (b *Breaker) reject(err error) error {
	b.shard().rejected.Add(1)
	if b.cfg.OnReject != nil {
		b.cfg.OnReject(err)
	}
	if len(b.cfg.Observers) != 0 {
		b.observeReject(err)
	}
	return err
}

func (b *Breaker) allowSlow() (Permit, error) {
	b.mu.Lock()
	w := b.word.Load()
	var from State = -1
	switch State(w & stateMask) {
	case Closed:
		b.mu.Unlock()
		return b.allow(w)
	case Open:
		if !b.due() {
			b.mu.Unlock()
			return Permit{}, b.reject(b.openErr)
		}
		w = b.transition(w, HalfOpen)
		from = Open
	}
	now := b.now()
	var err error
	if b.probes >= b.cfg.HalfOpenMaxCalls {
		if now-b.lastProbe < int64(b.cfg.ProbeTimeout) {
			err = ErrTooManyCalls
		} else { // the outstanding probes are lost: abandon them
			w = b.bump(w)
			b.probes = 0
		}
	}
	if err == nil {
		b.probes++
		b.lastProbe = now
	}
	b.mu.Unlock()
	if err != nil {
		b.changed(from, HalfOpen)
		return Permit{}, b.reject(err)
	}
	p := Permit{b: b, w: w, start: now}
	if from >= 0 || b.cfg.ProbeGate != nil {
		// A hook that panics must not keep the probe slot just taken.
		ok := false
		defer func() {
			if !ok {
				p.Ignore()
			}
		}()
		b.changed(from, HalfOpen)
		if b.cfg.ProbeGate != nil {
			if err := b.gate(p); err != nil {
				ok = true
				return Permit{}, err
			}
		}
		ok = true
	}
	return p, nil
}

// Done reports the outcome of the call admitted by p: a nil error is a
// success, others are classified by Config.IsIgnored and Config.IsFailure.
// An outcome whose call began before the last transition (a stale outcome)
// counts in Stats totals but does not affect the state. It allocates
// nothing; in the closed state it takes no lock unless a rate rule is
// configured (then the window's own lock).
func (p Permit) Done(err error) {
	p.b.done(p, err)
}

// Ignore reports that the call admitted by p says nothing of the backend:
// it was given up before it reached it, for instance refused by a bulkhead.
// It is neither a success nor a failure, whatever Config.IsIgnored says,
// and frees a half-open probe slot. Use either Done or Ignore, once.
func (p Permit) Ignore() {
	if p.b != nil {
		p.record(ignored)
	}
}

func (b *Breaker) done(p Permit, err error) {
	if err == nil && p.w&plainBit != 0 {
		// A closed-state success of a plain breaker: one add on this
		// goroutine's shard, one load.
		b.shard().successes.Add(1)
		if b.word.Load()&failMask != 0 {
			b.clearFails(p.w)
		}
		return
	}
	if b != nil {
		b.classify(p, err)
	}
}

func (b *Breaker) classify(p Permit, err error) {
	switch {
	case err == nil:
		p.record(success)
	case b.cfg.IsIgnored(err):
		p.record(ignored)
	case b.cfg.IsFailure == nil || b.cfg.IsFailure(err):
		p.record(failure)
	default:
		p.record(success)
	}
}

type outcome int

const (
	success outcome = iota
	failure
	ignored
)

func (p Permit) record(o outcome) {
	b := p.b
	sh := b.shard()
	var now int64
	slow := false
	if b.clock && o != ignored {
		now = b.now()
		if b.cfg.SlowCallDuration > 0 && now-p.start >= int64(b.cfg.SlowCallDuration) {
			slow = true
			sh.slow.Add(1)
		}
	}
	switch o {
	case success:
		sh.successes.Add(1)
	case failure:
		sh.failures.Add(1)
	default:
		sh.ignored.Add(1)
	}
	if b.watch != nil && !b.watch.finish(p) {
		return // counted as a failure when it was found stuck
	}
	b.apply(p.w, o, now, slow)
}

// apply applies outcome o of a call admitted with state word pw to the
// state: the probes in half-open, else the consecutive count and the
// window. now (ns since base) is read only when b.clock is set.
func (b *Breaker) apply(pw uint64, o outcome, now int64, slow bool) {
	if pw&stateMask == uint64(HalfOpen) {
		b.probeDone(pw, o)
		return
	}
	switch o {
	case ignored:
		return
	case success:
		if b.word.Load()&failMask != 0 {
			b.clearFails(pw)
		}
	case failure:
		if b.addFail(pw) {
			return
		}
	}
	if b.win != nil && b.win.record(b, pw, now, o == failure, slow) {
		b.trip(pw)
	}
}

// clearFails resets the consecutive failure count of generation pw.
func (b *Breaker) clearFails(pw uint64) {
	for {
		w := b.word.Load()
		if gen(w) != gen(pw) || w&failMask == 0 || b.word.CompareAndSwap(w, w&^failMask) {
			return
		}
	}
}

// addFail counts a closed-state failure of generation pw and opens the
// breaker if it reaches FailureThreshold. It reports whether the outcome is
// done with: stale, or it opened the breaker.
func (b *Breaker) addFail(pw uint64) bool {
	for {
		w := b.word.Load()
		if gen(w) != gen(pw) {
			return true
		}
		n := w
		if w&failMask != failMask {
			n += failOne
		}
		if b.word.CompareAndSwap(w, n) {
			b.succBase.Store(b.sum(func(s *shard) *atomic.Uint64 { return &s.successes }))
			if t := b.cfg.FailureThreshold; t > 0 && (n&failMask)>>failShift >= uint64(t) {
				b.trip(pw)
				return true
			}
			return false
		}
	}
}

// trip opens a closed breaker if it is still in generation pw.
func (b *Breaker) trip(pw uint64) {
	b.mu.Lock()
	w := b.word.Load()
	if gen(w) != gen(pw) || w&stateMask != uint64(Closed) {
		b.mu.Unlock()
		return
	}
	b.transition(w, Open)
	b.mu.Unlock()
	b.changed(Closed, Open)
}

// probeDone applies a half-open outcome of generation pw.
func (b *Breaker) probeDone(pw uint64, o outcome) {
	b.mu.Lock()
	w := b.word.Load()
	if gen(w) != gen(pw) {
		b.mu.Unlock()
		return
	}
	b.probes--
	to := HalfOpen
	switch o {
	case success:
		b.hoSucc++
		if b.hoSucc >= b.cfg.SuccessThreshold {
			to = Closed
		}
	case failure:
		to = Open
	}
	if to != HalfOpen {
		b.transition(w, to)
	}
	b.mu.Unlock()
	if to != HalfOpen {
		b.changed(HalfOpen, to)
	}
}

// bump returns w in a new generation, with no failures, stored. b.mu held.
func (b *Breaker) bump(w uint64) uint64 {
	n := (gen(w)+1)<<genShift | w&stateMask
	b.word.Store(n)
	return n
}

// transition moves the breaker from the state in w to state to, in a new
// generation, and returns the new word. b.mu must be held; the caller runs
// b.changed after unlocking.
func (b *Breaker) transition(w uint64, to State) uint64 {
	now := time.Now()
	var d time.Duration
	if to == Open {
		until := int64(forever)
		if !b.forced {
			d = b.cfg.OpenTimeout
			if j := b.cfg.OpenTimeoutJitter; j > 0 {
				d += time.Duration(rand.Int64N(int64(float64(d)*j) + 1))
			}
			until = int64(now.Sub(b.base) + d)
		}
		// Before the state shows: a caller that sees the new open state
		// must read its end, not the previous period's.
		b.openUntil.Store(until)
	}
	n := b.bump(w&^stateMask | uint64(to))
	b.lastTrans = now
	b.probes, b.hoSucc = 0, 0
	switch to {
	case Closed:
		b.succBase.Store(b.sum(func(s *shard) *atomic.Uint64 { return &s.successes }))
	case HalfOpen:
		b.lastProbe = int64(now.Sub(b.base))
	}
	return n
}

func (b *Breaker) changed(from, to State) {
	if from >= 0 && from != to && b.cfg.OnStateChange != nil {
		b.cfg.OnStateChange(from, to)
	}
	if from >= 0 && from != to && len(b.cfg.Observers) != 0 {
		notify(b.cfg.Observers, Event{Kind: EventStateChange, From: from, To: to})
	}
}

// Reset closes the breaker and clears its consecutive counts, window and
// forced-open mode. Totals since New are kept. Outcomes of calls admitted
// before Reset become stale.
func (b *Breaker) Reset() { b.set(Closed, false) }

// ForceOpen opens the breaker until Reset: every call is rejected with an
// ErrOpen-matching error whose RetryAfter is 0.
func (b *Breaker) ForceOpen() { b.set(Open, true) }

func (b *Breaker) set(to State, forced bool) {
	b.mustBeNew()
	b.mu.Lock()
	w := b.word.Load()
	from := State(w & stateMask)
	b.forced = forced
	b.transition(w, to)
	b.mu.Unlock()
	b.changed(from, to)
}

func (b *Breaker) sum(field func(*shard) *atomic.Uint64) uint64 {
	var n uint64
	for i := range b.shards {
		n += field(&b.shards[i]).Load()
	}
	return n
}

// Stats returns a snapshot of the breaker's state and counters. Like State,
// it reports HalfOpen once an open period is over, with LastTransition the
// end of that period.
func (b *Breaker) Stats() Stats {
	b.mustBeNew()
	b.mu.Lock()
	w := b.word.Load()
	s := Stats{
		State:          State(w & stateMask),
		Forced:         b.forced,
		LastTransition: b.lastTrans,
	}
	if s.State == Open && b.due() {
		s.State = HalfOpen
		s.LastTransition = b.base.Add(time.Duration(b.openUntil.Load()))
	}
	hoSucc := b.hoSucc
	b.mu.Unlock()
	s.Successes = b.sum(func(s *shard) *atomic.Uint64 { return &s.successes })
	s.Failures = b.sum(func(s *shard) *atomic.Uint64 { return &s.failures })
	s.Ignored = b.sum(func(s *shard) *atomic.Uint64 { return &s.ignored })
	s.Rejected = b.sum(func(s *shard) *atomic.Uint64 { return &s.rejected })
	s.SlowCalls = b.sum(func(s *shard) *atomic.Uint64 { return &s.slow })
	s.Stuck = b.sum(func(s *shard) *atomic.Uint64 { return &s.stuck })
	switch s.State {
	case Closed:
		s.ConsecutiveFailures = (w & failMask) >> failShift
		s.ConsecutiveSuccesses = s.Successes - min(s.Successes, b.succBase.Load())
	case HalfOpen:
		s.ConsecutiveSuccesses = uint64(hoSucc)
	}
	if b.win != nil {
		s.Window = b.win.stats(w, b.now())
	}
	return s
}

// Do runs fn through b: it returns ErrOpen or ErrTooManyCalls without
// calling fn when b rejects the call, and otherwise fn's result, after
// reporting fn's error to b. A panic in fn counts as a failure (whatever
// IsFailure says), releases a half-open probe slot, and keeps unwinding.
// If ctx has already ended, Do returns ctx.Err() at once and b hears
// nothing: a call that was never made says nothing of the backend.
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	p, err := b.Allow()
	if err != nil {
		var zero T
		return zero, err
	}
	ok := false
	defer func() {
		if !ok {
			p.record(failure)
		}
	}()
	v, err := fn(ctx)
	ok = true
	p.Done(err)
	return v, err
}

// Do is the non-generic form of the package-level Do.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.Allow()
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			p.record(failure)
		}
	}()
	err = fn(ctx)
	ok = true
	p.Done(err)
	return err
}
