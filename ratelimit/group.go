package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// DefaultMaxKeys is how many keys a Group tracks at most when
// GroupConfig.MaxKeys is zero. It bounds per-client keys (addresses, API
// keys), which a busy server sees by the thousand, so it is larger than
// the 1024 that breaker.Group and the fallback cache keep per name: those
// bound the names of dependencies, not of clients.
const DefaultMaxKeys = 10_000

// GroupConfig configures a Group.
type GroupConfig struct {
	// Config is the configuration of every key's limiter. Its OnReject, if
	// set, is shared by all of them.
	Config Config

	// MaxKeys bounds the number of keys tracked, so that keys taken from
	// requests (client addresses, API keys) cannot grow the group without
	// limit: a new key beyond the bound evicts the least recently used one,
	// which starts again with a full bucket if it comes back. Choose it
	// above the number of clients active within a refill of the bucket.
	// Default DefaultMaxKeys (10000). In [0, 1<<24].
	MaxKeys int
}

// Group holds one Limiter per key (per client, per host), each created on
// the key's first use with a full bucket. It is safe for concurrent use:
// one mutex guards the key table and its recency order, held for a map
// lookup and a few pointer moves per call.
type Group struct {
	cfg      GroupConfig
	rejected atomic.Uint64

	mu         sync.Mutex // guards the fields below
	keys       map[string]*entry
	head, tail *entry // most and least recently used
	evicted    uint64
}

type entry struct {
	key        string
	lim        Limiter
	prev, next *entry // towards head, towards tail
}

const maxKeys = 1 << 24

// Validate reports the first invalid field of c, in an error whose message
// names it ("ratelimit: MaxKeys ...", or "ratelimit: Config.Rate ..." for
// a field of Config).
func (c GroupConfig) Validate() error {
	if err := c.Config.validate("Config."); err != nil {
		return err
	}
	if c.MaxKeys < 0 || c.MaxKeys > maxKeys {
		return fmt.Errorf("ratelimit: MaxKeys must be in [0, %d], got %d", maxKeys, c.MaxKeys)
	}
	return nil
}

// NewGroup returns an empty Group. It panics with the message of
// cfg.Validate() if cfg is invalid.
func NewGroup(cfg GroupConfig) *Group {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	return &Group{cfg: cfg, keys: make(map[string]*entry)}
}

// Get returns key's limiter, creating it (and evicting the least recently
// used key if the group is full) if needed, and marks key as the most
// recently used. For a known key it allocates nothing.
func (g *Group) Get(key string) *Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.keys[key]
	if e == nil {
		e = g.add(key)
	} else if e != g.head {
		g.unlink(e)
		g.push(e)
	}
	return &e.lim
}

// add creates key's entry at the head. g.mu held.
func (g *Group) add(key string) *entry {
	if len(g.keys) >= g.cfg.MaxKeys {
		old := g.tail
		g.unlink(old)
		delete(g.keys, old.key)
		g.evicted++
	}
	e := &entry{key: key}
	e.lim.init(g.cfg.Config)
	e.lim.group = &g.rejected
	g.keys[key] = e
	g.push(e)
	return e
}

func (g *Group) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		g.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		g.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (g *Group) push(e *entry) {
	e.next = g.head
	if g.head != nil {
		g.head.prev = e
	}
	g.head = e
	if g.tail == nil {
		g.tail = e
	}
}

// Allow is Get(key).Allow().
func (g *Group) Allow(key string) error { return g.Get(key).Allow() }

// Wait is Get(key).Wait(ctx).
func (g *Group) Wait(ctx context.Context, key string) error { return g.Get(key).Wait(ctx) }

// Delete forgets key; its next use starts with a full bucket.
func (g *Group) Delete(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.keys[key]; e != nil {
		g.unlink(e)
		delete(g.keys, key)
	}
}

// GroupStats is a snapshot of a Group.
type GroupStats struct {
	Keys     int    // keys tracked now
	Evicted  uint64 // keys evicted to make room since NewGroup
	Rejected uint64 // events refused since NewGroup, over every key, evicted ones included
}

// Stats returns a snapshot of the group.
func (g *Group) Stats() GroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GroupStats{Keys: len(g.keys), Evicted: g.evicted, Rejected: g.rejected.Load()}
}
