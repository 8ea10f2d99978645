package main

import (
	"strings"
	"testing"
	"time"
)

func TestShippedConfigHasTheGuideValues(t *testing.T) {
	c, err := loadPipeConfig("agent-pipes-config/my-pipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := pipeConfig{
		ID:                   "my-pipe",
		SessionTimeout:       30 * time.Second,
		HeartbeatInterval:    10 * time.Second,
		AuditInterval:        600 * time.Second,
		SentinelInterval:     120 * time.Second,
		ErrorRetryInterval:   5 * time.Second,
		MaxConsecutiveErrors: 5,
		BackoffMultiplier:    2,
		MaxBackoff:           60 * time.Second,
	}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestParsePipeConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error; "" means valid
	}{
		{"id only takes defaults", "id: p\n", ""},
		{"fractional seconds", "id: p\nerror_retry_interval: 0.5\n", ""},
		{"empty", "", `"id" is required`},
		{"missing id", "heartbeat_interval_sec: 5\n", `"id" is required`},
		{"empty id", "id: ''\n", "line 1: id: must not be empty"},
		{"unknown key", "id: p\nheartbeat_interval: 5\n", `line 2: unknown key "heartbeat_interval"`},
		{"repeated key", "id: p\nid: q\n", `line 2: key "id" repeated`},
		{"not a number", "id: p\nmax_backoff_seconds: soon\n", "line 2: max_backoff_seconds: want a number of seconds"},
		{"negative", "id: p\nheartbeat_interval_sec: -1\n", "line 2: heartbeat_interval_sec: must be a number of seconds in (0, 31536000], got -1"},
		{"zero", "id: p\nsession_timeout_seconds: 0\n", "session_timeout_seconds: must be"},
		{"huge", "id: p\naudit_interval_sec: 1e300\n", "audit_interval_sec: must be"},
		{"NaN", "id: p\nsentinel_interval_sec: .nan\n", "sentinel_interval_sec: must be"},
		{"under a nanosecond", "id: p\nheartbeat_interval_sec: 1e-12\n", "line 2: heartbeat_interval_sec: must be"},
		{"retry under a nanosecond", "id: p\nerror_retry_interval: 0.0000000001\n", "error_retry_interval: must be"},
		{"errors not an int", "id: p\nmax_consecutive_errors: 2.5\n", "line 2: max_consecutive_errors"},
		{"errors zero", "id: p\nmax_consecutive_errors: 0\n", "max_consecutive_errors: must be a whole number in [1, 1000000], got 0"},
		{"multiplier below 1", "id: p\nbackoff_multiplier: 0.5\n", "backoff_multiplier: must be in [1, 100]"},
		{"heartbeat not below timeout", "id: p\nheartbeat_interval_sec: 30\n", "heartbeat_interval_sec (30s) must be below session_timeout_seconds (30s)"},
		{"max below initial", "id: p\nerror_retry_interval: 90\n", "max_backoff_seconds (1m0s) must not be below error_retry_interval (1m30s)"},
		{"a list", "- id: p\n", "must be a mapping"},
		{"bad YAML", "id: [p\n", "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePipeConfig([]byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParsePipeConfig(f *testing.F) {
	f.Add("id: p\nheartbeat_interval_sec: 10\n")
	f.Add("id: p\nbackoff_multiplier: 1e308\nmax_backoff_seconds: 1e-300\n")
	f.Add("{id: p, max_consecutive_errors: 99999999999999999999}")
	f.Add("id: p\nerror_retry_interval: 1e-10\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parsePipeConfig([]byte(in))
		if err != nil {
			return
		}
		if c.ID == "" || c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.SessionTimeout ||
			c.MaxBackoff < c.ErrorRetryInterval || c.ErrorRetryInterval <= 0 || c.MaxConsecutiveErrors < 1 || c.BackoffMultiplier < 1 {
			t.Fatalf("accepted an invalid config %+v from %q", c, in)
		}
	})
}
