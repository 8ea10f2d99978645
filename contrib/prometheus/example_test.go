package resprom_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/breaker"
	resprom "github.com/seed94f50169/resilience/contrib/prometheus"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

func Example() {
	c := resprom.New(resprom.Config{Name: "inventory"})
	r := &middleware.Recovery{
		Retry:   &retry.Policy{MaxAttempts: 2, Backoff: backoff.Policy{Initial: time.Microsecond}},
		Breaker: breaker.New(breaker.Config{OnStateChange: c.OnStateChange}),
	}
	c.Instrument(r)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	calls := 0
	middleware.Do(context.Background(), r, func(context.Context) (string, error) {
		if calls++; calls == 1 {
			return "", errors.New("connection reset by peer")
		}
		return "ok", nil
	})

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "resilience_retries_total" || mf.GetName() == "resilience_attempts_total" {
			expfmt.MetricFamilyToText(os.Stdout, mf)
		}
	}
	fmt.Println("breaker:", r.Breaker.State())
	// Output:
	// # HELP resilience_attempts_total Attempts that ran, by outcome.
	// # TYPE resilience_attempts_total counter
	// resilience_attempts_total{outcome="failure",resilience_name="inventory"} 1
	// resilience_attempts_total{outcome="success",resilience_name="inventory"} 1
	// # HELP resilience_retries_total Attempts after the first, by the class of the error retried.
	// # TYPE resilience_retries_total counter
	// resilience_retries_total{reason="connection",resilience_name="inventory"} 1
	// breaker: closed
}
