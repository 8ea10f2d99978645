package config

import (
	"fmt"
	"io"
	"time"

	"github.com/seed94f50169/resilience/backoff"
)

// MaxPipeDuration bounds every duration of a Pipe (one year).
const MaxPipeDuration = 365 * 24 * time.Hour

// Pipe is a Fustor agent pipe file (agent-pipes-config/*.yaml). Every key
// but id is optional; a zero field is unset and means the default written
// in its comment, which the Pipe methods apply.
type Pipe struct {
	// ID names the pipe. Required.
	ID string `yaml:"id" json:"id"`
	// SessionTimeout: the session expires after this long without a
	// heartbeat. Default 30s.
	SessionTimeout Seconds `yaml:"session_timeout_seconds,omitempty" json:"session_timeout_seconds,omitempty" check:"positive"`
	// HeartbeatInterval: how often the agent heartbeats when the server
	// suggests nothing. Default 10s; must be below SessionTimeout.
	HeartbeatInterval Seconds `yaml:"heartbeat_interval_sec,omitempty" json:"heartbeat_interval_sec,omitempty" check:"positive"`
	// AuditInterval: how often the leader audits the view. Default 600s.
	AuditInterval Seconds `yaml:"audit_interval_sec,omitempty" json:"audit_interval_sec,omitempty" check:"positive"`
	// SentinelInterval: how often the leader runs its sentinel checks.
	// Default 120s.
	SentinelInterval Seconds `yaml:"sentinel_interval_sec,omitempty" json:"sentinel_interval_sec,omitempty" check:"positive"`
	// ErrorRetryInterval: the delay after the first error. Default 5s.
	ErrorRetryInterval Seconds `yaml:"error_retry_interval,omitempty" json:"error_retry_interval,omitempty" check:"positive"`
	// MaxConsecutiveErrors: consecutive errors after which the pipe
	// reports itself degraded. Default 5.
	MaxConsecutiveErrors int `yaml:"max_consecutive_errors,omitempty" json:"max_consecutive_errors,omitempty" check:"min1"`
	// BackoffMultiplier: the delay's factor for each further consecutive
	// error. Default 2.
	BackoffMultiplier float64 `yaml:"backoff_multiplier,omitempty" json:"backoff_multiplier,omitempty" check:"min1"`
	// MaxBackoff caps the delay. Default 60s; must not be below
	// ErrorRetryInterval.
	MaxBackoff Seconds `yaml:"max_backoff_seconds,omitempty" json:"max_backoff_seconds,omitempty" check:"positive"`
}

// Effective returns p with every unset field set to its default.
func (p Pipe) Effective() Pipe {
	p.SessionTimeout = or(p.SessionTimeout, Seconds(30*time.Second))
	p.HeartbeatInterval = or(p.HeartbeatInterval, Seconds(10*time.Second))
	p.AuditInterval = or(p.AuditInterval, Seconds(600*time.Second))
	p.SentinelInterval = or(p.SentinelInterval, Seconds(120*time.Second))
	p.ErrorRetryInterval = or(p.ErrorRetryInterval, Seconds(5*time.Second))
	p.MaxConsecutiveErrors = or(p.MaxConsecutiveErrors, 5)
	p.BackoffMultiplier = or(p.BackoffMultiplier, 2)
	p.MaxBackoff = or(p.MaxBackoff, Seconds(60*time.Second))
	return p
}

// Backoff returns the pipe's error backoff schedule: ErrorRetryInterval,
// times BackoffMultiplier after each further consecutive error, capped at
// MaxBackoff, without jitter (5s, 10s, 20s, 40s, 60s, 60s... by default).
func (p Pipe) Backoff() backoff.Policy {
	e := p.Effective()
	return backoff.Policy{
		Initial:    e.ErrorRetryInterval.Std(),
		Multiplier: e.BackoffMultiplier,
		Max:        e.MaxBackoff.Std(),
		Jitter:     backoff.NoJitter,
	}
}

// Validate reports every problem of p, each naming its key, as an Errors;
// nil if p is valid.
func (p *Pipe) Validate() error {
	if errs := p.validate(nil, "", nil); len(errs) > 0 {
		return errs
	}
	return nil
}

func (p *Pipe) validate(lines map[string]int, file string, bad Errors) Errors {
	v := newValidator(lines, file, bad)
	if p.ID == "" {
		v.fail("id", "required")
	}
	v.checkTags(valueOf(p), "")
	for _, d := range []struct {
		key string
		v   Seconds
	}{
		{"session_timeout_seconds", p.SessionTimeout},
		{"heartbeat_interval_sec", p.HeartbeatInterval},
		{"audit_interval_sec", p.AuditInterval},
		{"sentinel_interval_sec", p.SentinelInterval},
		{"error_retry_interval", p.ErrorRetryInterval},
		{"max_backoff_seconds", p.MaxBackoff},
	} {
		if d.v.Std() > MaxPipeDuration {
			v.fail(d.key, fmt.Sprintf("must be at most %v, got %v", MaxPipeDuration, d.v))
		}
	}
	switch {
	case p.MaxConsecutiveErrors > 1_000_000:
		v.fail("max_consecutive_errors", fmt.Sprintf("must be at most 1000000, got %d", p.MaxConsecutiveErrors))
	case p.BackoffMultiplier > 100:
		v.fail("backoff_multiplier", fmt.Sprintf("must be at most 100, got %v", p.BackoffMultiplier))
	}
	if len(v.errs) > 0 {
		return v.errs
	}
	e := p.Effective()
	if e.HeartbeatInterval >= e.SessionTimeout {
		v.fail("heartbeat_interval_sec", fmt.Sprintf("must be below session_timeout_seconds (%v), got %v", e.SessionTimeout, e.HeartbeatInterval))
	}
	if e.MaxBackoff < e.ErrorRetryInterval {
		v.fail("max_backoff_seconds", fmt.Sprintf("must not be below error_retry_interval (%v), got %v", e.ErrorRetryInterval, e.MaxBackoff))
	}
	return v.errs
}

// LoadPipe reads a Fustor agent pipe file from r (YAML, at most MaxSize
// bytes) and validates it. Like Load, it reports every problem at once.
func LoadPipe(r io.Reader) (*Pipe, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	return parsePipe(data, "")
}

// LoadPipeFile is LoadPipe for a file; each error also names the file and
// line.
func LoadPipeFile(path string) (*Pipe, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parsePipe(data, path)
}

func parsePipe(data []byte, file string) (*Pipe, error) {
	p := new(Pipe)
	d := newDecoder(file)
	root := d.document(data)
	if root == nil {
		return nil, d.errs
	}
	d.decode(root, valueOf(p), "")
	d.errs = p.validate(d.lines, file, d.errs)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return p, nil
}
