package errtrack

import (
	"fmt"
	"sync"
	"time"
)

// Limits and defaults.
const (
	// DefaultSize is the number of recent errors a Tracker keeps by default.
	DefaultSize = 1000
	// MaxSize bounds Config.Size; larger values are clamped to it.
	MaxSize = 1 << 20
	// MaxClasses bounds the number of distinct classes a Tracker counts,
	// Other included. Once MaxClasses-1 classes are known, errors of any
	// new class are tracked as Other.
	MaxClasses = 64
)

// Config configures a [Tracker]. The zero value is valid: every zero field
// takes its documented default.
type Config struct {
	// Size is how many recent errors the ring buffer keeps. Zero means 1000;
	// values above MaxSize are clamped to MaxSize; negative is invalid. The
	// buffer grows as errors arrive, up to Size.
	Size int

	// Classify assigns each tracked error its class. Nil means the default
	// Classify. An answer of "" means "don't know": the default Classify
	// decides instead, so a classifier need only handle the errors it knows.
	Classify func(error) Class

	// Observers, if any, receive every tracked error with its class (see
	// Observer). Default none.
	Observers []Observer
}

// Validate reports the first invalid field of c, naming it.
func (c Config) Validate() error {
	if c.Size < 0 {
		return fmt.Errorf("errtrack: Size must not be negative, got %d", c.Size)
	}
	return nil
}

// Record is one tracked error.
type Record struct {
	// Time is when the error was tracked, read from the monotonic clock:
	// the wall time of the Tracker's first Track (or Since) plus the time
	// elapsed since, so it does not follow later steps of the wall clock. It is
	// never before the Time of an earlier record: a Track that waited for
	// the lock may get the Time of the record before it.
	Time  time.Time
	Class Class // its class, as Track returned it
	Err   error // the error itself
}

// Stats is a consistent snapshot of a Tracker.
type Stats struct {
	Total    uint64           // errors tracked since creation or Reset
	ByClass  map[Class]uint64 // Total split by class
	Buffered int              // records in the ring buffer now (at most Size)
}

// Tracker counts errors by class and keeps the most recent ones in a ring
// buffer of bounded size.
//
// The zero Tracker is ready to use with the default config. A Tracker is safe
// for concurrent use and must not be copied after first use.
type Tracker struct {
	cfg Config

	epochOnce sync.Once
	epoch     time.Time // of the first Track; entries hold the time since

	mu     sync.Mutex
	ring   []entry       // grows up to size, then wraps
	next   int           // slot of the next record once the ring is full
	newest time.Duration // the time of the newest record, since epoch
	total  uint64
	counts map[Class]*uint64 // pointers: one lookup per Track at most
	last   Class             // the class Track counted last; errors come in runs
	lastN  *uint64           // its counter, or nil
}

// New returns a Tracker with the given config. It panics with the message of
// cfg.Validate if cfg is invalid.
func New(cfg Config) *Tracker {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	return &Tracker{cfg: cfg}
}

// entry is a Record as the ring holds it.
type entry struct {
	at    time.Duration // since epoch
	class Class
	err   error
}

// elapsed returns the time since the epoch, setting the epoch on first use.
// Reading only the monotonic clock costs about half of time.Now.
func (t *Tracker) elapsed() time.Duration {
	t.epochOnce.Do(func() { t.epoch = time.Now() })
	return time.Since(t.epoch)
}

func (t *Tracker) size() int {
	switch {
	case t.cfg.Size <= 0:
		return DefaultSize
	case t.cfg.Size > MaxSize:
		return MaxSize
	}
	return t.cfg.Size
}

// Track classifies err, counts it and records it in the ring buffer, and
// returns the class it was counted under (Other if the class limit was
// reached). A nil err is ignored and Track returns "". Classification and
// the clock read run before the tracker's lock is taken.
func (t *Tracker) Track(err error) Class {
	if err == nil {
		return ""
	}
	class := Class("")
	if t.cfg.Classify != nil {
		class = t.cfg.Classify(err)
	}
	if class == "" {
		class = Classify(err)
	}
	at := t.elapsed()
	if len(t.cfg.Observers) != 0 {
		defer t.observe(err, &class, at) // after the unlock below
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.lastN
	if class != t.last {
		n = t.counts[class]
	}
	if n == nil {
		if len(t.counts) >= MaxClasses-1 && class != Other {
			class = Other
			n = t.counts[Other]
		}
		if n == nil {
			if t.counts == nil {
				t.counts = make(map[Class]*uint64)
			}
			n = new(uint64)
			t.counts[class] = n
		}
	}
	t.last, t.lastN = class, n
	*n++
	t.total++
	// Another Track may have read the clock after this one and taken the
	// lock before it: keep the records in time order.
	t.newest = max(t.newest, at)
	e := entry{at: t.newest, class: class, err: err}
	if size := t.size(); len(t.ring) < size {
		t.ring = append(t.ring, e)
	} else {
		t.ring[t.next] = e
		if t.next++; t.next == size {
			t.next = 0
		}
	}
	return class
}

// Total returns the number of errors tracked since creation or Reset,
// including those no longer in the ring buffer.
func (t *Tracker) Total() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// ByClass returns a copy of the counts by class since creation or Reset.
func (t *Tracker) ByClass() map[Class]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byClass()
}

func (t *Tracker) byClass() map[Class]uint64 {
	m := make(map[Class]uint64, len(t.counts))
	for c, n := range t.counts {
		m[c] = *n
	}
	return m
}

// Stats returns Total, ByClass and the number of buffered records, taken
// together so that they agree with one another.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Total: t.total, ByClass: t.byClass(), Buffered: len(t.ring)}
}

// Recent returns a copy of the records in the ring buffer, oldest first: the
// last Size errors tracked at most.
func (t *Tracker) Recent() []Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Record, 0, len(t.ring))
	for _, part := range [][]entry{t.ring[t.next:], t.ring[:t.next]} {
		for _, e := range part {
			out = append(out, Record{Time: t.epoch.Add(e.at), Class: e.class, Err: e.err})
		}
	}
	return out
}

// Since counts, by class, the buffered errors tracked less than d ago: "the
// errors of the last minute" is Since(time.Minute). It sees only the ring
// buffer, so when more than Size errors happened within d the oldest of them
// are not counted. A d of zero or less gives an empty map.
func (t *Tracker) Since(d time.Duration) map[Class]uint64 {
	m := make(map[Class]uint64)
	if d <= 0 {
		return m
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.elapsed()
	for _, e := range t.ring {
		if now-e.at < d {
			m[e.class]++
		}
	}
	return m
}

// Reset forgets every tracked error: counts, total and ring buffer.
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.ring)
	t.ring = t.ring[:0]
	t.next = 0
	t.total = 0
	clear(t.counts)
	t.last, t.lastN = "", nil
}
