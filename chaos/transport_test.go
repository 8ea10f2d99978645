package chaos

import (
	"net/http"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
)

// breakerWant says what a fault must do to the breaker.
type breakerWant int

const (
	mayOpen   breakerWant = iota // either way
	mustOpen                     // every attempt fails, so it opens
	staysShut                    // every attempt succeeds, so it never opens
)

// A transportScenario injects one fault between the resilient client and the
// upstream, then heals it.
type transportScenario struct {
	name    string
	body    int // bytes in each 200 answer
	fault   func(r *rig)
	heal    func(r *rig)
	breaker breakerWant
}

var transportScenarios = []transportScenario{
	{
		name:    "latency_jitter",
		body:    1 << 10,
		fault:   func(r *rig) { r.p.Add("latency", "downstream", map[string]any{"latency": 80, "jitter": 40}) },
		heal:    func(r *rig) { r.p.Clear() },
		breaker: staysShut,
	},
	{
		name:    "latency_over_attempt_timeout",
		body:    1 << 10,
		fault:   func(r *rig) { r.p.Add("latency", "downstream", map[string]any{"latency": 500, "jitter": 50}) },
		heal:    func(r *rig) { r.p.Clear() },
		breaker: mustOpen,
	},
	{
		name:    "timeout_hang",
		body:    1 << 10,
		fault:   func(r *rig) { r.p.Add("timeout", "upstream", map[string]any{"timeout": 0}) },
		heal:    func(r *rig) { r.p.Clear() },
		breaker: mustOpen,
	},
	{
		name: "reset_peer",
		body: 1 << 10,
		fault: func(r *rig) {
			r.tr.CloseIdleConnections() // Toxiproxy sets SO_LINGER 0 on new connections only
			r.p.Add("reset_peer", "upstream", map[string]any{"timeout": 0})
		},
		heal:    func(r *rig) { r.p.Clear() },
		breaker: mustOpen,
	},
	{
		name: "slow_close",
		body: 1 << 10,
		fault: func(r *rig) {
			// The upstream hangs up without answering, and the close is held 2s.
			r.u.drop.Store(true)
			r.p.Add("slow_close", "downstream", map[string]any{"delay": 2000})
		},
		heal:    func(r *rig) { r.u.drop.Store(false); r.p.Clear() },
		breaker: mustOpen,
	},
	{
		name:    "bandwidth",
		body:    4 << 10,
		fault:   func(r *rig) { r.p.Add("bandwidth", "downstream", map[string]any{"rate": 64}) },
		heal:    func(r *rig) { r.p.Clear() },
		breaker: staysShut,
	},
	{
		// The headers arrive in time but the body cannot: the per-attempt
		// timeout cuts the body read. The breaker saw an answer, so it
		// stays closed; the caller gets a timeout within its budget.
		name:    "bandwidth_body_over_attempt_timeout",
		body:    16 << 10,
		fault:   func(r *rig) { r.p.Add("bandwidth", "downstream", map[string]any{"rate": 32}) },
		heal:    func(r *rig) { r.p.Clear() },
		breaker: mayOpen,
	},
	{
		name: "upstream_503_retry_after",
		body: 1 << 10,
		fault: func(r *rig) {
			r.u.status.Store(http.StatusServiceUnavailable)
			r.u.retryAfter.Store(1)
		},
		heal:    func(r *rig) { r.u.status.Store(0) },
		breaker: mustOpen,
	},
	{
		name:    "upstream_down_up",
		body:    1 << 10,
		fault:   func(r *rig) { r.u.Down() },
		heal:    func(r *rig) { r.u.Up() },
		breaker: mustOpen,
	},
	{
		name:    "proxy_down_up",
		body:    1 << 10,
		fault:   func(r *rig) { r.p.Down() },
		heal:    func(r *rig) { r.p.Up() },
		breaker: mustOpen,
	},
}

// TestTransportUnderFaults runs each scenario in three phases: for faults
// that must open the breaker, sequential requests (POSTs first, then GETs)
// until it opens; 4 workers × 4 requests mixing GET and POST under the
// fault; then the fault healed and GETs until one succeeds with the breaker
// closed. It checks that every request ends within its budget with a success
// or a classified error, that no POST reaches the network twice, that
// retries stay within the attempt limit and the retry budget, that the
// breaker opens on exactly FailureThreshold failures and closes within
// OpenTimeout plus one probe, and that no goroutine or file descriptor
// outlives the scenario.
func TestTransportUnderFaults(t *testing.T) {
	for _, sc := range transportScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newRig(t, sc.body)
			// Warm up: two successes in a row (a loaded machine may stall one).
			for ok, tries := 0, 0; ok < 2; tries++ {
				res := r.do(http.MethodGet)
				if res.err == nil && res.status == http.StatusOK {
					ok++
					continue
				}
				ok = 0
				t.Logf("warm-up request: status %d, err %v:%s", res.status, res.err, r.count.Explain(res))
				if tries == 5 {
					t.Fatal("no warm-up request succeeded")
				}
			}
			began := time.Now()
			sc.fault(r)
			failedBefore := r.count.failures.Load()
			var results []result

			if sc.breaker == mustOpen {
				// POSTs first, so that they meet the fault on the wire
				// before the breaker opens and shields them; then GETs.
				for i := 0; i < 20 && r.breaker.State() != breaker.Open; i++ {
					method := http.MethodGet
					if i < failureThreshold-2 {
						method = http.MethodPost
					}
					results = append(results, r.do(method))
				}
				changes := r.transitions()
				if len(changes) == 0 || changes[0].to != breaker.Open {
					t.Fatalf("breaker did not open after %d requests; transitions %v", len(results), changes)
				}
				opened := changes[0]
				failed := opened.failures - failedBefore
				t.Logf("breaker opened after %d failed attempts, %v into the fault", failed, round(opened.at.Sub(began)))
				if failed != failureThreshold {
					t.Errorf("breaker opened after %d failed attempts, want FailureThreshold = %d", failed, failureThreshold)
				}
			}

			results = append(results, r.load(4, 4)...)
			underFault := time.Since(began)

			sc.heal(r)
			healed := time.Now()
			var recovery []result
			for time.Since(healed) < 5*time.Second {
				res := r.do(http.MethodGet)
				recovery = append(recovery, res)
				if res.err == nil && res.status == http.StatusOK && r.breaker.State() == breaker.Closed {
					break
				}
			}
			recovered := time.Since(healed)
			results = append(results, recovery...)
			elapsed := time.Since(began)

			var durations latencies
			for _, res := range results {
				durations = append(durations, res.took)
			}
			stats := r.breaker.Stats()
			budget := r.budget.Stats()
			t.Logf("fault phase %v: %s", round(underFault), summary(results[:len(results)-len(recovery)]))
			t.Logf("latency of every request: %v (budget %v)", durations, totalBudget)
			t.Logf("attempts on the wire %d (failed %d), retries %d (budget allowed %d, refused %d), breaker rejections %d",
				r.count.total.Load(), r.count.failures.Load(), r.retries.Load(), budget.Retries, budget.Refused, r.rejects.Load())
			t.Logf("breaker: %d transitions %s; successes %d failures %d rejected %d",
				len(r.transitions()), describe(r.transitions(), began), stats.Successes, stats.Failures, stats.Rejected)
			t.Logf("recovered %v after healing, in %d requests; tracker %v", round(recovered), len(recovery), r.tracker.ByClass())

			// Every request ended in time, with a success or a classified error.
			for _, res := range results {
				if res.took > totalBudget+slack {
					t.Errorf("%s %s took %v, budget %v:%s", res.method, res.id, res.took, totalBudget, r.count.Explain(res))
				}
				if res.err != nil && errtrack.Classify(res.err) == errtrack.Unknown {
					t.Errorf("%s %s: unclassified error %v", res.method, res.id, res.err)
				}
			}
			// Attempts: POST at most once on the wire and at the upstream, GET at most maxAttempts.
			var wireRetries int64
			var posts, postsOnWire, postsFailed, mostPost, mostGet int
			for _, res := range results {
				n := r.count.Attempts(res.method, res.id)
				wireRetries += int64(max(n-1, 0))
				switch res.method {
				case http.MethodPost:
					posts++
					mostPost = max(mostPost, n)
					if n > 0 {
						postsOnWire++
						if res.err != nil || res.status != http.StatusOK {
							postsFailed++
						}
					}
					if n > 1 || r.u.Times(http.MethodPost, res.id) > 1 {
						t.Errorf("POST %s sent %d times, reached the upstream %d times; want at most once",
							res.id, n, r.u.Times(http.MethodPost, res.id))
					}
				default:
					mostGet = max(mostGet, n)
					if n > maxAttempts {
						t.Errorf("GET %s made %d attempts, want at most %d", res.id, n, maxAttempts)
					}
				}
			}
			most := r.u.MaxTimes(http.MethodPost)
			t.Logf("POST: %d sent, %d reached the wire (%d of them failed there), at most %d attempt(s) each, at most %d arrival(s) each at the upstream; GET: at most %d attempts",
				posts, postsOnWire, postsFailed, mostPost, most, mostGet)
			// The retry budget bounds retries: Ratio per call plus the per-second floor.
			bound := budgetRatio*float64(len(results)+2) + budgetFloor*(elapsed.Seconds()+1)
			if float64(budget.Retries) > bound || uint64(wireRetries) > budget.Retries {
				t.Errorf("retries: %d on the wire, %d allowed by the budget; want wire ≤ budget ≤ %.1f",
					wireRetries, budget.Retries, bound)
			}
			// The breaker.
			switch sc.breaker {
			case staysShut:
				if n := len(r.transitions()); n != 0 {
					t.Errorf("breaker changed state %d times under a fault every attempt survives", n)
				}
				for _, res := range results {
					if res.err != nil || res.status != http.StatusOK {
						t.Errorf("%s %s: status %d, err %v; want 200", res.method, res.id, res.status, res.err)
					}
				}
			case mustOpen:
				if limit := openTimeout + attemptTimeout + slack; recovered > limit {
					t.Errorf("recovered %v after healing, want within OpenTimeout + one probe (%v)", recovered, limit)
				}
			}
			last := recovery[len(recovery)-1]
			if last.err != nil || last.status != http.StatusOK || r.breaker.State() != breaker.Closed {
				t.Errorf("after healing: status %d, err %v, breaker %v; want 200 and closed", last.status, last.err, r.breaker.State())
			}
		})
	}
}

// describe lists state changes with their offsets from began.
func describe(changes []transition, began time.Time) string {
	s := ""
	for _, c := range changes {
		s += " " + c.to.String() + "@" + round(c.at.Sub(began)).String()
	}
	return "[" + s + " ]"
}
