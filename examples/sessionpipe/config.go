package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// pipeConfig is an agent-pipes-config/*.yaml file. Every key but id is
// optional; a missing key keeps the guide's default.
type pipeConfig struct {
	ID                   string
	SessionTimeout       time.Duration // session_timeout_seconds, default 30s
	HeartbeatInterval    time.Duration // heartbeat_interval_sec, default 10s
	AuditInterval        time.Duration // audit_interval_sec, default 600s
	SentinelInterval     time.Duration // sentinel_interval_sec, default 120s (read and checked; this agent runs no sentinel)
	ErrorRetryInterval   time.Duration // error_retry_interval, default 5s
	MaxConsecutiveErrors int           // max_consecutive_errors, default 5
	BackoffMultiplier    float64       // backoff_multiplier, default 2
	MaxBackoff           time.Duration // max_backoff_seconds, default 60s
}

func defaultPipeConfig() pipeConfig {
	return pipeConfig{
		SessionTimeout:       30 * time.Second,
		HeartbeatInterval:    10 * time.Second,
		AuditInterval:        600 * time.Second,
		SentinelInterval:     120 * time.Second,
		ErrorRetryInterval:   5 * time.Second,
		MaxConsecutiveErrors: 5,
		BackoffMultiplier:    2,
		MaxBackoff:           60 * time.Second,
	}
}

// maxSeconds bounds every duration key (one year).
const maxSeconds = 365 * 24 * 3600

// loadPipeConfig reads and checks a config file.
func loadPipeConfig(path string) (pipeConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return pipeConfig{}, err
	}
	c, err := parsePipeConfig(data)
	if err != nil {
		return pipeConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// parsePipeConfig decodes one YAML mapping key by key, so every error names
// the key (and line) at fault; unknown and repeated keys are errors.
func parsePipeConfig(data []byte) (pipeConfig, error) {
	c := defaultPipeConfig()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, errors.New("empty config: key \"id\" is required")
		}
		return c, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return c, errors.New("the config must be a mapping of keys to values")
	}
	m := doc.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i].Value, m.Content[i+1]
		if seen[key] {
			return c, fmt.Errorf("line %d: key %q repeated", m.Content[i].Line, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "id":
			if err = val.Decode(&c.ID); err == nil && c.ID == "" {
				err = errors.New("must not be empty")
			}
		case "session_timeout_seconds":
			err = seconds(val, &c.SessionTimeout)
		case "heartbeat_interval_sec":
			err = seconds(val, &c.HeartbeatInterval)
		case "audit_interval_sec":
			err = seconds(val, &c.AuditInterval)
		case "sentinel_interval_sec":
			err = seconds(val, &c.SentinelInterval)
		case "error_retry_interval":
			err = seconds(val, &c.ErrorRetryInterval)
		case "max_backoff_seconds":
			err = seconds(val, &c.MaxBackoff)
		case "max_consecutive_errors":
			var n float64
			if err = val.Decode(&n); err == nil && (n != math.Trunc(n) || n < 1 || n > 1_000_000) {
				err = fmt.Errorf("must be a whole number in [1, 1000000], got %v", val.Value)
			}
			c.MaxConsecutiveErrors = int(n)
		case "backoff_multiplier":
			if err = val.Decode(&c.BackoffMultiplier); err == nil && !(c.BackoffMultiplier >= 1 && c.BackoffMultiplier <= 100) {
				err = fmt.Errorf("must be in [1, 100], got %v", c.BackoffMultiplier)
			}
		default:
			return c, fmt.Errorf("line %d: unknown key %q", m.Content[i].Line, key)
		}
		if err != nil {
			return c, fmt.Errorf("line %d: %s: %w", val.Line, key, err)
		}
	}
	switch {
	case c.ID == "":
		return c, errors.New(`key "id" is required`)
	case c.HeartbeatInterval >= c.SessionTimeout:
		return c, fmt.Errorf("heartbeat_interval_sec (%v) must be below session_timeout_seconds (%v)", c.HeartbeatInterval, c.SessionTimeout)
	case c.MaxBackoff < c.ErrorRetryInterval:
		return c, fmt.Errorf("max_backoff_seconds (%v) must not be below error_retry_interval (%v)", c.MaxBackoff, c.ErrorRetryInterval)
	}
	return c, nil
}

// seconds decodes a positive number of seconds. A value that rounds to
// zero (under a nanosecond) is refused: a zero duration would silently
// become the agent's default.
func seconds(n *yaml.Node, d *time.Duration) error {
	var s float64
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("want a number of seconds: %w", err)
	}
	if math.IsNaN(s) || s <= 0 || s > maxSeconds {
		return fmt.Errorf("must be a number of seconds in (0, %d], got %v", maxSeconds, n.Value)
	}
	v := time.Duration(s * float64(time.Second))
	if v <= 0 {
		return fmt.Errorf("must be at least a nanosecond, got %v", n.Value)
	}
	*d = v
	return nil
}
