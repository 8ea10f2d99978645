package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seed94f50169/resilience/backoff"
)

// maxDuration bounds every duration a config may hold (about 36 years),
// the bound the breaker package applies to its own durations.
const maxDuration = time.Duration(1 << 60)

// nodeDecoder is implemented by the types that decode themselves from a
// YAML node. The error's text is the rule that the value broke.
type nodeDecoder interface {
	decodeNode(n *yaml.Node) error
}

// Duration is a duration written as a Go duration string: "60s", "100ms",
// "1m30s". A bare number is refused (it has no unit), except 0.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns d in Go's notation, such as "1m0s".
func (d Duration) String() string { return time.Duration(d).String() }

func (d *Duration) decodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return errors.New("want a duration such as 60s or 100ms")
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v == 0 {
			*d = 0
			return nil
		}
		return fmt.Errorf("want a duration with a unit such as 60s or 100ms, got %s", n.Value)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want a duration such as 60s or 100ms")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 60s or 100ms, got %q", s)
	}
	if v < -maxDuration || v > maxDuration {
		return 0, fmt.Errorf("must be at most %v, got %v", maxDuration, v)
	}
	return v, nil
}

// Millis is a duration written, as the *_ms keys are, as a whole number of
// milliseconds (10000), or as a Go duration string ("10s").
type Millis time.Duration

// Std returns m as a time.Duration.
func (m Millis) Std() time.Duration { return time.Duration(m) }

// String returns m in Go's notation, such as "10s".
func (m Millis) String() string { return time.Duration(m).String() }

const maxMillis = int64(maxDuration / time.Millisecond)

func (m *Millis) decodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return errors.New("want a number of milliseconds such as 10000")
	}
	if n.Tag == "!!str" {
		v, err := parseDuration(n.Value)
		*m = Millis(v)
		return err
	}
	var ms int64
	if err := n.Decode(&ms); err != nil || n.Tag != "!!int" {
		return fmt.Errorf("want a whole number of milliseconds, got %s", n.Value)
	}
	return m.setMillis(ms)
}

func (m *Millis) setMillis(ms int64) error {
	if ms < -maxMillis || ms > maxMillis {
		return fmt.Errorf("must be at most %d, got %d", maxMillis, ms)
	}
	*m = Millis(time.Duration(ms) * time.Millisecond)
	return nil
}

// MarshalYAML writes m as milliseconds when it is a whole number of them,
// else as a Go duration string.
func (m Millis) MarshalYAML() (any, error) {
	if time.Duration(m)%time.Millisecond == 0 {
		return int64(time.Duration(m) / time.Millisecond), nil
	}
	return m.String(), nil
}

// MarshalJSON is like MarshalYAML.
func (m Millis) MarshalJSON() ([]byte, error) {
	v, _ := m.MarshalYAML()
	return json.Marshal(v)
}

// UnmarshalJSON reads a whole number of milliseconds or a Go duration
// string.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := parseDuration(s)
		*m = Millis(v)
		return err
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return errors.New("want a whole number of milliseconds such as 10000")
	}
	return m.setMillis(ms)
}

// Seconds is a duration written, as the Fustor keys are, as a number of
// seconds (30, 5.0, 0.5), or as a Go duration string ("30s").
type Seconds time.Duration

// Std returns s as a time.Duration.
func (s Seconds) Std() time.Duration { return time.Duration(s) }

// String returns s in Go's notation, such as "30s".
func (s Seconds) String() string { return time.Duration(s).String() }

// maxSeconds bounds a number of seconds so that it converts to a
// time.Duration without overflow.
const maxSeconds = float64(maxDuration / time.Second)

func (s *Seconds) decodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return errors.New("want a number of seconds such as 30")
	}
	if n.Tag == "!!str" {
		v, err := parseDuration(n.Value)
		*s = Seconds(v)
		return err
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return fmt.Errorf("want a number of seconds, got %s", n.Value)
	}
	return s.setSeconds(f, n.Value)
}

func (s *Seconds) setSeconds(f float64, text string) error {
	if math.IsNaN(f) || math.Abs(f) > maxSeconds {
		return fmt.Errorf("must be a number of seconds of at most %v, got %s", maxSeconds, text)
	}
	v := time.Duration(f * float64(time.Second))
	if f > 0 && v == 0 {
		return fmt.Errorf("must be at least a nanosecond, got %s", text)
	}
	*s = Seconds(v)
	return nil
}

// MarshalYAML writes s as a number of seconds.
func (s Seconds) MarshalYAML() (any, error) { return time.Duration(s).Seconds(), nil }

// MarshalJSON writes s as a number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(s).Seconds()) }

// UnmarshalJSON reads a number of seconds or a Go duration string.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		v, err := parseDuration(str)
		*s = Seconds(v)
		return err
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("want a number of seconds such as 30")
	}
	return s.setSeconds(f, string(b))
}

// Jitter is the retry jitter key: true (full jitter, the default), false
// (none), or the name of a mode: "full", "none", "equal", "decorrelated",
// "spread" (see package backoff). The zero Jitter is unset: full jitter.
type Jitter string

// The jitter modes, as written in a config.
const (
	JitterFull         Jitter = "full"
	JitterNone         Jitter = "none"
	JitterEqual        Jitter = "equal"
	JitterDecorrelated Jitter = "decorrelated"
	JitterSpread       Jitter = "spread"
)

var jitterModes = map[Jitter]backoff.Jitter{
	JitterFull:         backoff.FullJitter,
	JitterNone:         backoff.NoJitter,
	JitterEqual:        backoff.EqualJitter,
	JitterDecorrelated: backoff.DecorrelatedJitter,
	JitterSpread:       backoff.SpreadJitter,
}

// Mode returns the backoff mode j names; the zero Jitter is
// backoff.FullJitter.
func (j Jitter) Mode() backoff.Jitter {
	return jitterModes[j] // FullJitter for "", and for names Load refused
}

func (j *Jitter) decodeNode(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var on bool
		if err := n.Decode(&on); err != nil {
			return err
		}
		*j = JitterNone
		if on {
			*j = JitterFull
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return errors.New(`want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"`)
	}
	return j.set(n.Value)
}

func (j *Jitter) set(s string) error {
	if _, ok := jitterModes[Jitter(s)]; !ok {
		return fmt.Errorf(`want true, false or a mode: "full", "none", "equal", "decorrelated", "spread"; got %q`, s)
	}
	*j = Jitter(s)
	return nil
}

// UnmarshalJSON reads true, false or a mode name.
func (j *Jitter) UnmarshalJSON(b []byte) error {
	var on bool
	if json.Unmarshal(b, &on) == nil {
		*j = JitterNone
		if on {
			*j = JitterFull
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want true, false or a mode name`)
	}
	return j.set(s)
}

// Fallbacks is the fallback key of a tool: one fallback or a list of them,
// tried in order. Load reads and keeps them; turning a handler name into a
// fallback.Func is up to the program (see middleware.Do).
type Fallbacks []Fallback

// UnmarshalJSON reads one fallback object or a list of them.
func (f *Fallbacks) UnmarshalJSON(b []byte) error {
	var one Fallback
	if json.Unmarshal(b, &one) == nil {
		*f = Fallbacks{one}
		return nil
	}
	var list []Fallback
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*f = list
	return nil
}

// Fallback is one fallback of a tool: another HTTP endpoint, or a native
// handler.
type Fallback struct {
	Type     string `yaml:"type,omitempty" json:"type,omitempty"`         // "http" or "native"
	Handler  string `yaml:"handler,omitempty" json:"handler,omitempty"`   // a native handler's name
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"` // an HTTP fallback's URL
	Method   string `yaml:"method,omitempty" json:"method,omitempty"`     // an HTTP fallback's method
}

// Handler is the handler of a native tool.
type Handler struct {
	Path string `yaml:"path,omitempty" json:"path,omitempty"` // the handler's name
}
