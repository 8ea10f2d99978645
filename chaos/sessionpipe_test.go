package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	pipeID         = "chaos-pipe"
	pipeAgents     = 2
	pipeEvents     = 400 // per agent
	pipeEvery      = 20 * time.Millisecond
	sessionTimeout = 1500 * time.Millisecond
	// pipeBreakerOpen is how long an agent's breaker stays open (60s in the
	// program's defaults): twice the session timeout, so that a session
	// still expires while the breaker holds the agent back.
	pipeBreakerOpen = 3 * time.Second
)

// pipeConfig is an agent-pipes-config file with the guide's keys and
// compressed times: sessions expire after 1.5s, errors back off from 50ms up
// to 400ms.
const pipeConfig = `id: chaos-pipe
session_timeout_seconds: 1.5
heartbeat_interval_sec: 0.5
audit_interval_sec: 600
sentinel_interval_sec: 120
error_retry_interval: 0.05
max_consecutive_errors: 5
backoff_multiplier: 2
max_backoff_seconds: 0.4
`

// entry is one key of the fusion view.
type entry struct {
	Mtime   float64 `json:"mtime"`
	Seq     int64   `json:"seq"`
	Payload string  `json:"payload"`
}

// newer reports whether e is a later version than o (LogicalClock order).
func (e entry) newer(o entry) bool {
	return e.Mtime > o.Mtime || (e.Mtime == o.Mtime && e.Seq > o.Seq)
}

// fetchView reads the pipe's view straight from a fusion server.
func fetchView(base string) (map[string]entry, error) {
	resp, err := http.Get(base + "/api/v1/pipe/view?pipe_id=" + pipeID)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("view: status %d", resp.StatusCode)
	}
	var v struct {
		Entries map[string]entry `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	return v.Entries, nil
}

// merge keeps, per key, the latest version found in any of the views.
func merge(views ...map[string]entry) map[string]entry {
	out := map[string]entry{}
	for _, v := range views {
		for k, e := range v {
			if old, ok := out[k]; !ok || e.newer(old) {
				out[k] = e
			}
		}
	}
	return out
}

// missing lists, per agent, the event numbers absent from the view, and the
// keys whose entry is not the event that agent produced for it.
func missing(view map[string]entry) (lost []string, wrong []string) {
	for a := 1; a <= pipeAgents; a++ {
		id := "agent-" + strconv.Itoa(a)
		seen := map[int64]bool{}
		for k, e := range view {
			if !strings.Contains(k, "/"+id+"/") {
				continue
			}
			seen[e.Seq] = true
			if e.Payload != strconv.FormatInt(e.Seq, 10) || e.Seq < 0 || e.Seq >= pipeEvents {
				wrong = append(wrong, fmt.Sprintf("%s=%+v", k, e))
			}
		}
		for n := range int64(pipeEvents) {
			if !seen[n] {
				lost = append(lost, fmt.Sprintf("%s#%d", id, n))
			}
		}
	}
	return lost, wrong
}

// startFusion runs `sessionpipe fusion` on addr and returns it with its URL.
func startFusion(t *testing.T, bin, addr string) (*proc, string) {
	p := startProc(t, "fusion@"+addr, bin, "fusion", "-addr", addr, "-session-timeout", sessionTimeout.String())
	return p, "http://" + strings.TrimPrefix(strings.TrimSpace(p.waitFor("fusion listening on ", 20*time.Second)), "http://")
}

var (
	summaryRE  = regexp.MustCompile(`(\d+) submitted, (\d+) acknowledged, (\d+) still spooled`)
	sessionsRE = regexp.MustCompile(`(\d+) sessions`)
)

// TestSessionPipeUnderChaos runs the session pipe's fusion server and two
// agents as separate processes, built from examples/sessionpipe, with
// Toxiproxy between the agents and fusion. While each agent produces 400
// events, the test adds latency, resets connections, cuts the network for
// longer than the session timeout (every session expires, so the agents see
// "session obsolete" and reconnect) and restarts the fusion process. It then
// checks that no event was lost, that every key of the view holds the latest
// version produced for it, that both agents acknowledged everything, and
// that each reconnected after the outage and after the restart.
//
// The restart loses the old process's memory, so the view checked is the
// union of the view the old process held when it was stopped (the network
// to it cut first, so no acknowledgement can escape unrecorded) and the
// view of the new one, latest version per key.
func TestSessionPipeUnderChaos(t *testing.T) {
	checkLeaks(t)
	bin := buildSessionPipe(t)
	cfg := filepath.Join(t.TempDir(), "chaos-pipe.yaml")
	if err := os.WriteFile(cfg, []byte(pipeConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	fusion, fusionURL := startFusion(t, bin, "127.0.0.1:0")
	p := startProxy(t, strings.TrimPrefix(fusionURL, "http://"))

	var agents []*proc
	for a := 1; a <= pipeAgents; a++ {
		id := "agent-" + strconv.Itoa(a)
		agents = append(agents, startProc(t, id, bin, "agent", "-fusion", p.URL(), "-config", cfg,
			"-agent-id", id, "-events", strconv.Itoa(pipeEvents), "-every", pipeEvery.String(),
			"-breaker-open", pipeBreakerOpen.String()))
	}

	w := newWriter(p.URL(), newBaseTransport(t))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- w.run(ctx) }()

	began := time.Now()
	at := func(d time.Duration, what string, f func()) {
		time.Sleep(time.Until(began.Add(d)))
		t.Logf("%5v  %s", round(time.Since(began)), what)
		f()
	}
	var before map[string]entry
	at(300*time.Millisecond, "latency 100ms ± 50ms on both directions", func() {
		p.Add("latency", "downstream", map[string]any{"latency": 100, "jitter": 50})
		p.Add("latency", "upstream", map[string]any{"latency": 100, "jitter": 50})
	})
	at(1300*time.Millisecond, "latency off; reset_peer on every connection", func() {
		p.Clear()
		p.Add("reset_peer", "upstream", map[string]any{"timeout": 0})
	})
	at(2000*time.Millisecond, "reset_peer off; network down (longer than the session timeout)", func() {
		p.Clear()
		p.Down()
	})
	at(2000*time.Millisecond+sessionTimeout+time.Second, "network up", p.Up)
	at(5500*time.Millisecond, "fusion restart: network down, old view saved, process stopped and started again", func() {
		p.Down()
		time.Sleep(200 * time.Millisecond) // let handlers already running finish
		var err error
		if before, err = fetchView(fusionURL); err != nil {
			t.Fatalf("view before restart: %v", err)
		}
		fusion.stop()
		fusion, _ = startFusion(t, bin, strings.TrimPrefix(fusionURL, "http://"))
		p.Up()
	})

	if err := <-werr; err != nil {
		t.Errorf("writer: %v", err)
	}
	t.Logf("%5v  writer done: %d batches acknowledged, %d sent again, %d sessions",
		round(time.Since(began)), w.batches.Load(), w.resends.Load(), w.renewed.Load())

	// Wait until every event is in the view, or 120s: the agent program's
	// breaker (examples/sessionpipe, not configurable from its command
	// line) stays open 60s once the faults have opened it.
	var view map[string]entry
	var lost, wrong []string
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after, err := fetchView(fusionURL)
		if err == nil {
			view = merge(before, after)
			if lost, wrong = missing(view); len(lost) == 0 && len(view) == pipeAgents*pipeEvents+writerKeys {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	complete := time.Since(began)
	t.Logf("%5v  view complete: %d keys, %d of them held by the old process when it stopped", round(complete), len(view), len(before))

	for i, a := range agents {
		out := a.stop()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		t.Log(last)
		m := summaryRE.FindStringSubmatch(last)
		if m == nil {
			t.Errorf("agent-%d printed no summary:\n%s", i+1, out)
			continue
		}
		if m[1] != strconv.Itoa(pipeEvents) || m[2] != strconv.Itoa(pipeEvents) || m[3] != "0" {
			t.Errorf("agent-%d: %s submitted, %s acknowledged, %s spooled; want %d, %d, 0", i+1, m[1], m[2], m[3], pipeEvents, pipeEvents)
		}
		// The resets and the outage must have opened the agent's breaker,
		// and it must have closed again to deliver the rest.
		if !strings.Contains(out, "breaker closed -> open") || !strings.Contains(out, "breaker half-open -> closed") {
			t.Errorf("agent-%d: its breaker did not open and close again:\n%s", i+1, out)
		}
		// The outage outlived every session and the restart forgot them
		// all: each agent must have found its session obsolete and opened
		// another (once, if its breaker was still open at the restart).
		if m := sessionsRE.FindStringSubmatch(last); m == nil {
			t.Errorf("agent-%d: no session count in its summary", i+1)
		} else if n, _ := strconv.Atoi(m[1]); n < 2 {
			t.Errorf("agent-%d opened %d sessions; the outage and the restart should have made it open another", i+1, n)
		}
	}
	fusion.stop()

	if len(lost) > 0 {
		t.Errorf("%d of %d events lost: %v", len(lost), pipeAgents*pipeEvents, lost)
	}
	if len(wrong) > 0 {
		t.Errorf("%d keys hold something other than the latest version produced: %v", len(wrong), wrong)
	}
	for k := range writerKeys {
		want := entry{Mtime: writerBase + writerVersions, Seq: writerVersions, Payload: "v" + strconv.Itoa(writerVersions)}
		if got := view[writerKey(k)]; got != want {
			t.Errorf("%s = %+v, want the latest version %+v", writerKey(k), got, want)
		}
	}
	if want := pipeAgents*pipeEvents + writerKeys; len(view) != want {
		t.Errorf("view has %d keys, want %d", len(view), want)
	}
}
