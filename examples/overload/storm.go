package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
)

// The retry storm: a server of 10 workers serving 10ms on average (1000
// requests a second) behind a FIFO queue of 1500, and clients sending 800
// requests a second (Poisson), each attempt timing out after 1s. From 10s
// to 20s the workers slow to half speed (the trigger). The server cannot
// tell that a client has given up, so it keeps serving requests nobody
// waits for.
const (
	stormLength     = 60 * time.Second
	stormTrigger    = 10 * time.Second
	stormTriggerEnd = 20 * time.Second
	stormWorkers    = 10
	stormService    = 10 * time.Millisecond
	stormQueue      = 1500
	stormRate       = 800 // requests a second
	stormTimeout    = time.Second
	stormAttempts   = 3
)

// stormVariants are the client policies compared.
var stormVariants = []string{"naive retries", "retry budget", "throttle"}

// stormThrottle is the throttle of the throttle variant: K and cap at their
// defaults, a 5s window in 10 buckets (the default 2 minutes fits a real
// service's traffic; this one is scaled to the 60s scenario).
var stormThrottle = throttle.Config{Window: 5 * time.Second, Buckets: 10}

// second holds what happened in one second of a run.
type second struct {
	good, failed int             // requests that ended in that second
	sent, wasted int             // attempts that reached the server; served after their client gave up
	latency      []time.Duration // of the requests that succeeded
	queue        int             // server queue at the end of the second
	rejectP      float64         // throttle rejection probability at the end of the second
}

type stormRun struct {
	variant string
	secs    []second
}

var (
	errServerBusy = statusError(503)
	errTimedOut   = context.DeadlineExceeded
)

type statusError int

func (e statusError) Error() string   { return "status " + itoa(int(e)) }
func (e statusError) StatusCode() int { return int(e) }

// request is one logical client request and its attempts.
type request struct {
	id       uint64
	start    time.Duration
	attempts int
}

// storm is one run of the scenario: the simulated server, the client's
// guards of the variant (at most one of budget and th is set) and the
// figures per second.
type storm struct {
	s       *sim
	sv      *server
	run     stormRun
	budget  *retry.Budget
	th      *throttle.Throttle
	arrival *rand.Rand
	lastID  uint64
}

// runStorm runs the scenario for one variant.
func runStorm(variant string, seed uint64) stormRun {
	s := newSim()
	service := rand.New(rand.NewPCG(seed, 2))
	st := &storm{
		s: s,
		sv: &server{
			s: s, workers: stormWorkers, maxQueue: stormQueue,
			service: func() time.Duration {
				if t := s.now(); t >= stormTrigger && t < stormTriggerEnd {
					return exp(service, 2*stormService)
				}
				return exp(service, stormService)
			},
		},
		run:     stormRun{variant: variant, secs: make([]second, int(stormLength/time.Second))},
		arrival: rand.New(rand.NewPCG(seed, 1)),
	}
	switch variant {
	case "retry budget":
		st.budget = retry.NewBudget(retry.BudgetConfig{})
	case "throttle":
		cfg := stormThrottle
		cfg.Seed = seed
		st.th = throttle.New(cfg)
	}

	s.after(0, st.arrive)
	for i := range st.run.secs {
		s.run(time.Duration(i+1)*time.Second - 1)
		st.run.secs[i].queue = st.sv.queued()
		if st.th != nil {
			st.run.secs[i].rejectP = st.th.Stats().RejectionProbability
		}
	}
	s.events = nil // attempts still pending at the end are not counted
	return st.run
}

// bin is the current second's figures.
func (st *storm) bin() *second {
	return &st.run.secs[min(int(st.s.now()/time.Second), len(st.run.secs)-1)]
}

// arrive starts a new request and schedules the next arrival.
func (st *storm) arrive() {
	st.lastID++
	st.attempt(&request{id: st.lastID, start: st.s.now()})
	if next := exp(st.arrival, time.Second/stormRate); st.s.now()+next < stormLength {
		st.s.after(next, st.arrive)
	}
}

// fail ends a failed attempt of req: a retry after retry's default
// backoff schedule if attempts and the budget allow it, else a failure.
func (st *storm) fail(req *request) {
	if req.attempts >= stormAttempts || st.budget != nil && !withdraw(st.budget) {
		st.bin().failed++
		return
	}
	delay := backoff.Policy{Seed: req.id}.Delay(req.attempts) // retry's default schedule
	st.s.after(delay, func() { st.attempt(req) })
}

// attempt sends one attempt of req through the throttle, if any, to the
// server, and settles it by the first of its answer, its refusal and the
// client's timeout.
func (st *storm) attempt(req *request) {
	req.attempts++
	var permit throttle.Permit
	if st.th != nil {
		p, err := st.th.Allow()
		if err != nil {
			st.fail(req) // refused locally: the server never sees it
			return
		}
		permit = p
	}
	st.bin().sent++
	over := false
	ok := st.sv.submit(func() {
		if over {
			st.bin().wasted++
			return
		}
		over = true
		permit.Done(nil)
		if st.budget != nil && req.attempts == 1 {
			deposit(st.budget)
		}
		b := st.bin()
		b.good++
		b.latency = append(b.latency, st.s.now()-req.start)
	})
	if !ok {
		over = true
		permit.Done(errServerBusy)
		st.fail(req)
		return
	}
	st.s.after(stormTimeout, func() {
		if !over {
			over = true
			permit.Done(errTimedOut)
			st.fail(req)
		}
	})
}

var errAttempt = errors.New("attempt failed")

// deposit and withdraw drive a retry.Budget the way retry.Do does, from a
// simulation that runs its own retry loop. retry.Do deposits once its first
// attempt has ended, then withdraws a token before each retry. Here a
// request whose first attempt succeeds calls deposit, one Do call whose
// attempt succeeds; a failed attempt calls withdraw, one Do call whose
// attempt fails, which deposits and then asks the budget for a retry. Its
// OnRetry, called once the budget has paid for the retry, cancels the
// context, so Do returns at once instead of sleeping through the backoff
// (the simulation schedules the retry itself). After a first attempt this
// is exactly Do's sequence; before a second retry it deposits once more
// than Do would, which adds 0.1 token per second retry (under 1% of the
// load here).
func deposit(b *retry.Budget) {
	_ = retry.Policy{MaxAttempts: 1, Budget: b}.Do(context.Background(), func(context.Context) error { return nil })
}

func withdraw(b *retry.Budget) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allowed := false
	_ = retry.Policy{
		MaxAttempts: 2,
		Budget:      b,
		OnRetry:     func(retry.Attempt) { allowed = true; cancel() },
	}.Do(ctx, func(context.Context) error { return errAttempt })
	return allowed
}

// stormPhase summarises the seconds [from, to) of a run.
type stormPhase struct {
	goodput float64 // successful requests a second
	p99     time.Duration
	sent    float64 // attempts reaching the server a second
	wasted  float64 // attempts served for nobody, a second
}

func (r stormRun) phase(from, to time.Duration) stormPhase {
	var ph stormPhase
	var lat []time.Duration
	n := 0
	for i := int(from / time.Second); i < int(to/time.Second) && i < len(r.secs); i++ {
		sec := r.secs[i]
		ph.goodput += float64(sec.good)
		ph.sent += float64(sec.sent)
		ph.wasted += float64(sec.wasted)
		lat = append(lat, sec.latency...)
		n++
	}
	if n > 0 {
		ph.goodput /= float64(n)
		ph.sent /= float64(n)
		ph.wasted /= float64(n)
	}
	ph.p99 = percentile(lat, 0.99)
	return ph
}

// recovery returns how long after the trigger ended the goodput came back
// to 90% of the demand for good (every later second), or -1 if it never did.
func (r stormRun) recovery() time.Duration {
	first := -1
	for i := int(stormTriggerEnd / time.Second); i < len(r.secs); i++ {
		if float64(r.secs[i].good) >= 0.9*stormRate {
			if first < 0 {
				first = i
			}
		} else {
			first = -1
		}
	}
	if first < 0 {
		return -1
	}
	return time.Duration(first)*time.Second - stormTriggerEnd
}
