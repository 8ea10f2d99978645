package fusion

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Config configures a [Server]. A zero field takes the default in its comment.
type Config struct {
	// SessionTimeout is how long a session may stay idle before it expires
	// (session_timeout_seconds). Default 30s.
	SessionTimeout time.Duration
	// HeartbeatInterval is the interval suggested to agents in the session
	// response. Default SessionTimeout/3 (10s for the default timeout), at
	// least 1ns.
	HeartbeatInterval time.Duration
	// SweepInterval is how often the sweeper looks for idle sessions.
	// Default SessionTimeout/4, at least 1ms.
	SweepInterval time.Duration
	// MaxBodyBytes bounds request bodies; larger ones answer 413. Default 1 MiB.
	MaxBodyBytes int64
	// OnSession, if set, is called (outside the server's lock) for every
	// session created, expired, promoted or dropped.
	OnSession func(SessionEvent)
}

func (c Config) withDefaults() Config {
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 30 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = max(c.SessionTimeout/3, 1)
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = max(c.SessionTimeout/4, time.Millisecond)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	return c
}

// Server serves the session pipe protocol. Create it with [New] and stop its
// sweeper with [Server.Close].
type Server struct {
	cfg      Config
	sessions *SessionManager
	mux      *http.ServeMux

	mu     sync.Mutex
	views  map[string]*View
	faults faults

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type faults struct {
	failUntil, slowUntil, hangUntil time.Time
	latency                         time.Duration
}

// New returns a Server and starts its session sweeper.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		sessions: NewSessionManager(cfg.SessionTimeout),
		mux:      http.NewServeMux(),
		views:    make(map[string]*View),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.mux.HandleFunc("POST /api/v1/pipe/sessions/{$}", s.createSession)
	s.mux.HandleFunc("POST /api/v1/pipe/sessions/{id}/heartbeat", s.heartbeat)
	s.mux.HandleFunc("POST /api/v1/pipe/sessions/{id}/events", s.pushEvents)
	s.mux.HandleFunc("GET /api/v1/pipe/view", s.view)
	go s.sweep()
	return s
}

// Close stops the sweeper and waits for it to return. It does not close
// any listener. Close is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Server) sweep() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.report(s.sessions.Sweep(now))
		}
	}
}

func (s *Server) report(evs []SessionEvent) {
	if s.cfg.OnSession == nil {
		return
	}
	for _, ev := range evs {
		s.cfg.OnSession(ev)
	}
}

// Sessions lists the live sessions of pipeID ("" for all pipes).
func (s *Server) Sessions(pipeID string) []SessionInfo { return s.sessions.Sessions(pipeID) }

// View returns a copy of the entries of pipeID's view. Reading the view of
// a pipe nobody pushed to keeps nothing.
func (s *Server) View(pipeID string) map[string]Entry {
	s.mu.Lock()
	v := s.views[pipeID]
	s.mu.Unlock()
	if v == nil {
		return map[string]Entry{}
	}
	return v.Snapshot()
}

func (s *Server) pipeView(pipeID string) *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[pipeID]
	if v == nil {
		v = new(View)
		s.views[pipeID] = v
	}
	return v
}

// Restart forgets every session, as a restarted fusion would; views are
// kept. Agents see their sessions as obsolete on their next request. It
// returns how many sessions were dropped.
func (s *Server) Restart() int {
	evs := s.sessions.DropAll(time.Now())
	s.report(evs)
	return len(evs)
}

// FailFor makes every request answer 503 for d.
func (s *Server) FailFor(d time.Duration) {
	s.setFault(func(f *faults) { f.failUntil = time.Now().Add(d) })
}

// SlowFor delays every request by latency for d.
func (s *Server) SlowFor(d, latency time.Duration) {
	s.setFault(func(f *faults) { f.slowUntil, f.latency = time.Now().Add(d), latency })
}

// HangFor makes every request hang for d: it is answered only when d has
// passed, unless the client gives up first.
func (s *Server) HangFor(d time.Duration) {
	s.setFault(func(f *faults) { f.hangUntil = time.Now().Add(d) })
}

// Heal clears every injected fault.
func (s *Server) Heal() { s.setFault(func(f *faults) { *f = faults{} }) }

func (s *Server) setFault(fn func(*faults)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.faults)
}

// ServeHTTP serves the protocol, after any injected fault.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	now := time.Now()
	wait := time.Duration(0)
	if now.Before(f.hangUntil) {
		wait = f.hangUntil.Sub(now)
	} else if now.Before(f.slowUntil) {
		wait = f.latency
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if time.Now().Before(f.failUntil) {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{"fusion unavailable"})
		return
	}
	s.mux.ServeHTTP(w, r)
}

type errorBody struct {
	Error string `json:"error"`
}

var obsolete = errorBody{"session obsolete"}

type createRequest struct {
	PipeID  string `json:"pipe_id"`
	AgentID string `json:"agent_id"`
}

type createResponse struct {
	SessionID         string  `json:"session_id"`
	Role              Role    `json:"role"`
	HeartbeatInterval float64 `json:"heartbeat_interval_seconds"`
	SessionTimeout    float64 `json:"session_timeout_seconds"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !s.decode(w, r, &req) {
		return
	}
	switch {
	case req.PipeID == "":
		writeJSON(w, http.StatusBadRequest, errorBody{`missing "pipe_id"`})
		return
	case req.AgentID == "":
		writeJSON(w, http.StatusBadRequest, errorBody{`missing "agent_id"`})
		return
	}
	info, evs := s.sessions.Create(req.PipeID, req.AgentID, time.Now())
	s.report(evs)
	writeJSON(w, http.StatusCreated, createResponse{
		SessionID:         info.SessionID,
		Role:              info.Role,
		HeartbeatInterval: s.cfg.HeartbeatInterval.Seconds(),
		SessionTimeout:    s.cfg.SessionTimeout.Seconds(),
	})
}

type heartbeatResponse struct {
	Role Role `json:"role"`
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	info, ok, evs := s.sessions.Touch(r.PathValue("id"), time.Now())
	s.report(evs)
	if !ok {
		writeJSON(w, http.StatusGone, obsolete)
		return
	}
	writeJSON(w, http.StatusOK, heartbeatResponse{Role: info.Role})
}

type eventsRequest struct {
	Events []struct {
		Key     *string  `json:"key"`
		Mtime   *float64 `json:"mtime"`
		Seq     *int64   `json:"seq"`
		Payload string   `json:"payload"`
	} `json:"events"`
}

type eventsResponse struct {
	Acked int `json:"acked"`
}

func (s *Server) pushEvents(w http.ResponseWriter, r *http.Request) {
	var req eventsRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Events == nil {
		writeJSON(w, http.StatusBadRequest, errorBody{`missing "events"`})
		return
	}
	events := make([]Event, len(req.Events))
	for i, e := range req.Events {
		var missing string
		switch {
		case e.Key == nil || *e.Key == "":
			missing = "key"
		case e.Mtime == nil:
			missing = "mtime"
		case e.Seq == nil:
			missing = "seq"
		}
		if missing != "" {
			writeJSON(w, http.StatusBadRequest, errorBody{fmt.Sprintf("events[%d]: missing %q", i, missing)})
			return
		}
		events[i] = Event{Key: *e.Key, Mtime: *e.Mtime, Seq: *e.Seq, Payload: e.Payload}
	}
	info, ok, evs := s.sessions.Touch(r.PathValue("id"), time.Now())
	s.report(evs)
	if !ok {
		writeJSON(w, http.StatusGone, obsolete)
		return
	}
	s.pipeView(info.PipeID).Apply(events)
	writeJSON(w, http.StatusOK, eventsResponse{Acked: len(events)})
}

type viewResponse struct {
	Entries map[string]Entry `json:"entries"`
}

func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	pipeID := r.URL.Query().Get("pipe_id")
	if pipeID == "" {
		writeJSON(w, http.StatusBadRequest, errorBody{`missing query parameter "pipe_id"`})
		return
	}
	writeJSON(w, http.StatusOK, viewResponse{Entries: s.View(pipeID)})
}

// decode reads one JSON object from the size-limited body into v, answering
// 400 or 413 itself when it cannot.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		return true
	}
	if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes)})
		return false
	}
	writeJSON(w, http.StatusBadRequest, errorBody{"malformed JSON: " + err.Error()})
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
