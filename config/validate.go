package config

import (
	"reflect"

	"github.com/seed94f50169/resilience/backoff"
	"strconv"
	"strings"
	"unicode"
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
	for _, b := range blocks {
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
	if len(v.errs) > 0 {
		return v.errs // the rules below would repeat these
	}
	// The rules that tie fields together, on the settings tools get.
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
		p.CircuitBreaker = keep(p.CircuitBreaker, t.CircuitBreaker)
		p.Retry = keep(p.Retry, t.Retry)
		p.Bulkhead = keep(p.Bulkhead, t.Bulkhead)
		p.ErrorTracking = keep(p.ErrorTracking, t.ErrorTracking)
		p.AdaptiveLimit = keep(p.AdaptiveLimit, t.AdaptiveLimit)
		p.Throttle = keep(p.Throttle, t.Throttle)
		p.RateLimit = keep(p.RateLimit, t.RateLimit)
		p.Hedge = keep(p.Hedge, t.Hedge)
		v.packages(path, p, false)
	}
	return v.errs
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
// merged settings, where the other field may come from elsewhere).
func (v *validator) packages(path string, p Policies, single bool) {
	if b := p.CircuitBreaker; b != nil && (single || enabled(b.Enabled)) {
		cfg := b.config()
		v.each(join(path, "circuit_breaker"), breakerKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if r := p.Retry; r != nil && (single || enabled(r.Enabled)) {
		pol := r.policy()
		v.each(join(path, "retry"), retryKeys, single, reflect.ValueOf(&pol).Elem(), func() error { return pol.Validate() })
	}
	if b := p.Bulkhead; b != nil && (single || enabled(b.Enabled)) {
		cfg := b.config()
		v.each(join(path, "bulkhead"), bulkheadKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if e := p.ErrorTracking; e != nil && (single || enabled(e.Enabled)) {
		cfg := e.config()
		v.each(join(path, "error_tracking"), trackerKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if l := p.AdaptiveLimit; l != nil && (single || enabled(l.Enabled)) {
		cfg := l.config()
		v.each(join(path, "adaptive_limit"), limitKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if t := p.Throttle; t != nil && (single || enabled(t.Enabled)) {
		cfg := t.config()
		v.each(join(path, "throttle"), throttleKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if r := p.RateLimit; r != nil && (single || enabled(r.Enabled)) {
		cfg := r.config()
		v.each(join(path, "rate_limit"), rateLimitKeys, single, reflect.ValueOf(&cfg).Elem(), func() error { return cfg.Validate() })
	}
	if h := p.Hedge; h != nil && (single || enabled(h.Enabled)) {
		pol := h.policy()
		v.each(join(path, "hedge"), hedgeKeys, single, reflect.ValueOf(pol).Elem(), func() error { return pol.Validate() })
	}
}

// The Go field names of the package configs and the keys they come from.
var (
	breakerKeys = map[string]string{
		"FailureThreshold": "failure_threshold", "SuccessThreshold": "success_threshold",
		"OpenTimeout": "timeout", "WindowSize": "window_size", "WindowDuration": "window_duration",
		"MinimumCalls": "minimum_calls", "FailureRateThreshold": "failure_rate_threshold",
		"SlowCallDuration": "slow_call_duration", "SlowCallRateThreshold": "slow_call_rate_threshold",
	}
	retryKeys = map[string]string{
		"MaxAttempts": "max_attempts", "MaxRetryAfter": "max_retry_after", "MaxOpenWait": "max_open_wait",
		"Initial": "initial_delay", "Max": "max_delay", "Multiplier": "multiplier", "Jitter": "jitter",
	}
	bulkheadKeys = map[string]string{
		"MaxConcurrent": "max_concurrent", "MaxQueued": "max_queued", "QueueTimeout": "timeout",
	}
	trackerKeys = map[string]string{"Size": "max_errors"}
	limitKeys   = map[string]string{
		"Algorithm": "algorithm", "InitialLimit": "initial_limit", "MinLimit": "min_limit",
		"MaxLimit": "max_limit", "MaxQueued": "max_queued", "MaxWait": "max_wait",
		"Tolerance": "tolerance", "Smoothing": "smoothing", "Window": "window",
		"WindowSamples": "window_samples", "LongWindow": "long_window",
		"ProbeInterval": "probe_interval", "ProbeLimit": "probe_limit",
		"Alpha": "alpha", "Beta": "beta", "Backoff": "backoff",
	}
	throttleKeys = map[string]string{
		"K": "k", "Window": "window", "Buckets": "buckets", "MaxRejectionRate": "max_rejection_rate",
	}
	rateLimitKeys = map[string]string{
		"Rate": "rate", "Burst": "burst", "MaxWait": "max_wait", "MaxKeys": "max_keys",
	}
	hedgeKeys = map[string]string{
		"Delay": "delay", "Quantile": "quantile", "MinDelay": "min_delay", "MaxDelay": "max_delay",
		"Window": "window", "MaxHedges": "max_hedges",
	}
)

// each runs validate, reports its error under path with field names
// translated by keys, clears the field it blamed, and runs it again, until
// it passes or blames no single field it can clear: so every broken field
// is reported, not only the first.
func (v *validator) each(path string, keys map[string]string, single bool, cfg reflect.Value, validate func() error) {
	for range len(keys) + 1 {
		err := validate()
		if err == nil {
			return
		}
		goName, key, msg := translate(err.Error(), keys)
		oneField := key != "" && !mentionsOther(msg, keys, key)
		if !oneField {
			// A rule tying fields together: the packages check those after
			// the rules about one field, so none of those is left, and
			// clearing a field would only bring its default into question.
			if key != "" && strings.HasPrefix(msg, "must") {
				msg = key + " " + msg
			}
			if !single {
				v.fail(path, msg)
			}
			return
		}
		v.fail(join(path, key), strings.TrimPrefix(msg, key+" "))
		f := fieldByName(cfg, goName)
		if !f.IsValid() || f.IsZero() {
			return
		}
		f.SetZero()
	}
}

// mentionsOther reports whether msg names a key of keys other than key:
// then its rule ties fields together.
func mentionsOther(msg string, keys map[string]string, key string) bool {
	words := strings.FieldsFunc(msg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	for _, w := range words {
		for _, k := range keys {
			if w == k && k != key {
				return true
			}
		}
	}
	return false
}

// fieldByName finds a field of cfg or of its Backoff or Config (the
// nested configs of retry.Policy and ratelimit.GroupConfig).
func fieldByName(cfg reflect.Value, name string) reflect.Value {
	if name == "" {
		return reflect.Value{}
	}
	if f := cfg.FieldByName(name); f.IsValid() {
		return f
	}
	for _, inner := range []string{"Backoff", "Config"} {
		if b := cfg.FieldByName(inner); b.IsValid() && b.Kind() == reflect.Struct {
			if f := b.FieldByName(name); f.IsValid() {
				return f
			}
		}
	}
	return reflect.Value{}
}

// translate turns a package's message, such as "retry: Backoff: backoff:
// Initial must not be negative, got -1s", into the key blamed and the rule
// ("initial_delay", "must not be negative, got -1s"), with every other
// field name in it replaced by its key. goName is the field blamed. If the
// message does not start with a field name, key is "" and msg is the whole
// message, translated.
func translate(text string, keys map[string]string) (goName, key, msg string) {
	for {
		head, rest, ok := strings.Cut(text, ": ")
		if !ok || strings.ContainsAny(head, " ") {
			break
		}
		text = rest // a "pkg:" or "Field:" prefix
	}
	var b strings.Builder
	first := true
	for len(text) > 0 {
		i := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsLetter(r) })
		if i < 0 {
			i = len(text)
		}
		word := text[:i]
		if k, ok := keys[word]; ok {
			if first && b.Len() == 0 {
				goName, key = word, k
				text = strings.TrimPrefix(text[i:], " ")
				first = false
				continue
			}
			word = k
		}
		first = false
		b.WriteString(word)
		if i < len(text) {
			b.WriteByte(text[i])
			i++
		}
		text = text[i:]
	}
	msg = b.String()
	if key != "" && !strings.HasPrefix(msg, "must") {
		msg = key + " " + msg
	}
	return goName, key, msg
}
