package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// defaultScale is the demo's time compression: real seconds per story
// second. At 0.06 the ~420 s story plays in about 25 s.
const defaultScale = 0.06

const pipeID = "my-pipe"

// verdict sums up a demo run.
type verdict struct {
	Produced   int // events the producers submitted
	Acked      int // events fusion acknowledged
	Keys       int // keys in the view
	Mismatched int // keys whose view entry is not the newest version produced
	Lost       int // produced but never acknowledged
}

func (v verdict) ok() bool {
	return v.Produced > 0 && v.Lost == 0 && v.Mismatched == 0 && v.Acked == v.Produced
}

// ledger remembers, per key, the newest version produced, to check the view.
type ledger struct {
	mu       sync.Mutex
	produced int
	newest   map[string]fusion.Entry
}

func (l *ledger) add(ev fusion.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.produced++
	if cur, ok := l.newest[ev.Key]; !ok || cur.Newer(ev.Mtime, ev.Seq) {
		l.newest[ev.Key] = fusion.Entry{Mtime: ev.Mtime, Seq: ev.Seq, Payload: ev.Payload}
	}
}

// demoAgent is an agent with its producer.
type demoAgent struct {
	*agent.Agent
	stack          clientStack
	name           string
	stopRun, stopP context.CancelFunc
	runDone, pDone chan struct{}
}

// runDemo plays the whole story against a fusion server on 127.0.0.1 and
// returns the verdict. scale is real seconds per story second.
func runDemo(ctx context.Context, w io.Writer, scale float64) (verdict, error) {
	sec := func(s float64) time.Duration { return time.Duration(s * scale * float64(time.Second)) }
	tl := newTimeline(w, scale)
	sleep := func(s float64) bool {
		t := time.NewTimer(sec(s))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}

	srv := fusion.New(fusion.Config{SessionTimeout: sec(30), HeartbeatInterval: sec(10), OnSession: tl.fusionEvent})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return verdict{}, err
	}
	served := errtrack.New(errtrack.Config{})
	hs := &http.Server{Handler: serverStack(srv, served)}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(w, "sessionpipe: fusion and two agents on %s, pipe %q\n", ln.Addr(), pipeID)
	fmt.Fprintf(w, "time runs %.0fx faster; times below are story seconds (session timeout 30s, heartbeat 10s,\n", 1/scale)
	fmt.Fprintf(w, "backoff 5s x2 up to 60s, degraded after 5 errors, breaker opens after 5 failures for 60s)\n\n")

	led := &ledger{newest: map[string]fusion.Entry{}}
	start := func(i int) (*demoAgent, error) {
		name := fmt.Sprintf("a%d", i+1)
		stack := newClientStack(scale, 0, func(from, to string) {
			tl.printf(name, "breaker %s -> %s%s", from, to, breakerNote(from, to))
		})
		a, err := agent.New(agent.Config{
			Fusion: url, PipeID: pipeID, AgentID: name,
			HeartbeatInterval:  sec(10),
			AuditInterval:      sec(100),
			ErrorRetryInterval: sec(5),
			MaxBackoff:         sec(60),
			RequestTimeout:     sec(10),
			SpoolSize:          64,
			BatchSize:          16,
			Transport:          stack.transport,
			BreakerState:       stack.breakerState,
			OnEvent:            tl.agentEvent,
		})
		if err != nil {
			return nil, err
		}
		d := &demoAgent{Agent: a, stack: stack, name: name, runDone: make(chan struct{}), pDone: make(chan struct{})}
		var runCtx, pCtx context.Context
		runCtx, d.stopRun = context.WithCancel(ctx)
		pCtx, d.stopP = context.WithCancel(ctx)
		go func() {
			defer close(d.runDone)
			a.Run(runCtx)
		}()
		go func() {
			defer close(d.pDone)
			produce(pCtx, d, i, led, sec(2), tl)
		}()
		return d, nil
	}
	stop := func(d *demoAgent) {
		d.stopP()
		<-d.pDone
		fctx, cancel := context.WithTimeout(ctx, sec(300))
		if err := d.Flush(fctx); err != nil {
			tl.printf(d.name, "flush: %v", err)
		}
		cancel()
		d.stopRun()
		<-d.runDone
		d.stack.close()
	}

	a1, err := start(0)
	if err != nil {
		return verdict{}, err
	}
	sleep(1)
	a2, err := start(1)
	if err != nil {
		stop(a1)
		return verdict{}, err
	}
	agents := []*demoAgent{a1, a2}

	if sleep(59) {
		tl.phase("OUTAGE: fusion answers 503 to everything for 150s")
		srv.FailFor(sec(150))
	}
	if sleep(150) {
		tl.phase("fusion answers again (the sessions expired meanwhile: nobody could heartbeat)")
	}
	if sleep(90) {
		n := srv.Restart()
		tl.phase("RESTART: fusion restarts and forgets its %d sessions", n)
	}
	live := agents
	if sleep(30) {
		leader := a1
		if a2.Status().Role == fusion.Leader {
			leader = a2
		}
		tl.phase("the leader %s stops (its spool flushed first); its session goes silent", leader.name)
		stop(leader)
		live = []*demoAgent{a2}
		if leader == a2 {
			live = []*demoAgent{a1}
		}
		deadline := time.Now().Add(sec(80))
		for live[0].Status().Role != fusion.Leader && time.Now().Before(deadline) && sleep(1) {
		}
	}
	sleep(10)
	tl.phase("stopping: producers end, spools flush")
	for _, d := range live {
		stop(d)
	}

	v, err := check(ctx, url, led, agents)
	if err != nil {
		return v, err
	}
	report(w, v, agents, served, tl)
	return v, ctx.Err()
}

// produce submits an event every interval: files shared by both agents, so
// arbitration decides between them.
func produce(ctx context.Context, d *demoAgent, i int, led *ledger, interval time.Duration, tl *timeline) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var waits uint64
	for n := 0; ; n++ {
		ev := fusion.Event{
			Key:     fmt.Sprintf("/data/file-%02d.txt", n%24),
			Mtime:   float64(time.Now().UnixNano()) / 1e9,
			Seq:     int64(2*n + i),
			Payload: fmt.Sprintf("%s#%d", d.name, n),
		}
		if d.Submit(ctx, ev) != nil {
			return
		}
		led.add(ev)
		if w := d.Status().BackpressureWaits; w > waits {
			if waits == 0 {
				tl.printf(d.name, "spool full: the producer waited for room (backpressure, nothing dropped)")
			}
			waits = w
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check reads the view over HTTP and compares it with the ledger.
func check(ctx context.Context, url string, led *ledger, agents []*demoAgent) (verdict, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/pipe/view?pipe_id="+pipeID, nil)
	if err != nil {
		return verdict{}, err
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return verdict{}, fmt.Errorf("reading the view: %w", err)
	}
	defer resp.Body.Close()
	var view struct {
		Entries map[string]fusion.Entry `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil {
		return verdict{}, fmt.Errorf("reading the view: %w", err)
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	v := verdict{Produced: led.produced, Keys: len(view.Entries)}
	for _, d := range agents {
		v.Acked += int(d.Status().Acked)
	}
	v.Lost = v.Produced - v.Acked
	for k, want := range led.newest {
		if view.Entries[k] != want {
			v.Mismatched++
		}
	}
	v.Mismatched += max(0, len(view.Entries)-len(led.newest)) // keys nobody produced
	return v, nil
}

func report(w io.Writer, v verdict, agents []*demoAgent, served *errtrack.Tracker, tl *timeline) {
	fmt.Fprintf(w, "\nsummary after %v of story time\n", tl.story(time.Since(tl.start)))
	for _, d := range agents {
		st := d.Status()
		breaker := st.Breaker
		if breaker == "" {
			breaker = "n/a"
		}
		fmt.Fprintf(w, "  %s: %d sessions, %d heartbeats sent, %d skipped, %d backpressure waits, breaker %s\n      errors by class: %s\n",
			st.Agent, st.Sessions, st.Heartbeats, st.SkippedHeartbeats, st.BackpressureWaits, breaker, classes(st.ErrorsByClass))
	}
	fmt.Fprintf(w, "  fusion: %d failed requests served, by class: %s\n", served.Total(), classes(served.ByClass()))
	fmt.Fprintf(w, "\nverdict: produced %d, acknowledged %d, lost %d; view: %d keys, %d not at their newest version\n",
		v.Produced, v.Acked, v.Lost, v.Keys, v.Mismatched)
	if v.ok() {
		fmt.Fprintln(w, "PASS: every event was delivered and the view holds the newest version of every key")
	} else {
		fmt.Fprintln(w, "FAIL: events were lost or the view is wrong")
	}
}

// classes formats counts by class, sorted: "a=1 b=2", or "none".
func classes(m map[errtrack.Class]uint64) string {
	var out []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s=%d", c, m[c]))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// breakerNote explains a breaker transition for the timeline.
func breakerNote(from, to string) string {
	switch from + ">" + to {
	case "closed>open":
		return ": 5 failures in a row; calls now fail fast"
	case "open>half-open":
		return ": 60s passed, one probe may go through"
	case "half-open>open":
		return ": the probe failed"
	case "half-open>closed":
		return ": the probes succeeded"
	}
	return ""
}
