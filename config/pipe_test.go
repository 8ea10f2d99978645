package config_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/config"
)

func sec(s float64) config.Seconds { return config.Seconds(time.Duration(s * float64(time.Second))) }

func TestFustorPipeRoundTrip(t *testing.T) {
	p, err := config.LoadPipeFile("testdata/fustor-pipe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Pipe{
		ID:                   "my-pipe",
		SessionTimeout:       sec(30),
		HeartbeatInterval:    sec(10),
		AuditInterval:        sec(600),
		SentinelInterval:     sec(120),
		ErrorRetryInterval:   sec(5),
		MaxConsecutiveErrors: 5,
		BackoffMultiplier:    2,
		MaxBackoff:           sec(60),
	}
	if *p != want {
		t.Fatalf("got %+v\nwant %+v", *p, want)
	}
	if e := (config.Pipe{ID: "my-pipe"}).Effective(); e != want {
		t.Errorf("the seed's values are the defaults: got %+v", e)
	}
	out, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.LoadPipe(bytes.NewReader(out))
	if err != nil || *again != *p {
		t.Errorf("round trip of\n%s: %+v, %v", out, again, err)
	}
	b := p.Backoff()
	if b != (backoff.Policy{Initial: 5 * time.Second, Multiplier: 2, Max: time.Minute, Jitter: backoff.NoJitter}) {
		t.Errorf("Backoff %+v", b)
	}
	var got []time.Duration
	seq := b.Sequence()
	for range 6 {
		got = append(got, seq.Next())
	}
	if want := []time.Duration{5e9, 10e9, 20e9, 40e9, 60e9, 60e9}; !reflect.DeepEqual(got, want) {
		t.Errorf("schedule %v, want %v", got, want)
	}
}

func TestLoadPipe(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the whole error; "" means valid
	}{
		{"id only takes defaults", "id: p\n", ""},
		{"fractional seconds", "id: p\nerror_retry_interval: 0.5\n", ""},
		{"duration strings", "id: p\nsession_timeout_seconds: 45s\nheartbeat_interval_sec: 1500ms\n", ""},
		{"empty", "", "id: required"},
		{"missing id", "heartbeat_interval_sec: 5\n", "id: required"},
		{"empty id", "id: ''\n", "id: required"},
		{"unknown key", "id: p\nheartbeat_interval: 5\n", `unknown key "heartbeat_interval" (did you mean "heartbeat_interval_sec"?)`},
		{"repeated key", "id: p\nid: q\n", "id: repeated key (first on line 1)"},
		{"not a number", "id: p\nmax_backoff_seconds: soon\n", `max_backoff_seconds: want a duration such as 60s or 100ms, got "soon"`},
		{"negative", "id: p\nheartbeat_interval_sec: -1\n", "heartbeat_interval_sec: must be positive, got -1s"},
		{"zero", "id: p\nsession_timeout_seconds: 0\n", "session_timeout_seconds: must be positive, got 0s"},
		{"huge", "id: p\naudit_interval_sec: 1e300\n", "audit_interval_sec: must be a number of seconds of at most 1.152921504e+09, got 1e300"},
		{"above a year", "id: p\naudit_interval_sec: 1e9\n", "audit_interval_sec: must be at most 8760h0m0s, got 277777h46m40s"},
		{"NaN", "id: p\nsentinel_interval_sec: .nan\n", "sentinel_interval_sec: must be a number of seconds of at most 1.152921504e+09, got .nan"},
		{"under a nanosecond", "id: p\nheartbeat_interval_sec: 1e-12\n", "heartbeat_interval_sec: must be at least a nanosecond, got 1e-12"},
		{"errors not whole", "id: p\nmax_consecutive_errors: 2.5\n", `max_consecutive_errors: want a whole number, got "2.5"`},
		{"errors zero", "id: p\nmax_consecutive_errors: 0\n", "max_consecutive_errors: must be at least 1, got 0"},
		{"errors huge", "id: p\nmax_consecutive_errors: 2000000\n", "max_consecutive_errors: must be at most 1000000, got 2000000"},
		{"multiplier below 1", "id: p\nbackoff_multiplier: 0.5\n", "backoff_multiplier: must be at least 1, got 0.5"},
		{"multiplier huge", "id: p\nbackoff_multiplier: 1e308\n", "backoff_multiplier: must be at most 100, got 1e+308"},
		{"heartbeat not below timeout", "id: p\nheartbeat_interval_sec: 30\n", "heartbeat_interval_sec: must be below session_timeout_seconds (30s), got 30s"},
		{"max below initial", "id: p\nerror_retry_interval: 90\n", "max_backoff_seconds: must not be below error_retry_interval (1m30s), got 1m0s"},
		{"a list", "- id: p\n", "want a mapping of keys to values"},
		{"bad YAML", "id: [p\n", "invalid YAML: line 1: did not find expected ',' or ']'"},
		{"several", "id: p\nmax_consecutive_errors: 0\nbackoff_multiplier: 0.5\nsentinel: 1\n",
			"max_consecutive_errors: must be at least 1, got 0\nbackoff_multiplier: must be at least 1, got 0.5\n" + `unknown key "sentinel" (did you mean "sentinel_interval_sec"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := config.LoadPipe(strings.NewReader(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want == "" && p.Validate() != nil:
				t.Fatalf("Validate refuses what LoadPipe accepted: %v", p.Validate())
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func FuzzLoadPipe(f *testing.F) {
	f.Add("id: p\nheartbeat_interval_sec: 10\n")
	f.Add("id: p\nbackoff_multiplier: 1e308\nmax_backoff_seconds: 1e-300\n")
	f.Add("{id: p, max_consecutive_errors: 99999999999999999999}")
	f.Add("id: p\nerror_retry_interval: 1e-10\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := config.LoadPipe(strings.NewReader(in))
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v, want config.Errors", err, err)
			}
			return
		}
		e := p.Effective()
		if e.ID == "" || e.HeartbeatInterval <= 0 || e.HeartbeatInterval >= e.SessionTimeout ||
			e.MaxBackoff < e.ErrorRetryInterval || e.ErrorRetryInterval <= 0 || e.MaxConsecutiveErrors < 1 ||
			e.BackoffMultiplier < 1 || e.MaxBackoff.Std() > config.MaxPipeDuration || e.AuditInterval <= 0 || e.SentinelInterval <= 0 {
			t.Fatalf("accepted an invalid pipe %+v from %q", e, in)
		}
		if err := e.Backoff().Validate(); err != nil {
			t.Fatalf("the backoff of %+v: %v", e, err)
		}
	})
}
