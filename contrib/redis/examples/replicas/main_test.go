package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The story: r1 trips first and the others follow within 50ms, without
// tripping on their own; in each half-open round of the shared run one
// replica probes; every run ends with all closed; sharing halves the load
// on the upstream while it is down, or better.
func TestStory(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: CI needs it for contrib/redis")
		}
		t.Skip("redis-server is not installed")
	}
	var out strings.Builder
	shared, local, err := run(&out, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	text := out.String()
	sharedPart, localPart, ok := strings.Cut(text, "== three independent breakers")
	if !ok {
		t.Fatal("no second run")
	}
	line := regexp.MustCompile(`(?m)^\s*([0-9.]+)s  (r\d): closed → open$`)
	opens := line.FindAllStringSubmatch(sharedPart, -1)
	if len(opens) < 3 || opens[0][2] != "r1" {
		t.Fatalf("shared run: opens %v, want r1 first and then the others", opens)
	}
	first, _ := strconv.ParseFloat(opens[0][1], 64)
	for _, o := range opens[1:3] {
		at, _ := strconv.ParseFloat(o[1], 64)
		if at-first > 0.05 {
			t.Errorf("shared run: %s opened %.3fs after r1, want ≤ 50ms", o[2], at-first)
		}
	}
	// One probe per half-open round: never two probe lines at one instant.
	probe := regexp.MustCompile(`(?m)^\s*([0-9.]+)s  r\d: probe`)
	seen := map[string]bool{}
	for _, p := range probe.FindAllStringSubmatch(sharedPart, -1) {
		ms := p[1][:len(p[1])-1] // to 10ms
		if seen[ms] {
			t.Errorf("shared run: two probes at %ss", p[1])
		}
		seen[ms] = true
	}
	for name, part := range map[string]string{"shared": sharedPart, "independent": localPart} {
		if !strings.Contains(part, "all closed") {
			t.Errorf("%s run does not end with all closed", name)
		}
	}
	if shared.Probes == 0 || 2*shared.Probes > local.Probes {
		t.Errorf("probes: shared %d, independent %d; want shared ≤ half", shared.Probes, local.Probes)
	}
	if 2*shared.OutageLoad > local.OutageLoad+4 {
		t.Errorf("load while down: shared %d, independent %d; want shared about half or less", shared.OutageLoad, local.OutageLoad)
	}
}
