package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemo plays the whole story 5 times faster than the program does and
// checks the verdict and that every chapter of the story happened.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo (a few seconds)")
	}
	var out syncBuffer
	v, err := runDemo(context.Background(), &out, defaultScale/5)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ok() || v.Lost != 0 || v.Mismatched != 0 || v.Produced < 100 || v.Keys != 24 {
		t.Errorf("verdict %+v\n%s", v, out.String())
	}
	for _, want := range []string{
		"created: leader",
		"created: follower",
		"heartbeat skipped",
		"OUTAGE",
		"[service_unavailable]; error 1, next try in 5s",
		"error 2, next try in 10s",
		"status DEGRADED after 5 consecutive errors",
		"breaker closed -> open",
		"rejected at once by the open breaker [circuit_open]",
		"breaker open -> half-open",
		"breaker half-open -> closed",
		"spool full",
		"obsolete (410): dropped, creating a new one at once",
		"RESTART",
		"promoted to leader",
		"this agent is now the leader",
		"PASS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("timeline lacks %q:\n%s", want, out.String())
		}
	}
}
