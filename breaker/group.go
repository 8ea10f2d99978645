package breaker

import (
	"iter"
	"sync"
)

// DefaultMaxKeys is how many breakers a Group holds at most when
// GroupConfig.MaxKeys is zero.
const DefaultMaxKeys = 1024

// GroupConfig configures a Group.
type GroupConfig struct {
	// Config is the configuration of every breaker of the group. Its
	// OnStateChange, if set, is shared by all of them, and so are its
	// Observers, which see each breaker's events with Event.Key set.
	Config Config

	// MaxKeys bounds the number of breakers, so that keys taken from
	// requests (hosts, paths) cannot grow the group without limit: once it
	// holds MaxKeys breakers, Get returns nil for a new key. Default
	// DefaultMaxKeys (1024); negative means no bound.
	MaxKeys int

	// OnStateChange, if set, is called with the key of the breaker that
	// changed state, after Config.OnStateChange, outside every lock.
	OnStateChange func(key string, from, to State)
}

// Group holds one Breaker per key (per host, per endpoint), each created
// lazily from the same Config on first use. It is safe for concurrent use.
// Keys are never evicted on their own; see Delete.
type Group struct {
	cfg GroupConfig
	m   sync.Map   // string -> *Breaker
	mu  sync.Mutex // serializes creation and deletion; guards n
	n   int
}

// NewGroup returns an empty Group. Like New, it panics with the message of
// cfg.Config.Validate() if the breaker configuration is invalid.
func NewGroup(cfg GroupConfig) *Group {
	if err := cfg.Config.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	return &Group{cfg: cfg}
}

// Get returns the breaker for key, creating it if needed, or nil if key is
// new and the group already holds MaxKeys breakers. Once a key's breaker
// exists, Get takes no lock and allocates nothing.
func (g *Group) Get(key string) *Breaker {
	if b, ok := g.m.Load(key); ok {
		return b.(*Breaker)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.m.Load(key); ok {
		return b.(*Breaker)
	}
	if g.cfg.MaxKeys > 0 && g.n >= g.cfg.MaxKeys {
		return nil
	}
	cfg := g.cfg.Config
	if hook := g.cfg.OnStateChange; hook != nil {
		own := cfg.OnStateChange
		cfg.OnStateChange = func(from, to State) {
			if own != nil {
				own(from, to)
			}
			hook(key, from, to)
		}
	}
	cfg.Observers = keyed(key, cfg.Observers)
	b := New(cfg)
	g.m.Store(key, b)
	g.n++
	return b
}

// Delete forgets the breaker for key, freeing its place; the next Get
// creates a fresh one.
func (g *Group) Delete(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.m.LoadAndDelete(key); ok {
		g.n--
	}
}

// Len returns the number of breakers in the group.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// All iterates over the keys and breakers of the group, in no order.
func (g *Group) All() iter.Seq2[string, *Breaker] {
	return func(yield func(string, *Breaker) bool) {
		g.m.Range(func(k, v any) bool { return yield(k.(string), v.(*Breaker)) })
	}
}
