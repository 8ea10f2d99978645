package redis

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}

const childEnv = "RESILIENCE_REDIS_CHILD"

// childMain is the body of a replica process started by a test.
func childMain() int { return 0 }
