package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDemo plays the whole story 5 times faster than the program does and
// checks the verdict, that every chapter of the story happened, and that the
// README's excerpt of it is true.
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
	checkReadmeExcerpt(t, out.String())
}

// checkReadmeExcerpt checks that the README's excerpt of the demo shows
// lines the demo printed in out, in the order it printed them. Lines of
// the same story second may come in either order (an agent's first call
// after the outage may be a push or an audit); session ids, which
// operation failed and which agent leads after the restart vary from run
// to run too.
func checkReadmeExcerpt(t *testing.T, out string) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	excerpt := readmeExcerpt(t, string(readme))
	lines := strings.Split(out, "\n")
	for i := range lines {
		lines[i] = normalizeDemoLine(lines[i])
	}
	start, end := 0, 0 // start: where this second's lines may begin
	for i, l := range excerpt {
		if i > 0 && l.second != excerpt[i-1].second {
			start = end
		}
		k := slices.Index(lines[start:], l.text)
		if k < 0 {
			t.Errorf("README excerpt: the demo printed no %q where the excerpt has it:\n%s", l.text, out)
			return
		}
		end = max(end, start+k+1)
	}
}

type excerptLine struct {
	second int
	text   string
}

// readmeExcerpt returns the timeline lines of the README's demo excerpt.
func readmeExcerpt(t *testing.T, readme string) []excerptLine {
	_, demo, ok := strings.Cut(readme, "## The demo\n")
	_, rest, ok2 := strings.Cut(demo, "```\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no demo excerpt")
	}
	var ex []excerptLine
	for _, l := range strings.Split(block, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasSuffix(f[0], "s") {
			continue
		}
		secs, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64)
		if err != nil {
			continue
		}
		ex = append(ex, excerptLine{second: int(secs), text: normalizeDemoLine(l)})
	}
	if len(ex) < 10 {
		t.Fatalf("README excerpt has %d timeline lines", len(ex))
	}
	return ex
}

var (
	sessionID = regexp.MustCompile(`\b[0-9A-Z]{6}\b`)
	failedOp  = regexp.MustCompile(`\b(heartbeat|push|audit) failed\b`)
	agentName = regexp.MustCompile(`\ba[12]\b`)
)

// normalizeDemoLine drops a timeline line's time and the parts that vary
// between runs.
func normalizeDemoLine(l string) string {
	f := strings.Fields(l)
	if len(f) > 0 && strings.HasSuffix(f[0], "s") {
		f = f[1:]
	}
	l = strings.Join(f, " ")
	l = sessionID.ReplaceAllString(l, "ID")
	l = agentName.ReplaceAllString(l, "aN")
	return failedOp.ReplaceAllString(l, "OP failed")
}
