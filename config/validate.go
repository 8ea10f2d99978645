package config

import (
	"reflect"

	"github.com/seed94f50169/resilience/backoff"
	"strconv"
	"strings"
)

// Validate reports every problem of c, each naming its key path, as an
// Errors; nil if c is valid. Load and LoadFile call it; a Config made in
// code or decoded from JSON should be checked with it before Build (which
// also does). A zero field is unset, and valid.
func (c *Config) Validate() error {
	if errs := c.validate(nil, "", nil); len(errs) > 0 {
		return errs
	}
	return nil
}

// validator collects problems; lines maps key paths to their lines.
type validator struct {
	file  string
	lines map[string]int
	errs  Errors
	seen  map[string]bool // messages reported, to report each once
	bad   map[string]bool // paths that failed to decode
}

func (v *validator) fail(path, msg string) {
	if v.seen[path+": "+msg] {
		return
	}
	for p := path; p != ""; p = parent(p) {
		if v.bad[p] {
			return // its value is not what was written; say nothing more
		}
	}
	v.seen[path+": "+msg] = true
	line := 0
	for p := path; p != "" && line == 0; p = parent(p) {
		line = v.lines[p]
	}
	v.errs = append(v.errs, &FieldError{File: v.file, Line: line, Path: path, Msg: msg})
}

// newValidator returns a validator that adds to the errors bad (those of
// decoding), saying nothing about the paths they name.
func newValidator(lines map[string]int, file string, bad Errors) *validator {
	v := &validator{file: file, lines: lines, errs: bad, seen: map[string]bool{}, bad: map[string]bool{}}
	for _, e := range bad {
		v.bad[e.Path] = true
	}
	return v
}

// parent returns the path one key up: "tools[1].retry" for
// "tools[1].retry.max_attempts", "tools" for "tools[1]".
func parent(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// block is one place that holds Policies.
type block struct {
	path string
	p    Policies
}

func (c *Config) validate(lines map[string]int, file string, bad Errors) Errors {
	v := newValidator(lines, file, bad)
	for _, b := range v.blocks(c) {
		v.block(b)
	}
	if len(v.errs) > 0 {
		return v.errs // the rules below would repeat these
	}
	v.merged(c)
	return v.errs
}

// blocks checks what the blocks of c other than their Policies say (a
// middleware's type, a tool's name and steps), and returns them.
func (v *validator) blocks(c *Config) []block {
	blocks := []block{{"fault_tolerance", c.FaultTolerance}}
	for i, m := range c.Middleware {
		path := "middleware[" + strconv.Itoa(i) + "]"
		if m.Type != "recovery" {
			v.fail(path+".type", `only type "recovery" is known, got "`+m.Type+`"`)
		}
		blocks = append(blocks, block{path, m.Policies})
	}
	names := map[string]int{}
	for i, t := range c.Tools {
		path := "tools[" + strconv.Itoa(i) + "]"
		switch first, dup := names[t.Name]; {
		case t.Name == "":
			v.fail(path+".name", "required")
		case dup:
			v.fail(path+".name", "repeated: "+strconv.Quote(t.Name)+" is tools["+strconv.Itoa(first)+"] already")
		default:
			names[t.Name] = i
		}
		v.checkTags(reflect.ValueOf(t.Steps), path+".steps")
		blocks = append(blocks, block{path, t.Policies})
	}
	return blocks
}

// block checks the rules about one key of a block's Policies.
func (v *validator) block(b block) {
	v.checkTags(reflect.ValueOf(b.p), b.path)
	if r := b.p.Retry; r != nil && r.Jitter != "" && r.Jitter.Mode() == backoff.FullJitter && r.Jitter != JitterFull {
		v.fail(b.path+".retry.jitter", `want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"; got `+strconv.Quote(string(r.Jitter)))
	}
	if e := b.p.ErrorTracking; e != nil && e.ClassifyBy != "" && e.ClassifyBy != "type" {
		v.fail(b.path+".error_tracking.classify_by", `only "type" is known, got `+strconv.Quote(e.ClassifyBy))
	}
	if l := b.p.AdaptiveLimit; l != nil && l.Algorithm != "" {
		if _, ok := limitAlgorithms[l.Algorithm]; !ok {
			v.fail(b.path+".adaptive_limit.algorithm", `want "gradient2", "vegas" or "aimd", got `+strconv.Quote(l.Algorithm))
			v.bad[b.path+".adaptive_limit.algorithm"] = true
		}
	}
	v.packages(b.path, b.p, true)
}

// merged checks the rules that tie fields together, on the settings tools
// get.
func (v *validator) merged(c *Config) {
	global, _ := c.Policies("")
	v.packages("fault_tolerance", global, false)
	v.hedgeBudget("fault_tolerance", global)
	for i, t := range c.Tools {
		path := "tools[" + strconv.Itoa(i) + "]"
		p, _ := c.Policies(t.Name)
		if t.Hedge != nil || t.Retry != nil {
			v.hedgeBudget(path, p)
		}
		// Sections the tool does not set are the global ones, checked above.
		v.packages(path, p.ownSections(t.Policies), false)
	}
}

// ownSections returns p with only the sections that own sets.
func (p Policies) ownSections(own Policies) Policies {
	p.CircuitBreaker = keep(p.CircuitBreaker, own.CircuitBreaker)
	p.Retry = keep(p.Retry, own.Retry)
	p.Bulkhead = keep(p.Bulkhead, own.Bulkhead)
	p.ErrorTracking = keep(p.ErrorTracking, own.ErrorTracking)
	p.AdaptiveLimit = keep(p.AdaptiveLimit, own.AdaptiveLimit)
	p.Throttle = keep(p.Throttle, own.Throttle)
	p.RateLimit = keep(p.RateLimit, own.RateLimit)
	p.Hedge = keep(p.Hedge, own.Hedge)
	return p
}

// hedgeBudget checks that merged settings whose hedges spend the retry
// budget have one.
func (v *validator) hedgeBudget(path string, p Policies) {
	h := p.Hedge
	if h == nil || !enabled(h.Enabled) || h.RetryBudget == nil || !*h.RetryBudget {
		return
	}
	if r := p.Retry; r == nil || !enabled(r.Enabled) || r.Budget == nil {
		v.fail(join(path, "hedge.retry_budget"), "needs retry.budget, and the retry it belongs to enabled")
	}
}

// keep returns merged if own is set, else nil.
func keep[T any](merged, own *T) *T {
	if own == nil {
		return nil
	}
	return merged
}

// checkTags applies the check rules to every set field under x.
func (v *validator) checkTags(x reflect.Value, path string) {
	switch x.Kind() {
	case reflect.Pointer:
		if !x.IsNil() {
			v.checkTags(x.Elem(), path)
		}
	case reflect.Slice:
		for i := range x.Len() {
			v.checkTags(x.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Struct:
		t := x.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			f := x.Field(i)
			key, opt, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			switch {
			case opt == "inline":
				v.checkTags(f, path)
			case key == "" || key == "-" || f.IsZero():
			case sf.Tag.Get("check") != "":
				if msg := check(sf.Tag.Get("check"), f); msg != "" {
					v.fail(join(path, key), msg)
					v.bad[join(path, key)] = true
				}
			default:
				v.checkTags(f, join(path, key))
			}
		}
	}
}

// packages validates the sections of p with each package's own Validate,
// translating its field names into keys. With single, it reports only the
// rules about one field (the rules tying fields together are checked on
// merged settings, where the other field may come from elsewhere), and
// checks disabled sections too.
func (v *validator) packages(path string, p Policies, single bool) {
	for _, c := range p.packageChecks() {
		if single || enabled(c.enabled) {
			v.each(join(path, c.key), c.keys, single, c.cfg, c.validate)
		}
	}
}
