package breaker

import (
	"iter"
	"sync"
)

// Group holds one Breaker per key (per host, per endpoint), each created
// lazily from the same Config on first use. It is safe for concurrent use.
// The hooks of the Config are shared by every breaker of the group.
// Keys are never evicted on their own; see Delete.
type Group struct {
	cfg Config
	m   sync.Map // string -> *Breaker
}

// NewGroup returns an empty Group. Like New, it panics with the message of
// cfg.Validate() if cfg is invalid.
func NewGroup(cfg Config) *Group {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	return &Group{cfg: cfg}
}

// Get returns the breaker for key, creating it if needed. Once created, Get
// takes no lock and allocates nothing.
func (g *Group) Get(key string) *Breaker {
	if b, ok := g.m.Load(key); ok {
		return b.(*Breaker)
	}
	b, _ := g.m.LoadOrStore(key, New(g.cfg))
	return b.(*Breaker)
}

// Delete forgets the breaker for key; the next Get creates a fresh one.
func (g *Group) Delete(key string) { g.m.Delete(key) }

// All iterates over the keys and breakers of the group, in no order.
func (g *Group) All() iter.Seq2[string, *Breaker] {
	return func(yield func(string, *Breaker) bool) {
		g.m.Range(func(k, v any) bool { return yield(k.(string), v.(*Breaker)) })
	}
}
