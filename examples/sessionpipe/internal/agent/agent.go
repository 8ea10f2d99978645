package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// State is the agent's health as its Status reports it.
type State string

// The agent's states.
const (
	Connecting State = "connecting" // no session yet, or the last one went obsolete
	Ready      State = "ready"      // has a session; the last operation succeeded or errors are few
	Degraded   State = "degraded"   // MaxConsecutiveErrors or more errors in a row
	Stopped    State = "stopped"    // Run has returned
)

// EventKind names a step of the control loop.
type EventKind string

// Steps reported to Config.OnEvent.
const (
	SessionCreated   EventKind = "session"   // a session was created; Role and SessionID set
	RoleChanged      EventKind = "role"      // a heartbeat answered a new role
	HeartbeatSkipped EventKind = "skip"      // a push ack within the interval stood in for a heartbeat
	Pushed           EventKind = "push"      // N events acknowledged
	Obsolete         EventKind = "obsolete"  // the session went obsolete; reconnecting at once
	Failed           EventKind = "error"     // an operation failed; Err, Class and Delay set
	BecameDegraded   EventKind = "degraded"  // MaxConsecutiveErrors reached
	Recovered        EventKind = "recovered" // first success after errors
	Audited          EventKind = "audit"     // the leader checked the view; N entries
	StoppedRunning   EventKind = "stopped"   // Run returned
)

// Event is one step of the control loop.
type Event struct {
	Time      time.Time
	Agent     string
	Kind      EventKind
	Op        string // the failed operation, for Failed: "create session", "heartbeat", "push", "audit"
	SessionID string
	Role      fusion.Role
	N         int            // events pushed, view entries audited, consecutive errors
	Err       error          // for Failed
	Class     errtrack.Class // error class, for Failed
	Delay     time.Duration  // backoff before the next try, for Failed
}

// Status is a snapshot of an agent.
type Status struct {
	Agent             string
	State             State
	SessionID         string
	Role              fusion.Role
	ConsecutiveErrors int
	Breaker           string                    // "" without Config.BreakerState
	ErrorsByClass     map[errtrack.Class]uint64 // every failed operation, by class
	Spooled           int                       // events waiting for an ack
	Submitted         uint64
	Acked             uint64
	Sessions          int    // sessions created so far
	Heartbeats        uint64 // heartbeats sent
	SkippedHeartbeats uint64
	BackpressureWaits uint64 // Submit calls that waited for room in the spool
}

// Agent is an AgentPipe: it keeps a session with fusion and delivers the
// events submitted to it, in order, until each is acknowledged. Create it
// with [New], feed it with [Agent.Submit] and drive it with [Agent.Run].
type Agent struct {
	cfg      Config
	client   *http.Client
	spool    *spool
	tracker  *errtrack.Tracker
	due      chan struct{} // closed: always ready
	requests atomic.Uint64 // numbers Idempotency-Keys
	running  atomic.Bool   // a Run has not returned
	batch    int           // events per push, at most cfg.BatchSize; Run's goroutine only

	mu          sync.Mutex
	state       State
	sessionID   string
	role        fusion.Role
	interval    time.Duration
	consecutive int
	obsoleted   int // sessions found obsolete since the last call a session served
	lastAck     time.Time
	skipped     int // heartbeats skipped in a row
	submitted   uint64
	acked       uint64
	sessions    int
	heartbeats  uint64
	skips       uint64
}

// New validates cfg and returns an agent.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Fusion = strings.TrimRight(cfg.Fusion, "/")
	due := make(chan struct{})
	close(due)
	return &Agent{
		cfg:     cfg,
		client:  &http.Client{Transport: cfg.Transport},
		spool:   newSpool(cfg.SpoolSize),
		tracker: errtrack.New(errtrack.Config{}),
		state:   Connecting,
		due:     due,
		batch:   cfg.BatchSize,
	}, nil
}

// Submit queues ev for delivery. It blocks while the spool is full
// (backpressure) and returns ctx's error if ctx ends first; an event
// Submit accepted is never dropped. An event fusion could never accept
// (see [ErrInvalidEvent] and Config.MaxEventBytes) is refused at once with
// an error wrapping ErrInvalidEvent, so it cannot hold up the events behind
// it.
func (a *Agent) Submit(ctx context.Context, ev fusion.Event) error {
	if err := a.checkEvent(ev); err != nil {
		return err
	}
	if err := a.spool.put(ctx, ev); err != nil {
		return err
	}
	a.mu.Lock()
	a.submitted++
	a.mu.Unlock()
	return nil
}

func (a *Agent) checkEvent(ev fusion.Event) error {
	switch {
	case ev.Key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidEvent)
	case !utf8.ValidString(ev.Key):
		return fmt.Errorf("%w: key %q is not valid UTF-8", ErrInvalidEvent, ev.Key)
	case math.IsNaN(ev.Mtime) || math.IsInf(ev.Mtime, 0):
		return fmt.Errorf("%w: key %q: mtime %v", ErrInvalidEvent, ev.Key, ev.Mtime)
	case !utf8.ValidString(ev.Payload):
		return fmt.Errorf("%w: key %q: payload is not valid UTF-8", ErrInvalidEvent, ev.Key)
	}
	if b, err := json.Marshal(ev); err != nil || len(b) > a.cfg.MaxEventBytes {
		return fmt.Errorf("%w: key %q: %d bytes as JSON, more than MaxEventBytes %d", ErrInvalidEvent, ev.Key, len(b), a.cfg.MaxEventBytes)
	}
	return nil
}

// Flush waits until every submitted event has been acknowledged.
func (a *Agent) Flush(ctx context.Context) error { return a.spool.waitEmpty(ctx) }

// Status returns a snapshot of the agent.
func (a *Agent) Status() Status {
	a.mu.Lock()
	st := Status{
		Agent:             a.cfg.AgentID,
		State:             a.state,
		SessionID:         a.sessionID,
		Role:              a.role,
		ConsecutiveErrors: a.consecutive,
		Submitted:         a.submitted,
		Acked:             a.acked,
		Sessions:          a.sessions,
		Heartbeats:        a.heartbeats,
		SkippedHeartbeats: a.skips,
	}
	a.mu.Unlock()
	if a.cfg.BreakerState != nil {
		st.Breaker = a.cfg.BreakerState()
	}
	st.ErrorsByClass = a.tracker.ByClass()
	st.Spooled = a.spool.len()
	st.BackpressureWaits = a.spool.backpressureWaits()
	return st
}

// Run drives the control loop until ctx ends: create a session, then
// heartbeat, push and (as leader) audit; back off after errors; reconnect at
// once when the session goes obsolete. It returns nil when ctx ends, or
// [ErrRunning] at once if another Run of a has not returned yet.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer a.running.Store(false)
	bo := newBackoff(a.cfg)
	heartbeat := time.NewTimer(a.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	audit := time.NewTicker(a.cfg.AuditInterval)
	defer audit.Stop()
	defer func() {
		a.mu.Lock()
		a.state = Stopped
		a.mu.Unlock()
		a.emit(Event{Kind: StoppedRunning})
	}()
	for ctx.Err() == nil {
		if a.session() == "" {
			err := a.createSession(ctx)
			if err == nil {
				heartbeat.Reset(a.heartbeatInterval())
			}
			a.settle(ctx, "create session", err, bo)
			continue
		}
		push := a.spool.added
		if a.spool.len() > 0 {
			push = a.due // a push is due now; timers still get their turn
		}
		var op string
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-push:
			op, err = "push", a.push(ctx)
		case <-heartbeat.C:
			if !a.skipHeartbeat() {
				op, err = "heartbeat", a.heartbeat(ctx)
			}
			heartbeat.Reset(a.heartbeatInterval())
		case <-audit.C:
			if a.currentRole() == fusion.Leader {
				op, err = "audit", a.audit(ctx)
			}
		}
		if op != "" {
			a.settle(ctx, op, err, bo)
		}
	}
	return nil
}

// settle records the outcome of one operation: success resets the backoff,
// an obsolete session is dropped (the loop reconnects at once, unless the
// session before it went obsolete too without serving a call), and any
// other error is tracked and followed by the next backoff delay.
func (a *Agent) settle(ctx context.Context, op string, err error, bo *backoff.Sequence) {
	if err == nil {
		a.mu.Lock()
		if op == "create session" && a.obsoleted > 1 {
			// Sessions keep going obsolete at once: a new one proves
			// nothing yet, so the backoff goes on.
			a.mu.Unlock()
			return
		}
		had := a.consecutive
		a.consecutive = 0
		if op != "create session" {
			a.obsoleted = 0
		}
		a.state = Ready
		a.mu.Unlock()
		if had > 0 {
			bo.Reset()
			a.emit(Event{Kind: Recovered, N: had})
		}
		return
	}
	if ctx.Err() != nil {
		return // stopping, not failing
	}
	if obs := new(SessionObsoletedError); errors.As(err, &obs) {
		a.mu.Lock()
		a.sessionID, a.role, a.state = "", "", Connecting
		a.obsoleted++
		again := a.obsoleted > 1
		a.mu.Unlock()
		a.emit(Event{Kind: Obsolete, SessionID: obs.SessionID, Err: err})
		if !again {
			return // reconnect at once
		}
		// The new session went obsolete before serving a single call: a
		// server that keeps doing so must not be hammered. Back off as
		// after any other error.
	}
	class := a.tracker.Track(err)
	delay := bo.Next()
	a.mu.Lock()
	a.consecutive++
	n := a.consecutive
	degraded := n == a.cfg.MaxConsecutiveErrors
	if n >= a.cfg.MaxConsecutiveErrors {
		a.state = Degraded
	}
	a.mu.Unlock()
	a.emit(Event{Kind: Failed, Op: op, Err: err, Class: class, Delay: delay, N: n})
	if degraded {
		a.emit(Event{Kind: BecameDegraded, N: n})
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (a *Agent) session() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessionID
}

func (a *Agent) currentRole() fusion.Role {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.role
}

func (a *Agent) heartbeatInterval() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.interval
}

func (a *Agent) createSession(ctx context.Context) error {
	var out struct {
		SessionID         string      `json:"session_id"`
		Role              fusion.Role `json:"role"`
		HeartbeatInterval float64     `json:"heartbeat_interval_seconds"`
	}
	body := map[string]string{"pipe_id": a.cfg.PipeID, "agent_id": a.cfg.AgentID}
	if err := a.do(ctx, "create session", http.MethodPost, "/api/v1/pipe/sessions/", "", body, &out); err != nil {
		return err
	}
	if out.SessionID == "" {
		return &StatusError{Op: "create session", Code: http.StatusCreated, Body: "answer without session_id"}
	}
	interval := a.cfg.HeartbeatInterval
	if s := out.HeartbeatInterval; s > 0 && s < maxDuration.Seconds() && time.Duration(s*float64(time.Second)) > 0 {
		interval = time.Duration(s * float64(time.Second))
	}
	a.mu.Lock()
	a.sessionID, a.role, a.interval = out.SessionID, out.Role, interval
	a.sessions++
	a.skipped = 0
	a.mu.Unlock()
	a.emit(Event{Kind: SessionCreated})
	return nil
}

// skipHeartbeat reports whether this heartbeat can be skipped: a push was
// acknowledged within the interval and few heartbeats were skipped in a row.
func (a *Agent) skipHeartbeat() bool {
	a.mu.Lock()
	skip := !a.lastAck.IsZero() && time.Since(a.lastAck) < a.interval && a.skipped < a.cfg.MaxSkippedHeartbeats
	if skip {
		a.skipped++
		a.skips++
	} else {
		a.skipped = 0
	}
	a.mu.Unlock()
	if skip {
		a.emit(Event{Kind: HeartbeatSkipped})
	}
	return skip
}

func (a *Agent) heartbeat(ctx context.Context) error {
	a.mu.Lock()
	id := a.sessionID
	a.heartbeats++
	a.mu.Unlock()
	var out struct {
		Role fusion.Role `json:"role"`
	}
	if err := a.do(ctx, "heartbeat", http.MethodPost, "/api/v1/pipe/sessions/"+id+"/heartbeat", id, nil, &out); err != nil {
		return err
	}
	a.mu.Lock()
	changed := a.sessionID == id && a.role != out.Role
	if a.sessionID == id {
		a.role = out.Role
	}
	a.mu.Unlock()
	if changed {
		a.emit(Event{Kind: RoleChanged})
	}
	return nil
}

// push sends the events at the head of the spool and commits them once
// acknowledged. A batch fusion finds too large (413) is halved and sent
// again at once; the batch grows back by one event after each success.
func (a *Agent) push(ctx context.Context) error {
	var batch []fusion.Event
	var out struct {
		Acked int `json:"acked"`
	}
	for {
		batch = a.spool.peek(a.batch)
		if len(batch) == 0 {
			return nil
		}
		id := a.session()
		body := map[string][]fusion.Event{"events": batch}
		err := a.do(ctx, "push", http.MethodPost, "/api/v1/pipe/sessions/"+id+"/events", id, body, &out)
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge && len(batch) > 1 {
			a.batch = len(batch) / 2
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	a.batch = min(a.batch+1, a.cfg.BatchSize)
	if out.Acked != len(batch) {
		return &StatusError{Op: "push", Code: http.StatusOK, Body: fmt.Sprintf("acked %d of %d events", out.Acked, len(batch))}
	}
	// Count the acknowledgement before the spool lets Flush return, so a
	// Status read after Flush sees it.
	a.mu.Lock()
	a.acked += uint64(len(batch))
	a.lastAck = time.Now()
	a.mu.Unlock()
	a.spool.commit(len(batch))
	a.emit(Event{Kind: Pushed, N: len(batch)})
	return nil
}

func (a *Agent) audit(ctx context.Context) error {
	var out struct {
		Entries map[string]fusion.Entry `json:"entries"`
	}
	if err := a.do(ctx, "audit", http.MethodGet, "/api/v1/pipe/view?pipe_id="+url.QueryEscape(a.cfg.PipeID), "", nil, &out); err != nil {
		return err
	}
	a.emit(Event{Kind: Audited, N: len(out.Entries)})
	return nil
}

// do sends one request and decodes the expected answer into out. A 410 on
// a session path becomes a *SessionObsoletedError; any other unexpected
// status a *StatusError. Requests that are safe to repeat carry an
// Idempotency-Key so the transport may retry them.
func (a *Agent) do(ctx context.Context, op, method, path, sessionID string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	var body io.Reader
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("agent: %s: %w", op, err)
		}
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.Fusion+path, body)
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sessionID != "" {
		// Pushes and heartbeats: arbitration makes re-delivery harmless,
		// and a heartbeat is naturally idempotent. The transport resends
		// the same request, so its attempts share the key.
		req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%s-%d", sessionID, op, a.requests.Add(1)))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("agent: %s: reading the answer: %w", op, err)
	}
	switch {
	case resp.StatusCode == http.StatusGone && sessionID != "":
		return &SessionObsoletedError{SessionID: sessionID}
	case resp.StatusCode != wantStatus(op):
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return &StatusError{Op: op, Code: resp.StatusCode, Body: e.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("agent: %s: malformed answer: %w", op, err)
	}
	return nil
}

func wantStatus(op string) int {
	if op == "create session" {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (a *Agent) emit(ev Event) {
	if a.cfg.OnEvent == nil {
		return
	}
	a.mu.Lock()
	ev.Time = time.Now()
	ev.Agent = a.cfg.AgentID
	if ev.SessionID == "" {
		ev.SessionID = a.sessionID
	}
	ev.Role = a.role
	a.mu.Unlock()
	a.cfg.OnEvent(ev)
}
