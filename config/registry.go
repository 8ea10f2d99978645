package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/middleware"
)

// Registry serves the current *middleware.Recovery of every tool of a
// config, and replaces them all at once, atomically, when the config
// changes (Update, Reload, or polling with WatchFile).
//
// A reload keeps the state of what did not change: a tool whose breaker
// settings are the same keeps the same *breaker.Breaker (open stays open),
// and likewise its bulkhead, error tracker, retry budget, adaptive limiter,
// throttle, rate-limit group and hedge policy; a tool whose
// settings are all the same keeps the same *middleware.Recovery. Calls in
// flight finish on the Recovery they started with.
//
// A Registry is safe for concurrent use. Recovery takes no lock and
// allocates nothing.
type Registry struct {
	opts Options
	path string // the file, for Reload; "" if made by NewRegistry

	cur atomic.Pointer[snapshot]

	mu   sync.Mutex // serializes Update and Reload; guards last
	last []byte     // the file as last loaded

	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the poller has returned
	closeOnce sync.Once
}

// snapshot is one config and the tools built from it. It is never
// modified once published.
type snapshot struct {
	cfg   *Config
	tools map[string]*entry // by name; "" is the global settings
}

type entry struct {
	settings Settings
	parts    parts
	rec      *middleware.Recovery
}

// NewRegistry returns a Registry serving c, which must be valid (see
// Validate).
func NewRegistry(c *Config, opts Options) (*Registry, error) {
	r := &Registry{opts: opts}
	if err := r.Update(c); err != nil {
		return nil, err
	}
	return r, nil
}

// WatchFile loads the config file at path into a new Registry. If every
// is positive, the file is read again every so often and, when its
// contents changed, loaded as by Reload; Close stops that. A failed
// reload keeps the config in use and is reported to Options.OnReload.
func WatchFile(path string, every time.Duration, opts Options) (*Registry, error) {
	r := &Registry{opts: opts, path: path}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	if every > 0 {
		r.stop = make(chan struct{})
		r.done = make(chan struct{})
		go r.poll(every)
	}
	return r, nil
}

// ErrNoFile is returned by Reload on a Registry not made by WatchFile.
var ErrNoFile = errors.New("config: registry has no file to reload")

// Reload reads the file again and, if it loads and validates, serves it;
// otherwise the current config stays and the error says why.
func (r *Registry) Reload() error {
	if r.path == "" {
		return ErrNoFile
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload(false)
}

// reload loads the file, unless unchanged is set and its contents are
// those last loaded. r.mu must be held.
func (r *Registry) reload(unchanged bool) error {
	data, err := readFile(r.path)
	if err != nil {
		return err
	}
	if unchanged && bytes.Equal(data, r.last) {
		return errUnchanged
	}
	c, err := parse(data, r.path)
	if err != nil {
		return err
	}
	r.update(c)
	r.last = data
	return nil
}

var errUnchanged = errors.New("unchanged")

func (r *Registry) poll(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		err := r.reload(true)
		r.mu.Unlock()
		if err == errUnchanged {
			continue
		}
		if f := r.opts.OnReload; f != nil {
			f(err)
		}
	}
}

// Update serves c from now on, after validating it; on error nothing
// changes. On a Registry made by WatchFile, the next change of the file
// replaces c in turn.
func (r *Registry) Update(c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.update(c)
	return nil
}

// update builds and publishes the tools of a valid c. r.mu must be held.
func (r *Registry) update(c *Config) {
	old := r.cur.Load()
	next := &snapshot{cfg: c, tools: make(map[string]*entry, len(c.Tools)+1)}
	names := []string{""}
	for _, t := range c.Tools {
		names = append(names, t.Name)
	}
	for _, name := range names {
		s, _ := c.Settings(name)
		var prev *entry
		if old != nil {
			prev = old.tools[name]
		}
		next.tools[name] = r.build(name, s, prev)
	}
	r.cur.Store(next)
}

// build returns the entry of a tool, reusing what prev has with the same
// settings.
func (r *Registry) build(name string, s Settings, prev *entry) *entry {
	if prev != nil && reflect.DeepEqual(prev.settings, s) {
		return prev
	}
	var p parts
	if prev != nil {
		p = prev.parts.unchanged(prev.settings, s)
	}
	fresh := newParts(name, s, r.opts, p)
	return &entry{settings: s, parts: fresh, rec: fresh.recovery(s, r.opts.hooks(name))}
}

// unchanged returns the parts, made for the settings old, whose settings
// are the same in s; the others are nil.
func (p parts) unchanged(old, s Settings) parts {
	if !reflect.DeepEqual(old.Breaker, s.Breaker) || old.PerHost != s.PerHost {
		p.breaker, p.host = nil, nil
	}
	p.bulkhead = keepIfSame(p.bulkhead, old.Bulkhead, s.Bulkhead)
	p.tracker = keepIfSame(p.tracker, old.ErrorTracking, s.ErrorTracking)
	p.budget = keepIfSame(p.budget, old.RetryBudget, s.RetryBudget)
	p.limiter = keepIfSame(p.limiter, old.Limit, s.Limit)
	p.throttle = keepIfSame(p.throttle, old.Throttle, s.Throttle)
	p.rate = keepIfSame(p.rate, old.RateLimit, s.RateLimit)
	if !reflect.DeepEqual(old.Hedge, s.Hedge) || old.HedgeBudget != s.HedgeBudget || s.HedgeBudget && p.budget == nil {
		p.hedge = nil // a hedge that spends the retry budget follows it
	}
	return p
}

// keepIfSame returns part if its settings did not change from old to now,
// else nil.
func keepIfSame[P, C any](part *P, old, now *C) *P {
	if !reflect.DeepEqual(old, now) {
		return nil
	}
	return part
}

// Recovery returns the current Recovery of the named tool ("" for the
// global settings), or nil if the config has no such tool. Hold on to it
// for the length of one call, and ask again for the next: that is how
// calls pick up a reload.
func (r *Registry) Recovery(name string) *middleware.Recovery {
	if e := r.cur.Load().tools[name]; e != nil {
		return e.rec
	}
	return nil
}

// Config returns the config being served. It must not be modified.
func (r *Registry) Config() *Config { return r.cur.Load().cfg }

// Close stops the polling of WatchFile, if any, and waits for it. The
// Registry keeps serving its last config. Close is idempotent.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		if r.stop != nil {
			close(r.stop)
			<-r.done
		}
	})
	return nil
}

// Do calls fn through the current Recovery of the named tool (see
// middleware.Do). An unknown tool is an error matching ErrUnknownTool, and
// fn is not called.
func Do[T any](ctx context.Context, r *Registry, tool string, fn func(context.Context) (T, error), fallbacks ...fallback.Func[T]) (T, error) {
	rec := r.Recovery(tool)
	if rec == nil {
		var zero T
		return zero, fmt.Errorf("%w %q", ErrUnknownTool, tool)
	}
	return middleware.Do(ctx, rec, fn, fallbacks...)
}

// Transport returns an http.RoundTripper that sends each request through
// the current Recovery of the named tool (see middleware.Recovery.Transport)
// over base (http.DefaultTransport if nil). A request for an unknown tool
// fails with an error matching ErrUnknownTool. The per-host breakers,
// limiters and throttles of the tool's transport are kept for as long as
// its settings do not change.
func (r *Registry) Transport(tool string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{r: r, tool: tool, base: base}
}

type transport struct {
	r     *Registry
	tool  string
	base  http.RoundTripper
	cache atomic.Pointer[cachedTransport]
}

type cachedTransport struct {
	rec *middleware.Recovery
	rt  http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := t.r.Recovery(t.tool)
	if rec == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w %q", ErrUnknownTool, t.tool)
	}
	c := t.cache.Load()
	if c == nil || c.rec != rec {
		c = &cachedTransport{rec: rec, rt: rec.Transport(t.base)}
		t.cache.Store(c)
	}
	return c.rt.RoundTrip(req)
}
