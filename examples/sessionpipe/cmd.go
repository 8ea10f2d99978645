package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// runFusion serves the protocol until ctx ends.
func runFusion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fusion", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	timeout := fs.Duration("session-timeout", 30*time.Second, "idle time after which a session expires")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *timeout <= 0 || *timeout > 24*time.Hour {
		fmt.Fprintf(stderr, "fusion: -session-timeout must be in (0, 24h], got %v\n", *timeout)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "fusion:", err)
		return 1
	}
	tl := newTimeline(stdout, 1)
	srv := fusion.New(fusion.Config{SessionTimeout: *timeout, OnSession: func(ev fusion.SessionEvent) {
		tl.printf("fusion", "session %s of %s on %s: %s (%s)", short(ev.SessionID), ev.AgentID, ev.PipeID, ev.Kind, ev.Role)
	}})
	defer srv.Close()
	fmt.Fprintf(stdout, "fusion listening on http://%s\n", ln.Addr())
	hs := &http.Server{Handler: serverStack(srv, errtrack.New(errtrack.Config{})), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
		<-errc
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "fusion:", err)
		return 1
	}
	return 0
}

// runAgent runs one agent with a synthetic producer until ctx ends.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("fusion", "", "fusion base URL, e.g. http://127.0.0.1:8080 (required)")
	path := fs.String("config", "", "agent pipe config file, e.g. agent-pipes-config/my-pipe.yaml (required)")
	host, _ := os.Hostname()
	id := fs.String("agent-id", fmt.Sprintf("%s-%d", host, os.Getpid()), "this agent's id")
	events := fs.Int("events", 100, "events to produce (then keep the session alive)")
	every := fs.Duration("every", 500*time.Millisecond, "interval between produced events")
	open := fs.Duration("breaker-open", time.Minute, "how long the agent's breaker stays open once tripped")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" || *path == "" {
		fmt.Fprintln(stderr, "agent: -fusion and -config are required")
		return 2
	}
	if *events < 0 || *every <= 0 || *open <= 0 {
		fmt.Fprintln(stderr, "agent: -events must be >= 0, -every and -breaker-open > 0")
		return 2
	}
	pipe, err := config.LoadPipeFile(*path)
	if err != nil {
		fmt.Fprintln(stderr, "agent: config", err)
		return 2
	}
	cfg, err := agentConfig(pipe, agent.Config{Fusion: *url, AgentID: *id})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	tl := newTimeline(stdout, 1)
	stack := newClientStack(1, *open, func(from, to string) { tl.printf(*id, "breaker %s -> %s", from, to) })
	cfg.Transport = stack.transport
	cfg.BreakerState = stack.breakerState
	cfg.OnEvent = tl.agentEvent
	a, err := agent.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(*every)
		defer t.Stop()
		for n := 0; n < *events; n++ {
			ev := fusion.Event{Key: fmt.Sprintf("/data/%s/file-%03d.txt", *id, n), Mtime: float64(time.Now().UnixNano()) / 1e9, Seq: int64(n), Payload: fmt.Sprint(n)}
			if a.Submit(ctx, ev) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		if a.Flush(ctx) == nil {
			tl.printf(*id, "all %d events acknowledged; keeping the session alive until interrupted", *events)
		}
	}()
	a.Run(ctx)
	<-done
	stack.close()
	st := a.Status()
	fmt.Fprintf(stdout, "%s: state %s, %d submitted, %d acknowledged, %d still spooled, %d sessions, errors by class: %s\n",
		st.Agent, st.State, st.Submitted, st.Acked, st.Spooled, st.Sessions, classes(st.ErrorsByClass))
	return 0
}
