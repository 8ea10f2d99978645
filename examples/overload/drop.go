package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/limit"
)

// Capacity drop: a backend of 10 workers, each request taking 8 to 12ms
// (1000 requests a second), in front of which a concurrency limit admits
// requests arriving at 700 a second (Poisson). Admitted requests beyond the
// free workers wait in the backend's own queue. From 20s to 40s six of the
// ten workers are gone (400 a second). A request the limit refuses is shed
// at once (a 503), and counts as neither goodput nor latency.
const (
	dropLength   = 60 * time.Second
	dropStart    = 20 * time.Second
	dropEnd      = 40 * time.Second
	dropWorkers  = 10
	dropReduced  = 4
	dropService  = 10 * time.Millisecond // mean of a uniform draw in [8ms, 12ms]
	dropSpread   = 2 * time.Millisecond
	dropRate     = 700 // requests a second
	dropWarmup   = 5 * time.Second
	dropSettle   = 3 * time.Second          // how long into the drop the "settled" phase starts
	dropUnloaded = dropService + dropSpread // the latency of a request that never waits
)

// dropVariants are the admission policies compared: the pforge bulkhead
// defaults (10 at once, 100 queued for up to 5s) and the adaptive limit
// with Gradient2 and with Vegas, at their defaults (no queue).
var dropVariants = []string{"bulkhead 10/100", "limit Gradient2", "limit Vegas"}

var (
	dropGradient2 = limit.Config{Algorithm: limit.Gradient2}
	dropVegas     = limit.Config{Algorithm: limit.Vegas}
)

// dropSecond holds what happened in one second.
type dropSecond struct {
	good, shed int
	latency    []time.Duration
	limit      int // the concurrency limit at the end of the second
}

type dropRun struct {
	variant string
	secs    []dropSecond
}

func runDrop(variant string, seed uint64) dropRun {
	s := newSim()
	arrivals := rand.New(rand.NewPCG(seed, 1))
	service := rand.New(rand.NewPCG(seed, 2))
	// The backend's service time is uniform, not exponential, so that the
	// unloaded latency is well defined: at most dropUnloaded.
	backend := &server{s: s, workers: dropWorkers, maxQueue: 1 << 30, service: func() time.Duration {
		return dropService - dropSpread + time.Duration(service.Int64N(int64(2*dropSpread)+1))
	}}
	run := dropRun{variant: variant, secs: make([]dropSecond, int(dropLength/time.Second))}
	bin := func() *dropSecond { return &run.secs[min(int(s.now()/time.Second), len(run.secs)-1)] }
	s.after(dropStart, func() { backend.setWorkers(dropReduced) })
	s.after(dropEnd, func() { backend.setWorkers(dropWorkers) })

	// admit takes a slot for one request, or reports false; release frees
	// it once the request is done.
	var admit func(start time.Duration)
	var limitOf func() int
	switch variant {
	case "bulkhead 10/100":
		// The bulkhead's slots are the real ones (TryAcquire, Release);
		// its FIFO queue of 100 with a 5s timeout is kept here, since
		// Acquire would block the simulation's only goroutine.
		bh := bulkhead.New(bulkhead.Config{}) // 10 at once
		const maxQueued, queueTimeout = 100, 5 * time.Second
		type waiter struct {
			start time.Duration
			gone  bool
		}
		var queue []*waiter
		var serve func(start time.Duration)
		serve = func(start time.Duration) {
			backend.submit(func() {
				b := bin()
				b.good++
				b.latency = append(b.latency, s.now()-start)
				bh.Release()
				for len(queue) > 0 {
					w := queue[0]
					queue = queue[1:]
					if !w.gone {
						if !bh.TryAcquire() {
							panic("overload: a released slot was not free")
						}
						w.gone = true
						serve(w.start)
						break
					}
				}
			})
		}
		admit = func(start time.Duration) {
			if bh.TryAcquire() {
				serve(start)
				return
			}
			waiting := 0
			for _, w := range queue {
				if !w.gone {
					waiting++
				}
			}
			if waiting >= maxQueued {
				bin().shed++
				return
			}
			w := &waiter{start: start}
			queue = append(queue, w)
			s.after(queueTimeout, func() {
				if !w.gone {
					w.gone = true
					bin().shed++
				}
			})
		}
		limitOf = func() int { return dropWorkers }
	default:
		cfg := dropGradient2
		if variant == "limit Vegas" {
			cfg = dropVegas
		}
		l := limit.New(cfg)
		admit = func(start time.Duration) {
			tok, err := l.Acquire(context.Background())
			if err != nil {
				bin().shed++
				return
			}
			backend.submit(func() {
				tok.Done(nil)
				b := bin()
				b.good++
				b.latency = append(b.latency, s.now()-start)
			})
		}
		limitOf = func() int { return l.Stats().Limit }
	}

	var arrive func()
	arrive = func() {
		admit(s.now())
		if next := exp(arrivals, time.Second/dropRate); s.now()+next < dropLength {
			s.after(next, arrive)
		}
	}
	s.after(0, arrive)
	for i := range run.secs {
		s.run(time.Duration(i+1)*time.Second - 1)
		run.secs[i].limit = limitOf()
	}
	s.events = nil
	return run
}

// dropPhase summarises the seconds [from, to) of a run.
type dropPhase struct {
	goodput, shed float64 // a second
	p99           time.Duration
}

func (r dropRun) phase(from, to time.Duration) dropPhase {
	var ph dropPhase
	var lat []time.Duration
	n := 0
	for i := int(from / time.Second); i < int(to/time.Second) && i < len(r.secs); i++ {
		ph.goodput += float64(r.secs[i].good)
		ph.shed += float64(r.secs[i].shed)
		lat = append(lat, r.secs[i].latency...)
		n++
	}
	if n > 0 {
		ph.goodput /= float64(n)
		ph.shed /= float64(n)
	}
	ph.p99 = percentile(lat, 0.99)
	return ph
}
