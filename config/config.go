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
	Path string
	Msg  string
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
