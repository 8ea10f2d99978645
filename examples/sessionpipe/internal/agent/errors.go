package agent

import (
	"errors"
	"fmt"
	"net/http"
)

// SessionObsoletedError reports that fusion no longer knows the agent's
// session (it expired, or fusion restarted): the agent drops it and creates
// a new one at once, without backoff.
type SessionObsoletedError struct {
	SessionID string
}

func (e *SessionObsoletedError) Error() string {
	return fmt.Sprintf("agent: session %s obsolete", e.SessionID)
}

// StatusError is an unexpected HTTP answer from fusion. Its StatusCode lets
// errtrack classify it (503 → service_unavailable, 429 → rate_limit...).
type StatusError struct {
	Op   string // "create session", "heartbeat", "push", "audit"
	Code int
	Body string // the server's "error" field, if any
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("agent: %s: %d %s", e.Op, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// StatusCode returns the HTTP status.
func (e *StatusError) StatusCode() int { return e.Code }

// ErrInvalidEvent is returned by [Agent.Submit] for an event fusion could
// never accept: an empty key, a NaN or infinite mtime, a key or payload
// that is not valid UTF-8 (JSON would silently replace the bad bytes), or
// one larger than Config.MaxEventBytes as JSON.
var ErrInvalidEvent = errors.New("agent: invalid event")

// ErrRunning is returned by [Agent.Run] when another Run of the same agent
// has not returned yet.
var ErrRunning = errors.New("agent: Run is already running")
