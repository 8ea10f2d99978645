package fallback

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Defaults of [CacheConfig].
const (
	DefaultMaxAge  = 5 * time.Minute
	DefaultMaxKeys = 1000
)

// CacheConfig configures a [Cache]. The zero value is valid: every zero
// field takes its documented default.
type CacheConfig struct {
	// MaxAge is how old a stored value may be and still stand in for a
	// failure: it is served only while its age is below MaxAge. Zero means
	// 5 minutes; negative is invalid.
	MaxAge time.Duration

	// MaxKeys bounds the number of keys kept. Storing a new key beyond it
	// evicts the least recently stored or served one. Zero means 1000;
	// negative is invalid.
	MaxKeys int

	// OnStale, if not nil, is called each time a stored value is served in
	// place of a failure, after the cache's lock is released and before the
	// value is returned. Nil means no hook.
	OnStale func(Stale)
}

// Validate reports the first invalid field of c, naming it.
func (c CacheConfig) Validate() error {
	switch {
	case c.MaxAge < 0:
		return fmt.Errorf("fallback: MaxAge must not be negative, got %v", c.MaxAge)
	case c.MaxKeys < 0:
		return fmt.Errorf("fallback: MaxKeys must not be negative, got %d", c.MaxKeys)
	}
	return nil
}

// Stale describes a stored value served in place of a failure.
type Stale struct {
	Key string        // the key the value was stored under
	Age time.Duration // how long ago the value was stored
	Err error         // the failure the value stood in for; never nil under Do
}

// CacheStats is a snapshot of a [Cache]'s counters.
type CacheStats struct {
	Keys   int    // keys held now
	Stored uint64 // values stored since creation or the zero value
	Served uint64 // stored values served in place of a failure
	Missed uint64 // fallbacks that found no value young enough
}

// Cache is a last-known-good store: it keeps the most recent successful value
// per key and serves it, while younger than MaxAge, when a later call fails.
// Use the key "" when there is a single value.
//
// Values are stored as given: a T holding pointers, slices or maps shares
// them with every later reader.
//
// The zero Cache is ready to use with the default config. A Cache is safe for
// concurrent use and must not be copied after first use.
type Cache[T any] struct {
	cfg CacheConfig

	mu      sync.Mutex
	entries map[string]*entry[T]
	head    *entry[T] // most recently used
	tail    *entry[T] // least recently used, evicted first
	stats   CacheStats
}

type entry[T any] struct {
	key        string
	val        T
	at         time.Time
	prev, next *entry[T]
}

// NewCache returns a Cache with the given config. It panics with the message
// of cfg.Validate if cfg is invalid.
func NewCache[T any](cfg CacheConfig) *Cache[T] {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	return &Cache[T]{cfg: cfg}
}

// Put stores v as the latest good value for key.
func (c *Cache[T]) Put(key string, v T) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Stored++
	if e, ok := c.entries[key]; ok {
		e.val, e.at = v, now
		c.touch(e)
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]*entry[T])
	}
	limit := c.cfg.MaxKeys
	if limit == 0 {
		limit = DefaultMaxKeys
	}
	if len(c.entries) >= limit {
		c.remove(c.tail)
	}
	e := &entry[T]{key: key, val: v, at: now}
	c.entries[key] = e
	c.pushFront(e)
}

// Delete forgets the value stored for key, so it is never served again.
func (c *Cache[T]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
}

// Record returns fn wrapped so that each success is stored under key before
// it is returned.
func (c *Cache[T]) Record(key string, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		v, err := fn(ctx)
		if err == nil {
			c.Put(key, v)
		}
		return v, err
	}
}

// Fallback returns a fallback that serves the value stored under key if it
// is younger than MaxAge, calling OnStale. Otherwise it passes the error it
// received on, so the next fallback runs.
func (c *Cache[T]) Fallback(key string) Func[T] {
	return c.FallbackInto(key, nil)
}

// FallbackInto is [Cache.Fallback] that also reports to the caller: when it
// serves a stored value it sets *stale (if stale is not nil), so the caller
// can tell a fresh result from a stale one after [Do] returns. It never
// clears *stale: use a zero Stale for each call. Example:
//
//	var stale fallback.Stale
//	user, err := fallback.Do(ctx, fetch, users.FallbackInto(id, &stale))
//	if err == nil && stale.Err != nil {
//		// user is up to stale.Age old; stale.Err says why.
//	}
func (c *Cache[T]) FallbackInto(key string, stale *Stale) Func[T] {
	return func(_ context.Context, err error) (T, error) {
		v, age, ok := c.serve(key)
		if !ok {
			return v, err
		}
		s := Stale{Key: key, Age: age, Err: err}
		if stale != nil {
			*stale = s
		}
		if c.cfg.OnStale != nil {
			c.cfg.OnStale(s)
		}
		return v, nil
	}
}

// serve returns the value stored for key and its age if it is young enough.
func (c *Cache[T]) serve(key string) (v T, age time.Duration, ok bool) {
	maxAge := c.cfg.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[key]
	if found {
		age = time.Since(e.at)
	}
	if !found || age >= maxAge {
		c.stats.Missed++
		return v, 0, false
	}
	c.stats.Served++
	c.touch(e)
	return e.val, age, true
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache[T]) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Keys = len(c.entries)
	return s
}

// The helpers below keep the recency list; they require c.mu to be held.

func (c *Cache[T]) pushFront(e *entry[T]) {
	e.prev, e.next = nil, c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *Cache[T]) unlink(e *entry[T]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *Cache[T]) touch(e *entry[T]) {
	if c.head != e {
		c.unlink(e)
		c.pushFront(e)
	}
}

func (c *Cache[T]) remove(e *entry[T]) {
	c.unlink(e)
	delete(c.entries, e.key)
}
