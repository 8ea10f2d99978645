package throttle

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// A bucket's word packs its two counts: requests in the high 32 bits,
// accepts in the low 32. An accept is always a request too, so the low half
// never exceeds the high half and never carries into it; the high half is
// exact up to 2^32 requests per bucket (over 350 million a second with the
// default 12s buckets).
const (
	request = 1 << 32
	accept  = 1
	lowMask = 1<<32 - 1
)

type bucket struct {
	word atomic.Uint64
	_    [56]byte // one cache line each: only the current bucket is written
}

// Throttle is a client-side adaptive throttle. Create one with New (the zero
// Throttle is not usable); it is safe for concurrent use.
type Throttle struct {
	// Read by every Allow, written at bucket rotation only.
	cur              atomic.Pointer[bucket] // the bucket calls record into now
	prevReq, prevAcc atomic.Uint64          // sums of the other buckets of the window
	armed            atomic.Bool            // the rotation timer is pending
	_                [40]byte

	draws    atomic.Uint64 // seeded draws taken
	rejected atomic.Uint64 // rejections since New
	_        [48]byte

	cfg     Config
	width   time.Duration // Window / Buckets
	buckets []bucket
	err     *rejectedError

	mu    sync.Mutex // serialises rotations
	epoch int        // index of cur in buckets; guarded by mu
	timer *time.Timer
}

// New returns a Throttle that rejects nothing until its window shows
// overload. It panics with the message of cfg.Validate() ("throttle:
// <Field> ...") if cfg is invalid.
func New(cfg Config) *Throttle {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	cfg = cfg.withDefaults()
	t := &Throttle{
		cfg:     cfg,
		width:   cfg.Window / time.Duration(cfg.Buckets),
		buckets: make([]bucket, cfg.Buckets),
	}
	t.err = &rejectedError{t}
	t.cur.Store(&t.buckets[0])
	t.timer = time.AfterFunc(maxDuration, t.rotate)
	t.timer.Stop()
	return t
}

// The window is a ring of Buckets counters. Calls add to the current one;
// a runtime timer moves "current" on every Window/Buckets and folds the
// others into prevReq and prevAcc, so Allow reads three words and never the
// clock. The timer is armed only while the window holds counts: a call
// that records into an idle throttle arms it (record), and a rotation that
// finds the whole window empty leaves it disarmed (rotate). Both sides
// write their word before reading the other's, so at least one of them
// sees the other and no count is left without a timer to expire it, except
// one recorded into a bucket that a rotation had just retired, which
// expires with the next rotations after the throttle is used again.

// record adds delta to the current bucket.
func (t *Throttle) record(delta uint64) {
	t.cur.Load().word.Add(delta)
	if !t.armed.Load() {
		t.arm()
	}
}

func (t *Throttle) arm() {
	if t.armed.CompareAndSwap(false, true) {
		t.timer.Reset(t.width)
	}
}

// rotate starts a new bucket, dropping the oldest.
func (t *Throttle) rotate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.buckets)
	t.epoch = (t.epoch + 1) % n
	next := &t.buckets[t.epoch]
	next.word.Store(0)
	t.cur.Store(next)
	var req, acc uint64
	for i := 1; i < n; i++ {
		w := t.buckets[(t.epoch+n-i)%n].word.Load()
		req += w >> 32
		acc += w & lowMask
	}
	t.prevReq.Store(req)
	t.prevAcc.Store(acc)
	if req != 0 {
		t.timer.Reset(t.width)
		return
	}
	t.armed.Store(false)
	if next.word.Load() != 0 {
		t.arm()
	}
}

// counts returns the requests and accepts in the window.
func (t *Throttle) counts() (req, acc uint64) {
	w := t.cur.Load().word.Load()
	return t.prevReq.Load() + w>>32, t.prevAcc.Load() + w&lowMask
}

// probability returns the rejection probability now.
func (t *Throttle) probability() float64 {
	req, acc := t.counts()
	return rejection(req, acc, t.cfg.K, t.cfg.MaxRejectionRate)
}

// rejection is the formula: max(0, (req − K·acc) / (req + 1)), capped.
func rejection(req, acc uint64, k, ceiling float64) float64 {
	r, a := float64(req), k*float64(acc)
	if r <= a { // the common case, without a division
		return 0
	}
	return min((r-a)/(r+1), ceiling)
}

// draw returns a number uniform in [0, 1).
func (t *Throttle) draw() float64 {
	if s := t.cfg.Seed; s != 0 {
		return float64(mix(s+t.draws.Add(1)*golden)>>11) * 0x1p-53
	}
	return rand.Float64()
}

const golden = 0x9e3779b97f4a7c15 // 2^64/φ, the SplitMix64 increment

// mix is the SplitMix64 finalizer.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Permit is the admission of one request, returned by Allow. Report the
// request's outcome with Done, once. A Permit holds nothing: one that is
// never reported (a request given up before it reached the backend) counts
// as nothing, like an ignored outcome. The zero Permit's Done does nothing.
type Permit struct{ t *Throttle }

// Allow asks to send one request. It returns a Permit, or an error
// matching ErrThrottled that tells the current rejection probability (see
// ErrThrottled); a rejected
// request counts as a request (not an accept), so a client that keeps
// asking keeps the probability up until the backend accepts again. Allow
// allocates nothing, takes no lock and reads no clock; it draws a random
// number only when the probability is above zero.
func (t *Throttle) Allow() (Permit, error) {
	if p := t.probability(); p > 0 && t.draw() < p {
		t.record(request)
		t.rejected.Add(1)
		if t.cfg.OnReject != nil {
			t.cfg.OnReject(t.err)
		}
		if len(t.cfg.Observers) != 0 {
			notify(t.cfg.Observers, Event{Kind: EventReject, Err: t.err, Probability: p})
		}
		return Permit{}, t.err
	}
	return Permit{t}, nil
}

// Done reports the outcome of the request admitted by p. A nil error is an
// accept; a non-nil one is ignored if Config.IsIgnored says so (it counts
// as nothing), an accept if Config.IsAccepted says so, and otherwise a
// request the backend did not accept. It allocates nothing.
func (p Permit) Done(err error) {
	t := p.t
	switch {
	case t == nil:
	case err == nil:
		t.record(request | accept)
	case t.cfg.IsIgnored(err):
	case t.cfg.IsAccepted(err):
		t.record(request | accept)
	default:
		t.record(request)
	}
}

// Stats is a snapshot of a Throttle.
type Stats struct {
	// Requests and Accepts are the counts in the window now: requests
	// made (rejected ones included) and requests the backend accepted.
	Requests, Accepts uint64

	// RejectionProbability is the chance that Allow rejects a request now:
	// max(0, (Requests − K·Accepts) / (Requests + 1)), capped at
	// MaxRejectionRate.
	RejectionProbability float64

	// Rejected counts the requests rejected since New.
	Rejected uint64
}

// Stats returns a snapshot of the throttle.
func (t *Throttle) Stats() Stats {
	req, acc := t.counts()
	return Stats{
		Requests:             req,
		Accepts:              acc,
		RejectionProbability: rejection(req, acc, t.cfg.K, t.cfg.MaxRejectionRate),
		Rejected:             t.rejected.Load(),
	}
}

// Do runs fn through t: it returns an error matching ErrThrottled without calling fn when t rejects the request, and otherwise fn's result,
// after reporting fn's error to t. If ctx has already ended, Do returns
// ctx.Err() at once and t counts nothing. A panic in fn counts as nothing
// (it says nothing of the backend) and keeps unwinding.
func Do[T any](ctx context.Context, t *Throttle, fn func(context.Context) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	p, err := t.Allow()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn(ctx)
	p.Done(err)
	return v, err
}

// Do is the non-generic form of the package-level Do.
func (t *Throttle) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := t.Allow()
	if err != nil {
		return err
	}
	err = fn(ctx)
	p.Done(err)
	return err
}
