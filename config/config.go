package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSize bounds the size of a config that Load reads.
const MaxSize = 4 << 20

// Config is a pforge configuration file (forge.yaml): global fault-tolerance
// settings, recovery middleware, and tools that override them. Load returns
// one that is valid; a Config must not be modified once Build or a Registry
// uses it.
type Config struct {
	// Forge names the server. Informational.
	Forge Forge `yaml:"forge,omitempty" json:"forge,omitempty"`

	// FaultTolerance holds the settings every tool starts from.
	FaultTolerance Policies `yaml:"fault_tolerance,omitempty" json:"fault_tolerance,omitempty"`

	// Middleware lists middleware applied to every tool; entries of type
	// recovery are merged, in order, over FaultTolerance.
	Middleware []Middleware `yaml:"middleware,omitempty" json:"middleware,omitempty"`

	// Tools are the named tools; each one's settings override the global
	// ones field by field.
	Tools []Tool `yaml:"tools,omitempty" json:"tools,omitempty"`
}

// Forge is the forge block.
type Forge struct {
	Name    string `yaml:"name,omitempty" json:"name,omitempty"`       // the server's name
	Version string `yaml:"version,omitempty" json:"version,omitempty"` // its version
}

// Policies are the fault-tolerance settings that the global block, each
// recovery middleware and each tool may hold. A nil section is not set: it
// is inherited (from the global settings, for a tool) or, if set nowhere,
// not used.
type Policies struct {
	// CircuitBreaker is the circuit_breaker section.
	CircuitBreaker *Breaker `yaml:"circuit_breaker,omitempty" json:"circuit_breaker,omitempty"`
	// Retry is the retry section.
	Retry *Retry `yaml:"retry,omitempty" json:"retry,omitempty"`
	// Bulkhead is the bulkhead section.
	Bulkhead *Bulkhead `yaml:"bulkhead,omitempty" json:"bulkhead,omitempty"`
	// ErrorTracking is the error_tracking section.
	ErrorTracking *ErrorTracking `yaml:"error_tracking,omitempty" json:"error_tracking,omitempty"`
	// AdaptiveLimit is the adaptive_limit section.
	AdaptiveLimit *AdaptiveLimit `yaml:"adaptive_limit,omitempty" json:"adaptive_limit,omitempty"`
	// Throttle is the throttle section.
	Throttle *Throttle `yaml:"throttle,omitempty" json:"throttle,omitempty"`
	// RateLimit is the rate_limit section.
	RateLimit *RateLimit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Hedge is the hedge section.
	Hedge *Hedge `yaml:"hedge,omitempty" json:"hedge,omitempty"`
	// Timeout (timeout_ms) limits each attempt. 0 means no limit.
	Timeout *Millis `yaml:"timeout_ms,omitempty" json:"timeout_ms,omitempty" check:"natural"`
	// TotalTimeout (total_timeout_ms) limits a whole call, every attempt
	// and wait included. 0 means no limit.
	TotalTimeout *Millis `yaml:"total_timeout_ms,omitempty" json:"total_timeout_ms,omitempty" check:"natural"`
}

// Breaker is the circuit_breaker section (breaker.Config). A zero field is
// not set.
type Breaker struct {
	// Enabled false turns an inherited breaker off. A section that is
	// present is enabled unless it says otherwise.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// FailureThreshold: consecutive failures that open the breaker.
	// Default 5; -1 turns the consecutive rule off (use a rate rule).
	FailureThreshold int `yaml:"failure_threshold,omitempty" json:"failure_threshold,omitempty" check:"nonzero"`
	// Timeout: how long the breaker stays open. Default 60s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" check:"positive"`
	// SuccessThreshold: consecutive half-open successes that close it.
	// Default 2.
	SuccessThreshold int `yaml:"success_threshold,omitempty" json:"success_threshold,omitempty" check:"min1"`

	// WindowSize: a count-based window of the last WindowSize calls for
	// the rate rules. Default 100 when a rate rule is set.
	WindowSize int `yaml:"window_size,omitempty" json:"window_size,omitempty" check:"min1"`
	// WindowDuration: a time-based window instead of a count-based one.
	WindowDuration Duration `yaml:"window_duration,omitempty" json:"window_duration,omitempty" check:"positive"`
	// MinimumCalls: calls the window must hold before a rate rule trips.
	// Default 10.
	MinimumCalls int `yaml:"minimum_calls,omitempty" json:"minimum_calls,omitempty" check:"min1"`
	// FailureRateThreshold, in [0, 1]: the failure rate that opens the
	// breaker. Default 0: rule off.
	FailureRateThreshold float64 `yaml:"failure_rate_threshold,omitempty" json:"failure_rate_threshold,omitempty"`
	// SlowCallDuration: calls at least this long are slow. Default 0: no
	// slow-call detection.
	SlowCallDuration Duration `yaml:"slow_call_duration,omitempty" json:"slow_call_duration,omitempty" check:"positive"`
	// SlowCallRateThreshold, in [0, 1]: the slow-call rate that opens the
	// breaker. Default 0: rule off.
	SlowCallRateThreshold float64 `yaml:"slow_call_rate_threshold,omitempty" json:"slow_call_rate_threshold,omitempty"`
	// StuckAfter: calls in flight this long count as failures before they
	// end (breaker.Config.StuckAfter). Default 0: off.
	StuckAfter Duration `yaml:"stuck_after,omitempty" json:"stuck_after,omitempty" check:"positive"`

	// PerHost: a Transport keeps one breaker per host
	// (middleware.Recovery.HostBreaker). Default false.
	PerHost *bool `yaml:"per_host,omitempty" json:"per_host,omitempty"`
}

// Retry is the retry section (retry.Policy and its backoff.Policy). A zero
// field is not set.
type Retry struct {
	// Enabled false turns an inherited retry off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// MaxAttempts counts every attempt, the first included. Default 3.
	MaxAttempts int `yaml:"max_attempts,omitempty" json:"max_attempts,omitempty" check:"min1,max"`
	// InitialDelay: the delay before the first retry. Default 100ms.
	InitialDelay Duration `yaml:"initial_delay,omitempty" json:"initial_delay,omitempty" check:"positive"`
	// MaxDelay caps every delay. Default 5s.
	MaxDelay Duration `yaml:"max_delay,omitempty" json:"max_delay,omitempty" check:"positive"`
	// Multiplier scales the delay after each retry. Default 2.
	Multiplier float64 `yaml:"multiplier,omitempty" json:"multiplier,omitempty" check:"min1"`
	// Jitter: true (full), false (none) or a mode name. Default full.
	Jitter Jitter `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// MaxRetryAfter caps the Retry-After hint honoured. Default 1m.
	MaxRetryAfter Duration `yaml:"max_retry_after,omitempty" json:"max_retry_after,omitempty" check:"positive"`
	// MaxOpenWait is how long a retry may wait for an open breaker to let
	// calls through again, beyond what the backoff would wait anyway.
	// Default: not at all (an open breaker fails fast).
	MaxOpenWait Duration `yaml:"max_open_wait,omitempty" json:"max_open_wait,omitempty" check:"positive"`
	// Budget, if set, shares a retry budget between the calls of the tool.
	Budget *Budget `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// Budget is the retry.budget section (retry.BudgetConfig). A zero field is
// not set.
type Budget struct {
	// Ratio: retry tokens each call earns. Default 0.1.
	Ratio float64 `yaml:"ratio,omitempty" json:"ratio,omitempty" check:"positive"`
	// MinPerSecond: retries allowed each second whatever the traffic.
	// Default 10.
	MinPerSecond float64 `yaml:"min_per_second,omitempty" json:"min_per_second,omitempty" check:"positive"`
	// MaxTokens caps the tokens saved up. Default 100.
	MaxTokens float64 `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty" check:"positive"`
}

// Bulkhead is the bulkhead section (bulkhead.Config). A zero field is not
// set.
type Bulkhead struct {
	// Enabled false turns an inherited bulkhead off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// MaxConcurrent: calls that may run at once. Default 10.
	MaxConcurrent int `yaml:"max_concurrent,omitempty" json:"max_concurrent,omitempty" check:"min1"`
	// MaxQueued: calls that may wait for a slot; 0 means no queue.
	// Default 100.
	MaxQueued *int `yaml:"max_queued,omitempty" json:"max_queued,omitempty" check:"natural"`
	// Timeout: how long a call waits in the queue. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" check:"positive"`
}

// ErrorTracking is the error_tracking section (errtrack.Config). A zero
// field is not set.
type ErrorTracking struct {
	// Enabled false turns inherited error tracking off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// MaxErrors: recent errors the ring buffer keeps. Default 1000.
	MaxErrors int `yaml:"max_errors,omitempty" json:"max_errors,omitempty" check:"min1"`
	// ClassifyBy: how errors are grouped; only "type" (errtrack.Classify)
	// is known. Default "type".
	ClassifyBy string `yaml:"classify_by,omitempty" json:"classify_by,omitempty"`
}

// AdaptiveLimit is the adaptive_limit section (limit.Config): a limit on
// concurrent attempts that follows the backend's latency and drops. A zero
// field is not set: it takes the limit package's default.
type AdaptiveLimit struct {
	// Enabled false turns an inherited adaptive limit off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Algorithm: "gradient2", "vegas" or "aimd". Default gradient2.
	Algorithm string `yaml:"algorithm,omitempty" json:"algorithm,omitempty"`
	// InitialLimit: the limit before any sample. Default 20, within
	// [min_limit, max_limit].
	InitialLimit int `yaml:"initial_limit,omitempty" json:"initial_limit,omitempty" check:"min1"`
	// MinLimit: the floor of the limit. Default 1.
	MinLimit int `yaml:"min_limit,omitempty" json:"min_limit,omitempty" check:"min1"`
	// MaxLimit: the ceiling of the limit. Default 1000, or min_limit if
	// that is larger.
	MaxLimit int `yaml:"max_limit,omitempty" json:"max_limit,omitempty" check:"min1"`
	// MaxQueued: callers that may wait for a slot at the limit. Default 0:
	// no queue.
	MaxQueued int `yaml:"max_queued,omitempty" json:"max_queued,omitempty" check:"natural"`
	// MaxWait: how long a queued caller waits. Default 1s; negative: until
	// the caller's context ends (limit.NoMaxWait).
	MaxWait Duration `yaml:"max_wait,omitempty" json:"max_wait,omitempty" check:"nonzero"`
	// Tolerance (gradient2): how much the short-term RTT may exceed the
	// long-term one before the limit shrinks; at least 1. Default 1.5.
	Tolerance float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty" check:"min1"`
	// Smoothing (gradient2): the weight of each new limit, in (0, 1].
	// Default 0.2.
	Smoothing float64 `yaml:"smoothing,omitempty" json:"smoothing,omitempty" check:"positive,max1"`
	// Window: the least duration of a sample window, at most 1h. Default
	// 100ms.
	Window Duration `yaml:"window,omitempty" json:"window,omitempty" check:"positive"`
	// WindowSamples: the least number of samples in a window. Default 10.
	WindowSamples int `yaml:"window_samples,omitempty" json:"window_samples,omitempty" check:"min1"`
	// LongWindow (gradient2): windows the long-term RTT average spans.
	// Default 600.
	LongWindow int `yaml:"long_window,omitempty" json:"long_window,omitempty" check:"min1"`
	// ProbeInterval (gradient2, vegas): how often one window runs at
	// probe_limit to measure the unloaded RTT, at most 1h. Default 30s;
	// negative: no probes (limit.NoProbe).
	ProbeInterval Duration `yaml:"probe_interval,omitempty" json:"probe_interval,omitempty" check:"nonzero"`
	// ProbeLimit: the limit during a probe. Default 3, within [min_limit,
	// max_limit].
	ProbeLimit int `yaml:"probe_limit,omitempty" json:"probe_limit,omitempty" check:"min1"`
	// Alpha and Beta (vegas) bound the estimated queue, in units of
	// log10(limit); Alpha below Beta. Defaults 3 and 6.
	Alpha float64 `yaml:"alpha,omitempty" json:"alpha,omitempty" check:"positive"`
	Beta  float64 `yaml:"beta,omitempty" json:"beta,omitempty" check:"positive"`
	// Backoff (aimd): the factor of the limit on a drop, in (0, 1).
	// Default 0.9.
	Backoff float64 `yaml:"backoff,omitempty" json:"backoff,omitempty" check:"positive,below1"`
	// PerHost: a Transport keeps one limiter per host
	// (Recovery.HostLimit). Default false.
	PerHost *bool `yaml:"per_host,omitempty" json:"per_host,omitempty"`
}

// Throttle is the throttle section (throttle.Config): client-side
// adaptive throttling. A zero field is not set: it takes the throttle
// package's default.
type Throttle struct {
	// Enabled false turns an inherited throttle off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// K: requests sent for each one the backend accepts before the
	// throttle starts rejecting locally, in [1, 1e6]. Default 2.
	K float64 `yaml:"k,omitempty" json:"k,omitempty" check:"min1"`
	// Window: the span of history counted. Default 2m.
	Window Duration `yaml:"window,omitempty" json:"window,omitempty" check:"positive"`
	// Buckets: the slices the window is kept in, each at least 1ms, in
	// [1, 1000]. Default 10.
	Buckets int `yaml:"buckets,omitempty" json:"buckets,omitempty" check:"min1"`
	// MaxRejectionRate, in (0, 1]: the cap of the rejection probability.
	// Default 0.9.
	MaxRejectionRate float64 `yaml:"max_rejection_rate,omitempty" json:"max_rejection_rate,omitempty" check:"positive,max1"`
	// PerHost: a Transport keeps one throttle per host
	// (Recovery.HostThrottle). Default false.
	PerHost *bool `yaml:"per_host,omitempty" json:"per_host,omitempty"`
}

// RateLimit is the rate_limit section (ratelimit.GroupConfig): a token
// bucket per key (Do: one; Transport: per host; Handler: per client). A
// zero field is not set: it takes the ratelimit package's default.
type RateLimit struct {
	// Enabled false turns an inherited rate limit off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Rate: events per second, at most 1e9. Default 10.
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty" check:"positive"`
	// Burst: events at once after a quiet period, at most 1<<30. Default
	// rate rounded up, at least 1.
	Burst int `yaml:"burst,omitempty" json:"burst,omitempty" check:"min1"`
	// MaxWait: how long a call may wait for a token before it is refused.
	// Default: no bound but the caller's deadline.
	MaxWait Duration `yaml:"max_wait,omitempty" json:"max_wait,omitempty" check:"positive"`
	// MaxKeys: keys tracked at most, the least recently used evicted
	// beyond, at most 1<<24. Default 10000.
	MaxKeys int `yaml:"max_keys,omitempty" json:"max_keys,omitempty" check:"min1"`
}

// Hedge is the hedge section (hedge.Policy): hedged requests. A zero
// field is not set: it takes the hedge package's default.
type Hedge struct {
	// Enabled false turns inherited hedging off.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Delay: a fixed delay before each hedge. Default: adaptive, the
	// quantile of recent latencies within [min_delay, max_delay].
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty" check:"positive"`
	// Quantile, in (0, 1): the quantile of latencies that is the adaptive
	// delay. Default 0.95.
	Quantile float64 `yaml:"quantile,omitempty" json:"quantile,omitempty" check:"positive,below1"`
	// MinDelay: the floor of the adaptive delay. Default 1ms.
	MinDelay Duration `yaml:"min_delay,omitempty" json:"min_delay,omitempty" check:"positive"`
	// MaxDelay: the cap of the adaptive delay, and the delay while the
	// estimate is cold. Default 1s.
	MaxDelay Duration `yaml:"max_delay,omitempty" json:"max_delay,omitempty" check:"positive"`
	// Window: latencies in one window of the estimate, at most 1<<20.
	// Default 1000.
	Window int `yaml:"window,omitempty" json:"window,omitempty" check:"min1,max"`
	// MaxHedges: extra attempts a call may send, at most 16. Default 1.
	MaxHedges int `yaml:"max_hedges,omitempty" json:"max_hedges,omitempty" check:"min1,max16"`
	// RetryBudget: hedges spend the tool's retry.budget, so that retries
	// and hedges together stay within it. Needs retry.budget. Default
	// false: hedges are not budgeted.
	RetryBudget *bool `yaml:"retry_budget,omitempty" json:"retry_budget,omitempty"`
}

// Middleware is one entry of the middleware list. Only type recovery is
// known; its settings are merged over the global ones.
type Middleware struct {
	// Type is the kind of middleware: "recovery".
	Type string `yaml:"type" json:"type"`
	// Policies are the recovery middleware's settings.
	Policies `yaml:",inline"`
}

// Tool is one tool. Name is required and unique; the fields besides
// Policies describe the tool and are kept as read.
type Tool struct {
	Type        string    `yaml:"type,omitempty" json:"type,omitempty"`               // http, native, cli, pipeline
	Name        string    `yaml:"name" json:"name"`                                   // required, unique
	Description string    `yaml:"description,omitempty" json:"description,omitempty"` // for people
	Endpoint    string    `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`       // an http tool's URL
	Method      string    `yaml:"method,omitempty" json:"method,omitempty"`           // an http tool's method
	Command     string    `yaml:"command,omitempty" json:"command,omitempty"`         // a cli tool's command
	Args        []string  `yaml:"args,omitempty" json:"args,omitempty"`               // and its arguments
	Handler     *Handler  `yaml:"handler,omitempty" json:"handler,omitempty"`         // a native tool's handler
	Fallback    Fallbacks `yaml:"fallback,omitempty" json:"fallback,omitempty"`       // tried in order on failure
	// Steps are the steps of a pipeline tool, each with its own limit
	// inside the tool's timeout_ms.
	Steps []Step `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Policies are the tool's own settings, merged over the global ones.
	Policies `yaml:",inline"`
}

// Step is one step of a pipeline tool.
type Step struct {
	Tool    string  `yaml:"tool" json:"tool"`                                                 // the tool it runs
	Timeout *Millis `yaml:"timeout_ms,omitempty" json:"timeout_ms,omitempty" check:"natural"` // its limit
}

// Load reads a YAML (or JSON) config from r, at most MaxSize bytes, and
// validates it. On failure the error is an Errors listing every problem
// found, each naming its key path, such as
//
//	tools[2].retry.max_attempts: must be at least 1, got 0
func Load(r io.Reader) (*Config, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	return parse(data, "")
}

// LoadFile is Load for a file; each error also names the file and line.
func LoadFile(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(data, path)
}

func parse(data []byte, file string) (*Config, error) {
	c := new(Config)
	d := newDecoder(file)
	root := d.document(data)
	if root == nil {
		return nil, d.errs
	}
	d.decode(root, valueOf(c), "")
	d.errs = c.validate(d.lines, file, d.errs)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return c, nil
}

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config: larger than %d bytes", MaxSize)
	}
	return data, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// FieldError is one problem of a config: the key path at fault (such as
// "tools[2].retry.max_attempts"; "" for the document itself) and the rule
// it breaks.
type FieldError struct {
	File string // the file, for LoadFile and LoadPipeFile
	Line int    // the line of the key, when known
	Path string // the key path, as tools[2].retry.max_attempts
	Msg  string // the rule broken, as "must be at least 1, got 0"
}

// Error returns "path: msg", preceded by "file:line: " when the file is
// known.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors lists every problem Load found, in document order.
type Errors []*FieldError

// Error returns one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so errors.As finds a *FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// ErrUnknownTool is matched by the error of Build and Settings for a name
// that is not a tool of the config.
var ErrUnknownTool = errors.New("config: unknown tool")
