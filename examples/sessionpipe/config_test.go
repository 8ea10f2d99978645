package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
)

var base = agent.Config{Fusion: "http://127.0.0.1:1", AgentID: "a1"}

func TestShippedConfigHasTheGuideValues(t *testing.T) {
	p, err := config.LoadPipeFile("agent-pipes-config/my-pipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := agentConfig(p, base)
	if err != nil {
		t.Fatal(err)
	}
	want := agent.Config{
		Fusion:               base.Fusion,
		AgentID:              base.AgentID,
		PipeID:               "my-pipe",
		HeartbeatInterval:    10 * time.Second,
		AuditInterval:        600 * time.Second,
		ErrorRetryInterval:   5 * time.Second,
		MaxConsecutiveErrors: 5,
		BackoffMultiplier:    2,
		MaxBackoff:           60 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if p.SessionTimeout.Std() != 30*time.Second || p.SentinelInterval.Std() != 120*time.Second {
		t.Errorf("session timeout %v, sentinel interval %v", p.SessionTimeout, p.SentinelInterval)
	}
}

// parse loads a pipe file's text into an agent.Config.
func parse(yaml string) (agent.Config, error) {
	p, err := config.LoadPipe(strings.NewReader(yaml))
	if err != nil {
		return agent.Config{}, err
	}
	return agentConfig(p, base)
}

func TestAgentConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error; "" means valid
	}{
		{"id only takes defaults", "id: p\n", ""},
		{"fractional seconds", "id: p\nerror_retry_interval: 0.5\n", ""},
		{"sub-second intervals", "id: p\nsession_timeout_seconds: 1.5\nheartbeat_interval_sec: 0.5\nerror_retry_interval: 0.05\nmax_backoff_seconds: 0.4\n", ""},
		{"empty", "", "id: required"},
		{"missing id", "heartbeat_interval_sec: 5\n", "id: required"},
		{"empty id", "id: ''\n", "id: required"},
		{"unknown key", "id: p\nheartbeat_interval: 5\n", `unknown key "heartbeat_interval"`},
		{"repeated key", "id: p\nid: q\n", "id: repeated key (first on line 1)"},
		{"not a number", "id: p\nmax_backoff_seconds: soon\n", "max_backoff_seconds: want a duration"},
		{"negative", "id: p\nheartbeat_interval_sec: -1\n", "heartbeat_interval_sec: must be positive, got -1s"},
		{"zero", "id: p\nsession_timeout_seconds: 0\n", "session_timeout_seconds: must be positive"},
		{"huge", "id: p\naudit_interval_sec: 1e300\n", "audit_interval_sec: must be"},
		{"NaN", "id: p\nsentinel_interval_sec: .nan\n", "sentinel_interval_sec: must be"},
		{"under a nanosecond", "id: p\nheartbeat_interval_sec: 1e-12\n", "heartbeat_interval_sec: must be at least a nanosecond"},
		{"retry under a nanosecond", "id: p\nerror_retry_interval: 0.0000000001\n", "error_retry_interval: must be at least a nanosecond"},
		{"errors not an int", "id: p\nmax_consecutive_errors: 2.5\n", "max_consecutive_errors: want a whole number"},
		{"errors zero", "id: p\nmax_consecutive_errors: 0\n", "max_consecutive_errors: must be at least 1, got 0"},
		{"multiplier below 1", "id: p\nbackoff_multiplier: 0.5\n", "backoff_multiplier: must be at least 1"},
		{"heartbeat not below timeout", "id: p\nheartbeat_interval_sec: 30\n", "heartbeat_interval_sec: must be below session_timeout_seconds (30s), got 30s"},
		{"max below initial", "id: p\nerror_retry_interval: 90\n", "max_backoff_seconds: must not be below error_retry_interval (1m30s), got 1m0s"},
		{"a list", "- id: p\n", "want a mapping"},
		{"bad YAML", "id: [p\n", "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.yaml)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAgentConfigIsValidatedByTheAgent(t *testing.T) {
	p := &config.Pipe{ID: "p"}
	if _, err := agentConfig(p, agent.Config{Fusion: "ftp://x", AgentID: "a"}); err == nil || !strings.Contains(err.Error(), "agent: Fusion") {
		t.Errorf("a bad fusion URL: %v", err)
	}
	if _, err := agentConfig(p, agent.Config{Fusion: "http://x"}); err == nil || !strings.Contains(err.Error(), "agent: AgentID is required") {
		t.Errorf("no agent id: %v", err)
	}
}

func FuzzAgentConfig(f *testing.F) {
	f.Add("id: p\nheartbeat_interval_sec: 10\n")
	f.Add("id: p\nbackoff_multiplier: 1e308\nmax_backoff_seconds: 1e-300\n")
	f.Add("{id: p, max_consecutive_errors: 99999999999999999999}")
	f.Add("id: p\nerror_retry_interval: 1e-10\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parse(in)
		if err != nil {
			return
		}
		if c.PipeID == "" || c.HeartbeatInterval <= 0 || c.MaxBackoff < c.ErrorRetryInterval ||
			c.ErrorRetryInterval <= 0 || c.MaxConsecutiveErrors < 1 || c.BackoffMultiplier < 1 {
			t.Fatalf("accepted an invalid config %+v from %q", c, in)
		}
	})
}
