package redis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// server is a redis-server started for one test on a free loopback port,
// with no persistence, in a temporary directory.
type server struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
}

// startServer starts a redis-server, or skips the test if there is none
// (fails when CI=true).
func startServer(t testing.TB) *server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: CI needs it for contrib/redis (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed; skipping (set CI=true to make this a failure)")
	}
	s := &server{t: t, dir: t.TempDir()}
	var err error
	for range 5 {
		s.port = freePort(t)
		if err = s.start(); err == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("redis-server: %v", err)
	return nil
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) start() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server on %s did not answer", s.addr())
}

// kill stops the server at once (SIGKILL) and waits for it.
func (s *server) kill() {
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGCONT)
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// restart starts the server again on the same port, empty.
func (s *server) restart() {
	s.t.Helper()
	var err error
	for range 20 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("restart: %v", err)
}

// pause stops the process (SIGSTOP): connections hang; resume continues it.
func (s *server) pause()  { s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *server) resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

func (s *server) stop() { s.kill() }

// client returns a client that respects context deadlines and does not
// retry on its own, closed at the end of the test.
func (s *server) client(t testing.TB) *goredis.Client {
	c := newClient(s.addr())
	t.Cleanup(func() { c.Close() })
	return c
}

func newClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialTimeout:           200 * time.Millisecond,
		PoolSize:              16,
	})
}
