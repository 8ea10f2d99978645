package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// timeline prints what happens, stamped with the time of the story: real
// elapsed time divided by the scale (real seconds per story second).
type timeline struct {
	w     io.Writer
	start time.Time
	scale float64

	mu       sync.Mutex
	skips    map[string]int
	announce map[string]bool // print the next push of this agent
}

// maxSkipsShown bounds the skipped-heartbeat lines per agent; the rest are
// counted in the summary.
const maxSkipsShown = 2

func newTimeline(w io.Writer, scale float64) *timeline {
	return &timeline{w: w, start: time.Now(), scale: scale, skips: map[string]int{}, announce: map[string]bool{}}
}

// story converts a real duration to story time.
func (tl *timeline) story(d time.Duration) time.Duration {
	return time.Duration(float64(d) / tl.scale).Round(100 * time.Millisecond)
}

func (tl *timeline) printf(who, format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.printLocked(who, format, args...)
}

func (tl *timeline) printLocked(who, format string, args ...any) {
	t := float64(time.Since(tl.start)) / tl.scale / float64(time.Second)
	fmt.Fprintf(tl.w, "%7.1fs  %-7s %s\n", t, who, fmt.Sprintf(format, args...))
}

// phase prints a scenario step.
func (tl *timeline) phase(format string, args ...any) {
	tl.printf("~~~~~", format, args...)
}

// agentEvent prints an agent's step.
func (tl *timeline) agentEvent(ev agent.Event) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	who := ev.Agent
	switch ev.Kind {
	case agent.SessionCreated:
		tl.printLocked(who, "session %s created: %s", short(ev.SessionID), ev.Role)
		tl.announce[who] = true
	case agent.RoleChanged:
		tl.printLocked(who, "heartbeat answered %q: this agent is now the %s", ev.Role, ev.Role)
	case agent.HeartbeatSkipped:
		tl.skips[who]++
		switch n := tl.skips[who]; {
		case n <= maxSkipsShown:
			tl.printLocked(who, "heartbeat skipped: a push was acknowledged within the interval")
		case n == maxSkipsShown+1:
			tl.printLocked(who, "(further skipped heartbeats are counted in the summary)")
		}
	case agent.Pushed:
		if tl.announce[who] {
			tl.announce[who] = false
			tl.printLocked(who, "pushed %s, acknowledged", plural(ev.N, "event"))
		}
	case agent.Obsolete:
		tl.printLocked(who, "session %s obsolete (410): dropped, creating a new one at once", short(ev.SessionID))
	case agent.Failed:
		tl.printLocked(who, "%s failed: %s [%s]; error %d, next try in %v", ev.Op, brief(ev.Err), ev.Class, ev.N, tl.story(ev.Delay))
	case agent.BecameDegraded:
		tl.printLocked(who, "status DEGRADED after %d consecutive errors; still trying", ev.N)
	case agent.Recovered:
		tl.printLocked(who, "recovered after %d consecutive errors; backoff reset", ev.N)
		tl.announce[who] = true
	case agent.Audited:
		tl.printLocked(who, "leader audit: the view holds %d keys", ev.N)
	case agent.StoppedRunning:
		tl.printLocked(who, "stopped")
	}
}

// fusionEvent prints a session change seen by fusion.
func (tl *timeline) fusionEvent(ev fusion.SessionEvent) {
	switch ev.Kind {
	case fusion.SessionExpired:
		tl.printf("fusion", "session %s of %s (%s) expired: idle longer than the session timeout", short(ev.SessionID), ev.AgentID, ev.Role)
	case fusion.SessionPromoted:
		tl.printf("fusion", "session %s of %s promoted to leader", short(ev.SessionID), ev.AgentID)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func short(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}

// brief shortens an error for the timeline.
func brief(err error) string {
	var se *agent.StatusError
	switch {
	case errors.As(err, &se):
		return strings.TrimPrefix(se.Error(), "agent: "+se.Op+": ")
	case errors.Is(err, breaker.ErrOpen):
		return "rejected at once by the open breaker"
	case errors.Is(err, breaker.ErrTooManyCalls):
		return "rejected: the half-open breaker is busy with its probe"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "\": "); i >= 0 {
		msg = msg[i+3:] // drop the request URL
	}
	return msg
}
