package redis

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
)

// Replicas as real processes (this test binary, re-executed): when this
// process's breaker trips, both others open.
func TestBreakerSeparateProcesses(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t)
	const name = "processes"
	type child struct {
		cmd   *exec.Cmd
		lines chan string
	}
	var children []child
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "REDIS_ADDR="+srv.addr(), "BREAKER_NAME="+name)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := child{cmd, make(chan string, 4)}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				ch.lines <- sc.Text()
			}
			close(ch.lines)
		}()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		children = append(children, ch)
	}
	next := func(ch child, d time.Duration) string {
		select {
		case l := <-ch.lines:
			return l
		case <-time.After(d):
			return "no line within " + d.String()
		}
	}
	for i, ch := range children {
		if l := next(ch, 10*time.Second); l != "ready" {
			t.Fatalf("child %d: %q, want ready", i, l)
		}
	}
	f := newFleet(t, c, 1, name, func(cfg *BreakerConfig) { cfg.Breaker.OpenTimeout = 5 * time.Second })
	waitSubscribed(t, c, f.sb[0].channel, 3)
	for range 5 {
		f.sb[0].Breaker().Do(context.Background(), func(context.Context) error { return errors.New("down") })
	}
	for i, ch := range children {
		l := next(ch, 2*time.Second)
		if !strings.HasPrefix(l, "open ") {
			t.Fatalf("child %d: %q, want open", i, l)
		}
		if l != "open 5s" {
			t.Errorf("child %d: %q, want the period the first replica published (open 5s)", i, l)
		}
		if err := ch.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}
	if got := f.sb[0].Breaker().State(); got != breaker.Open {
		t.Fatalf("parent: %v", got)
	}
}
