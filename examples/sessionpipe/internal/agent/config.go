package agent

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Config configures an [Agent]. A zero field takes the default in its
// comment; the defaults are those of the Fustor V2 reliability guide.
type Config struct {
	// Fusion is the base URL of the fusion server, e.g. http://127.0.0.1:8080.
	// Required.
	Fusion string
	// PipeID names the pipe (the config file's id). Required.
	PipeID string
	// AgentID names this agent. Required.
	AgentID string

	// HeartbeatInterval is used when the server suggests none
	// (heartbeat_interval_sec). Default 10s.
	HeartbeatInterval time.Duration
	// MaxSkippedHeartbeats bounds how many heartbeats in a row are skipped
	// because a push was acknowledged within the interval: an ack proves
	// liveness but does not carry the role. Default 2; negative never skips.
	MaxSkippedHeartbeats int
	// AuditInterval is how often the leader audits the view
	// (audit_interval_sec). Default 600s.
	AuditInterval time.Duration

	// ErrorRetryInterval is the delay after the first error
	// (error_retry_interval). Default 5s.
	ErrorRetryInterval time.Duration
	// BackoffMultiplier multiplies the delay after each consecutive error
	// (backoff_multiplier). Default 2.
	BackoffMultiplier float64
	// MaxBackoff caps the delay (max_backoff_seconds). Default 60s.
	MaxBackoff time.Duration
	// MaxConsecutiveErrors is the number of consecutive errors after which
	// the agent reports itself degraded (max_consecutive_errors). Default 5.
	MaxConsecutiveErrors int

	// RequestTimeout bounds each request as a whole, every attempt the
	// transport makes included. Default 10s.
	RequestTimeout time.Duration
	// SpoolSize bounds the events waiting for an acknowledgement; Submit
	// blocks while it is full. Default 1024.
	SpoolSize int
	// BatchSize bounds the events sent in one push. Default 64. A push
	// fusion refuses as too large (413) is split in halves and resent.
	BatchSize int
	// MaxEventBytes bounds the size of one event as JSON; Submit refuses a
	// larger one with ErrInvalidEvent, since a push of it alone could
	// exceed fusion's body limit (1 MiB by default) and hold up the spool
	// forever. Default 512 KiB.
	MaxEventBytes int

	// Transport carries every request (typically a breaker, per-attempt
	// timeout and bounded retries around an http.Transport). Default
	// http.DefaultTransport.
	Transport http.RoundTripper
	// BreakerState, if set, reports the state of the breaker inside
	// Transport for Status.
	BreakerState func() string
	// OnEvent, if set, is called from the control loop for every step worth
	// telling: sessions, roles, skipped heartbeats, errors and backoff.
	OnEvent func(Event)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, 10*time.Second)
	def(&c.AuditInterval, 600*time.Second)
	def(&c.ErrorRetryInterval, 5*time.Second)
	def(&c.MaxBackoff, 60*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	if c.MaxSkippedHeartbeats == 0 {
		c.MaxSkippedHeartbeats = 2
	}
	if c.BackoffMultiplier == 0 {
		c.BackoffMultiplier = 2
	}
	if c.MaxConsecutiveErrors == 0 {
		c.MaxConsecutiveErrors = 5
	}
	if c.SpoolSize == 0 {
		c.SpoolSize = 1024
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = 512 << 10
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
	return c
}

// maxDuration bounds every configured duration, so hostile values cannot
// overflow the arithmetic built on them.
const maxDuration = 365 * 24 * time.Hour

// Validate reports the first invalid field of c (after defaults), naming it.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Fusion == "" {
		return errors.New("agent: Fusion is required")
	}
	if u, err := url.Parse(c.Fusion); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("agent: Fusion %q is not an http(s) URL", c.Fusion)
	}
	if c.PipeID == "" {
		return errors.New("agent: PipeID is required")
	}
	if c.AgentID == "" {
		return errors.New("agent: AgentID is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HeartbeatInterval", c.HeartbeatInterval},
		{"AuditInterval", c.AuditInterval},
		{"ErrorRetryInterval", c.ErrorRetryInterval},
		{"MaxBackoff", c.MaxBackoff},
		{"RequestTimeout", c.RequestTimeout},
	} {
		if d.v <= 0 || d.v > maxDuration {
			return fmt.Errorf("agent: %s must be in (0, %v], got %v", d.name, maxDuration, d.v)
		}
	}
	switch {
	case c.MaxBackoff < c.ErrorRetryInterval:
		return fmt.Errorf("agent: MaxBackoff %v is below ErrorRetryInterval %v", c.MaxBackoff, c.ErrorRetryInterval)
	case !(c.BackoffMultiplier >= 1 && c.BackoffMultiplier <= 100):
		return fmt.Errorf("agent: BackoffMultiplier must be in [1, 100], got %v", c.BackoffMultiplier)
	case c.MaxConsecutiveErrors < 1 || c.MaxConsecutiveErrors > 1_000_000:
		return fmt.Errorf("agent: MaxConsecutiveErrors must be in [1, 1000000], got %d", c.MaxConsecutiveErrors)
	case c.SpoolSize < 1 || c.SpoolSize > 1<<24:
		return fmt.Errorf("agent: SpoolSize must be in [1, %d], got %d", 1<<24, c.SpoolSize)
	case c.BatchSize < 1 || c.BatchSize > 1<<16:
		return fmt.Errorf("agent: BatchSize must be in [1, %d], got %d", 1<<16, c.BatchSize)
	case c.MaxEventBytes < 1 || c.MaxEventBytes > 1<<30:
		return fmt.Errorf("agent: MaxEventBytes must be in [1, %d], got %d", 1<<30, c.MaxEventBytes)
	}
	return nil
}
