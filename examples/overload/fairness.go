package main

import (
	"math/rand/v2"
	"time"

	"github.com/seed94f50169/resilience/ratelimit"
)

// Rate limit fairness: one abusive client sends 1000 requests a second and
// ten polite ones 10 each, to a server of 4 workers serving 20ms on average
// (200 a second) behind a FIFO queue of 200. Each request times out after
// 1s. The server refuses requests over a limit at its door, before the
// queue, at no cost (429).
const (
	fairLength   = 30 * time.Second
	fairWorkers  = 4
	fairService  = 20 * time.Millisecond
	fairQueue    = 200
	fairAbuser   = 1000 // requests a second
	fairPolite   = 10   // clients
	fairPerPolit = 10   // requests a second each
	fairTimeout  = time.Second
)

// fairVariants are the server's admission policies: none, one limiter for
// all clients (150 a second: what the server can take, with room), and a
// ratelimit.Group keyed by client, 20 a second each with a burst of 20.
var fairVariants = []string{"no limit", "global limit", "per-client limit"}

var (
	fairGlobal = ratelimit.Config{Rate: 150, Burst: 150}
	fairKeyed  = ratelimit.GroupConfig{Config: ratelimit.Config{Rate: 20, Burst: 20}}
)

// clientStats counts one client's requests.
type clientStats struct {
	sent, ok, limited, busy, timedOut int
	latency                           []time.Duration
}

type fairRun struct {
	variant string
	abuser  clientStats
	polite  clientStats   // all polite clients together
	perSec  [][2]int      // per second: requests served in time for the abuser, for the polite clients
	worst   float64       // the lowest success ratio of any polite client
	p99     time.Duration // polite requests that succeeded
	keys    ratelimit.GroupStats
}

func runFairness(variant string, seed uint64) fairRun {
	s := newSim()
	service := rand.New(rand.NewPCG(seed, 2))
	sv := &server{s: s, workers: fairWorkers, maxQueue: fairQueue,
		service: func() time.Duration { return exp(service, fairService) }}
	run := fairRun{variant: variant, perSec: make([][2]int, int(fairLength/time.Second))}
	var global *ratelimit.Limiter
	var group *ratelimit.Group
	switch variant {
	case "global limit":
		global = ratelimit.New(fairGlobal)
	case "per-client limit":
		group = ratelimit.NewGroup(fairKeyed)
	}
	polite := make([]clientStats, fairPolite)

	// request handles one request from client key, counted in st.
	request := func(key string, st *clientStats, abuser bool) {
		st.sent++
		var err error
		switch {
		case global != nil:
			err = global.Allow()
		case group != nil:
			err = group.Allow(key)
		}
		if err != nil {
			st.limited++
			return
		}
		start := s.now()
		over := false
		if !sv.submit(func() {
			if over {
				return
			}
			over = true
			st.ok++
			st.latency = append(st.latency, s.now()-start)
			sec := &run.perSec[min(int(s.now()/time.Second), len(run.perSec)-1)]
			if abuser {
				sec[0]++
			} else {
				sec[1]++
			}
		}) {
			st.busy++
			return
		}
		s.after(fairTimeout, func() {
			if !over {
				over = true
				st.timedOut++
			}
		})
	}

	// Each client is a Poisson source with its own random stream.
	source := func(key string, st *clientStats, rate float64, stream uint64, abuser bool) {
		r := rand.New(rand.NewPCG(seed, stream))
		var next func()
		next = func() {
			request(key, st, abuser)
			if d := exp(r, time.Duration(float64(time.Second)/rate)); s.now()+d < fairLength {
				s.after(d, next)
			}
		}
		s.after(exp(r, time.Duration(float64(time.Second)/rate)), next)
	}
	source("abuser", &run.abuser, fairAbuser, 10, true)
	for i := range polite {
		source("polite-"+itoa(i), &polite[i], fairPerPolit, uint64(11+i), false)
	}
	s.run(fairLength + fairTimeout)
	s.events = nil

	run.worst = 1
	for _, p := range polite {
		run.polite.sent += p.sent
		run.polite.ok += p.ok
		run.polite.limited += p.limited
		run.polite.busy += p.busy
		run.polite.timedOut += p.timedOut
		run.polite.latency = append(run.polite.latency, p.latency...)
		if p.sent > 0 {
			run.worst = min(run.worst, float64(p.ok)/float64(p.sent))
		}
	}
	run.p99 = percentile(run.polite.latency, 0.99)
	if group != nil {
		run.keys = group.Stats()
	}
	return run
}
