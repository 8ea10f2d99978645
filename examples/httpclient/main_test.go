package main

import (
	"bytes"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{
		`(?m)^GET /flaky +200 OK .*request 3`,
		`(?m)^POST /flaky +503 Service Unavailable`,                  // sent once
		`(?m)^POST /flaky \(Idempotency-Key\) +200 OK .*request 3\)`, // retried
		`(?m)^GET /rate-limited +200 OK after 1[.0-9]*s`,             // waited as asked
		`(?m)^GET /slow +200 OK`,                                     // the hung attempt timed out
		`(?m)^GET /panic +500 Internal Server Error`,                 // the server survived
		`(?m)^GET /ok +error .*breaker: open`,                        // the host's breaker fails fast
		`server errors by class: .*panic:3`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output does not match %s", want)
		}
	}
}
