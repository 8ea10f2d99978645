package config_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/middleware"
)

// The "Complete Example: Resilient HTTP Tool" of the pforge fault-tolerance
// chapter, as written.
const resilientHTTPTool = `
# forge.yaml
forge:
  name: resilient-api-server
  version: 1.0.0

fault_tolerance:
  circuit_breaker:
    enabled: true
    failure_threshold: 5
    timeout: 60s
    success_threshold: 2
  error_tracking:
    enabled: true

tools:
  - type: http
    name: fetch_user_data
    description: "Fetch user data with full fault tolerance"
    endpoint: "https://api.example.com/users/{{user_id}}"
    method: GET
    timeout_ms: 10000
    retry:
      max_attempts: 3
      initial_delay: 100ms
      max_delay: 5s
      multiplier: 2.0
      jitter: true
    fallback:
      type: native
      handler: handlers::UserDataFallback
    bulkhead:
      max_concurrent: 20
`

// Load the pforge example, print the settings its tool gets, and build its
// Recovery.
func Example() {
	c, err := config.Load(strings.NewReader(resilientHTTPTool))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Settings("fetch_user_data")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("circuit_breaker: failure_threshold %d, timeout %v, success_threshold %d\n",
		s.Breaker.FailureThreshold, s.Breaker.OpenTimeout, s.Breaker.SuccessThreshold)
	b := s.Retry.Backoff
	fmt.Printf("retry: max_attempts %d, initial_delay %v, max_delay %v, multiplier %v, jitter %v\n",
		s.Retry.MaxAttempts, b.Initial, b.Max, b.Multiplier, b.Jitter)
	fmt.Printf("bulkhead: max_concurrent %d, max_queued %d, timeout %v\n",
		s.Bulkhead.MaxConcurrent, s.Bulkhead.MaxQueued, s.Bulkhead.QueueTimeout)
	fmt.Printf("error_tracking: max_errors %d\n", s.ErrorTracking.Size)
	fmt.Printf("timeout: %v per attempt\n", s.Timeout)
	for _, f := range c.Tool("fetch_user_data").Fallback {
		fmt.Printf("fallback: %s %s\n", f.Type, f.Handler)
	}

	r, err := c.Build("fetch_user_data")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := middleware.Do(context.Background(), r, func(context.Context) (string, error) {
		return "user 42", nil
	})
	fmt.Println(v, err, r.Breaker.State())
	// Output:
	// circuit_breaker: failure_threshold 5, timeout 1m0s, success_threshold 2
	// retry: max_attempts 3, initial_delay 100ms, max_delay 5s, multiplier 2, jitter FullJitter
	// bulkhead: max_concurrent 20, max_queued 100, timeout 5s
	// error_tracking: max_errors 1000
	// timeout: 10s per attempt
	// fallback: native handlers::UserDataFallback
	// user 42 <nil> closed
}

// Every problem of a config is reported at once, each with its key path.
func ExampleLoad_errors() {
	_, err := config.Load(strings.NewReader(`
fault_tolerance:
  circuit_breaker:
    failure_treshold: 5
tools:
  - name: search
  - name: fetch
  - name: upload
    retry:
      max_attempts: 0
      initial_delay: 100
    timeout_ms: -1
`))
	fmt.Println(err)
	// Output:
	// fault_tolerance.circuit_breaker: unknown key "failure_treshold" (did you mean "failure_threshold"?)
	// tools[2].retry.max_attempts: must be at least 1, got 0
	// tools[2].retry.initial_delay: want a duration with a unit such as 60s or 100ms, got 100
	// tools[2].timeout_ms: must not be negative, got -1ms
}

// A tool overrides the global settings field by field, and enabled: false
// turns a global pattern off for it.
func ExampleConfig_Settings() {
	c, err := config.Load(strings.NewReader(`
fault_tolerance:
  circuit_breaker: {failure_threshold: 3}
  retry: {max_attempts: 4, max_delay: 2s}
tools:
  - name: slow_search
    retry: {max_delay: 30s}
  - name: payments
    retry: {enabled: false}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"slow_search", "payments"} {
		s, _ := c.Settings(name)
		fmt.Printf("%s: breaker after %d failures", name, s.Breaker.FailureThreshold)
		if s.Retry != nil {
			fmt.Printf(", %d attempts, delays up to %v", s.Retry.MaxAttempts, s.Retry.Backoff.Max)
		} else {
			fmt.Print(", no retry")
		}
		fmt.Println()
	}
	// Output:
	// slow_search: breaker after 3 failures, 4 attempts, delays up to 30s
	// payments: breaker after 3 failures, no retry
}

// The overload sections: an adaptive concurrency limit and a throttle per
// host, a rate limit, and hedges that spend the retry budget.
func ExampleConfig_Build_overload() {
	c, err := config.Load(strings.NewReader(`
fault_tolerance:
  retry:
    max_attempts: 3
    budget: {ratio: 0.1}
  adaptive_limit: {algorithm: gradient2, initial_limit: 10, max_limit: 100, per_host: true}
  throttle: {k: 2, per_host: true}
tools:
  - name: search
    rate_limit: {rate: 50, burst: 10}
    hedge: {quantile: 0.9, max_delay: 200ms, retry_budget: true}
  - name: payments
    adaptive_limit: {max_queued: 20, max_wait: 2s}
    throttle: {enabled: false}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"search", "payments"} {
		r, _ := c.Build(name)
		fmt.Printf("%s: limit %d per host %v, throttle %v per host %v, rate limit %v, hedge %v spending the retry budget %v\n",
			name, r.Limit.Stats().Limit, r.HostLimit != nil, r.Throttle != nil, r.HostThrottle != nil,
			r.RateLimit != nil, r.Hedge != nil, r.Hedge != nil && r.Hedge.Budget == hedge.Budget(r.Retry.Budget))
	}
	// Output:
	// search: limit 10 per host true, throttle true per host true, rate limit true, hedge true spending the retry budget true
	// payments: limit 10 per host true, throttle false per host false, rate limit false, hedge false spending the retry budget false
}

// A Registry serves each tool's current Recovery; an update swaps them all
// at once and keeps the breakers whose settings did not change.
func ExampleRegistry() {
	c, _ := config.Load(strings.NewReader(resilientHTTPTool))
	reg, err := config.NewRegistry(c, config.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close() // with WatchFile, this stops the poller
	before := reg.Recovery("fetch_user_data")

	c2, _ := config.Load(strings.NewReader(strings.Replace(resilientHTTPTool, "max_attempts: 3", "max_attempts: 5", 1)))
	if err := reg.Update(c2); err != nil {
		fmt.Println(err)
		return
	}
	after := reg.Recovery("fetch_user_data")
	fmt.Println("attempts:", before.Retry.MaxAttempts, "->", after.Retry.MaxAttempts)
	fmt.Println("same breaker:", before.Breaker == after.Breaker)

	n, err := config.Do(context.Background(), reg, "fetch_user_data", func(context.Context) (int, error) {
		return 42, nil
	})
	fmt.Println(n, err)
	// Output:
	// attempts: 3 -> 5
	// same breaker: true
	// 42 <nil>
}

// The Fustor agent pipe keys, with the guide's defaults for the keys left
// out.
func ExampleLoadPipe() {
	p, err := config.LoadPipe(strings.NewReader("id: my-pipe\nheartbeat_interval_sec: 5\nerror_retry_interval: 2.5\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	e := p.Effective()
	fmt.Println(e.ID, e.HeartbeatInterval, e.SessionTimeout, e.MaxConsecutiveErrors)
	seq := p.Backoff().Sequence()
	for range 6 {
		fmt.Print(seq.Next(), " ")
	}
	fmt.Println()
	// Output:
	// my-pipe 5s 30s 5
	// 2.5s 5s 10s 20s 40s 1m0s
}
