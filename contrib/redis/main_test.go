package redis

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seed94f50169/resilience/breaker"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	// The client logs every failed dial; the fault tests make many.
	goredis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

const childEnv = "RESILIENCE_REDIS_CHILD"

// childMain is the body of a replica process started by
// TestBreakerSeparateProcesses: a SharedBreaker that prints "ready", then
// "open" once it has followed another replica, and exits.
func childMain() int {
	c := newClient(os.Getenv("REDIS_ADDR"))
	defer c.Close()
	sb, err := NewBreaker(BreakerConfig{
		Conn:         Conn{Client: c, Timeout: 50 * time.Millisecond},
		Name:         os.Getenv("BREAKER_NAME"),
		PollInterval: 100 * time.Millisecond,
		Breaker:      breaker.Config{OpenTimeout: 5 * time.Second},
	})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer sb.Close()
	fmt.Println("ready")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if sb.Breaker().State() == breaker.Open {
			fmt.Println("open", sb.Breaker().OpenRemaining().Round(time.Second))
			return 0
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("timeout")
	return 1
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
