package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

func TestFusionSubcommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"fusion", "-addr", "127.0.0.1:0", "-session-timeout", "2s"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatal("no output")
	}
	m := regexp.MustCompile(`^fusion listening on (http://127\.0\.0\.1:\d+)$`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("first line %q", lines.Text())
	}
	go io.Copy(io.Discard, pr) // the session log

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Post(m[1]+"/api/v1/pipe/sessions/", "application/json", strings.NewReader(`{"pipe_id":"p","agent_id":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Role           string  `json:"role"`
		SessionTimeout float64 `json:"session_timeout_seconds"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 201 || out.Role != "leader" || out.SessionTimeout != 2 {
		t.Fatalf("create: %d %+v, want 201 leader with timeout 2", resp.StatusCode, out)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit code %d", c)
	}
}

func TestFusionSubcommandBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	if c := run(context.Background(), []string{"fusion", "-session-timeout", "-1s"}, io.Discard, &stderr); c != 2 || !strings.Contains(stderr.String(), "-session-timeout") {
		t.Errorf("exit %d, stderr %q", c, stderr.String())
	}
}

func TestAgentSubcommand(t *testing.T) {
	srv := fusion.New(fusion.Config{})
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	cfg := filepath.Join(t.TempDir(), "pipe.yaml")
	os.WriteFile(cfg, []byte("id: files\nheartbeat_interval_sec: 1\nerror_retry_interval: 0.05\n"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"agent", "-fusion", hs.URL, "-config", cfg, "-agent-id", "x1", "-events", "5", "-every", "5ms"}, &out, io.Discard)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "all 5 events acknowledged"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not done after 10s; output:\n%s", out.String())
		}
	}
	if n := len(srv.View("files")); n != 5 {
		t.Errorf("view has %d entries, want 5", n)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit code %d", c)
	}
	if s := out.String(); !strings.Contains(s, "session") || !strings.Contains(s, "5 submitted, 5 acknowledged") {
		t.Errorf("output:\n%s", s)
	}
}

func TestAgentSubcommandBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "pipe.yaml")
	os.WriteFile(cfg, []byte("id: p\nmax_backof_seconds: 60\n"), 0o600)
	var stderr bytes.Buffer
	c := run(context.Background(), []string{"agent", "-fusion", "http://127.0.0.1:1", "-config", cfg}, io.Discard, &stderr)
	if c != 2 || !strings.Contains(stderr.String(), `unknown key "max_backof_seconds"`) {
		t.Errorf("exit %d, stderr %q", c, stderr.String())
	}
}

func TestAgentSubcommandBadFlags(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "pipe.yaml")
	os.WriteFile(cfg, []byte("id: p\n"), 0o600)
	base := []string{"agent", "-fusion", "http://127.0.0.1:1", "-config", cfg}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"agent", "-config", cfg}, "-fusion and -config are required"},
		{append(base[:len(base):len(base)], "-events", "-1"), "-events must be >= 0"},
		{append(base[:len(base):len(base)], "-every", "0s"), "-every and -breaker-open > 0"},
		{append(base[:len(base):len(base)], "-breaker-open", "0s"), "-every and -breaker-open > 0"},
		{append(base[:len(base):len(base)], "-breaker-open", "-1s"), "-every and -breaker-open > 0"},
		{append(base[:len(base):len(base)], "-breaker-open", "soon"), "invalid value"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if c := run(context.Background(), tt.args, io.Discard, &stderr); c != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args[5:], c, stderr.String(), tt.want)
		}
	}
}

func TestDemoFlags(t *testing.T) {
	for _, args := range [][]string{{"-scale", "0"}, {"-scale", "-1"}, {"extra"}, {"-nope"}} {
		if c := run(context.Background(), args, io.Discard, io.Discard); c != 2 {
			t.Errorf("%q: exit %d, want 2", args, c)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
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
