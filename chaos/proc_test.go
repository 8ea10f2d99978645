package chaos

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// moduleRoot is the resilience module the subprocesses are built from: the
// parent of chaos/, or CHAOS_ROOT when set.
func moduleRoot() string {
	if r := os.Getenv("CHAOS_ROOT"); r != "" {
		return r
	}
	return ".."
}

// buildSessionPipe builds examples/sessionpipe once per test into a
// temporary directory and returns the binary's path.
func buildSessionPipe(t *testing.T) string {
	t.Helper()
	root := moduleRoot()
	if _, err := os.Stat(filepath.Join(root, "examples", "sessionpipe")); err != nil {
		t.Skipf("examples/sessionpipe not present: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sessionpipe")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/sessionpipe")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/sessionpipe: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a subprocess whose output is collected.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// startProc starts bin with args; it is killed when the test ends if it
// is still running.
func startProc(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// waitFor waits until the output contains a line starting with prefix and
// returns the rest of that line.
func (p *proc) waitFor(prefix string, d time.Duration) string {
	p.t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok && strings.Contains(p.out.String(), line+"\n") {
				return rest
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, prefix, p.out.String())
		default:
		}
	}
	p.t.Fatalf("%s printed no %q within %v:\n%s", p.name, prefix, d, p.out.String())
	return ""
}

// stop sends SIGTERM and waits for the process to exit (killing it after
// 10s); it returns the process's output.
func (p *proc) stop() string {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not exit within 10s of SIGTERM; killed", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.out.String()
}
