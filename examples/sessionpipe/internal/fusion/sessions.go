package fusion

import (
	"crypto/rand"
	"sync"
	"time"
)

// Role is a session's role in its pipe.
type Role string

// The two roles. A pipe has at most one leader at any time.
const (
	Leader   Role = "leader"
	Follower Role = "follower"
)

// SessionEventKind names what happened to a session.
type SessionEventKind string

// Session lifecycle events reported to [Config.OnSession].
const (
	SessionCreated  SessionEventKind = "created"
	SessionExpired  SessionEventKind = "expired"
	SessionPromoted SessionEventKind = "promoted"
	SessionDropped  SessionEventKind = "dropped" // by Restart
)

// SessionEvent reports a change in a session's life.
type SessionEvent struct {
	Time      time.Time
	Kind      SessionEventKind
	SessionID string
	PipeID    string
	AgentID   string
	Role      Role
}

// SessionInfo describes a live session.
type SessionInfo struct {
	SessionID    string
	PipeID       string
	AgentID      string
	Role         Role
	LastActiveAt time.Time
}

type session struct {
	id, pipeID, agentID string
	lastActive          time.Time
}

// SessionManager tracks sessions, their last_active_at and the leader of
// every pipe. Create one with [NewSessionManager]; it is safe for
// concurrent use. Methods return the lifecycle events they caused so the
// caller can report them outside the lock.
type SessionManager struct {
	timeout time.Duration

	mu       sync.Mutex
	sessions map[string]*session
	leaders  map[string]string // pipe id → leader session id
}

// NewSessionManager returns a manager that expires sessions idle for longer
// than timeout.
func NewSessionManager(timeout time.Duration) *SessionManager {
	return &SessionManager{
		timeout:  timeout,
		sessions: make(map[string]*session),
		leaders:  make(map[string]string),
	}
}

// Create opens a session for agentID on pipeID. It is the pipe's leader if
// the pipe has no live leader, a follower otherwise.
func (m *SessionManager) Create(pipeID, agentID string, now time.Time) (SessionInfo, []SessionEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var evs []SessionEvent
	s := &session{id: rand.Text(), pipeID: pipeID, agentID: agentID, lastActive: now}
	m.sessions[s.id] = s
	role := Follower
	if !m.liveLeaderLocked(pipeID, now, &evs) {
		m.leaders[pipeID] = s.id
		role = Leader
	}
	evs = append(evs, m.event(SessionCreated, s, role, now))
	return m.info(s, role), evs
}

// Touch records activity on a session and returns it with its current
// role; a follower whose pipe has lost its leader is promoted. ok is false
// when the session is unknown or expired (the caller answers "obsolete").
func (m *SessionManager) Touch(id string, now time.Time) (info SessionInfo, ok bool, evs []SessionEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[id]
	if s == nil {
		return SessionInfo{}, false, nil
	}
	if m.expiredLocked(s, now) {
		m.expireLocked(s, now, &evs)
		return SessionInfo{}, false, evs
	}
	s.lastActive = now
	if m.leaders[s.pipeID] != s.id && !m.liveLeaderLocked(s.pipeID, now, &evs) {
		m.leaders[s.pipeID] = s.id
		evs = append(evs, m.event(SessionPromoted, s, Leader, now))
	}
	return m.info(s, m.roleLocked(s)), true, evs
}

// Sweep expires every session idle for longer than the timeout.
func (m *SessionManager) Sweep(now time.Time) []SessionEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var evs []SessionEvent
	for _, s := range m.sessions {
		if m.expiredLocked(s, now) {
			m.expireLocked(s, now, &evs)
		}
	}
	return evs
}

// DropAll forgets every session and leader, as a restarted server would.
func (m *SessionManager) DropAll(now time.Time) []SessionEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var evs []SessionEvent
	for id, s := range m.sessions {
		evs = append(evs, m.event(SessionDropped, s, m.roleLocked(s), now))
		delete(m.sessions, id)
	}
	clear(m.leaders)
	return evs
}

// Sessions lists the live sessions of pipeID ("" for every pipe).
func (m *SessionManager) Sessions(pipeID string) []SessionInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []SessionInfo
	for _, s := range m.sessions {
		if pipeID == "" || s.pipeID == pipeID {
			out = append(out, m.info(s, m.roleLocked(s)))
		}
	}
	return out
}

func (m *SessionManager) expiredLocked(s *session, now time.Time) bool {
	return now.Sub(s.lastActive) > m.timeout
}

// expireLocked removes s; a leader leaves its pipe leaderless until the next
// create or follower heartbeat.
func (m *SessionManager) expireLocked(s *session, now time.Time, evs *[]SessionEvent) {
	role := m.roleLocked(s)
	if role == Leader {
		delete(m.leaders, s.pipeID)
	}
	delete(m.sessions, s.id)
	*evs = append(*evs, m.event(SessionExpired, s, role, now))
}

// liveLeaderLocked reports whether pipeID has a leader that has not expired,
// expiring a stale one on the way.
func (m *SessionManager) liveLeaderLocked(pipeID string, now time.Time, evs *[]SessionEvent) bool {
	id, ok := m.leaders[pipeID]
	if !ok {
		return false
	}
	if s := m.sessions[id]; s != nil && !m.expiredLocked(s, now) {
		return true
	} else if s != nil {
		m.expireLocked(s, now, evs)
	}
	delete(m.leaders, pipeID)
	return false
}

func (m *SessionManager) roleLocked(s *session) Role {
	if m.leaders[s.pipeID] == s.id {
		return Leader
	}
	return Follower
}

func (m *SessionManager) info(s *session, role Role) SessionInfo {
	return SessionInfo{SessionID: s.id, PipeID: s.pipeID, AgentID: s.agentID, Role: role, LastActiveAt: s.lastActive}
}

func (m *SessionManager) event(kind SessionEventKind, s *session, role Role, now time.Time) SessionEvent {
	return SessionEvent{Time: now, Kind: kind, SessionID: s.id, PipeID: s.pipeID, AgentID: s.agentID, Role: role}
}
