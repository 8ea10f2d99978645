package main

import (
	"math"
	"time"
)

// workload is the fleet: how long a request takes on a server, drawn
// deterministically from the seed and the request's coordinates, so that
// the model and the real package see the same latencies whatever order
// they draw them in.
type workload struct {
	seed     uint64
	median   time.Duration // of a normal reply (lognormal)
	sigma    float64       // of log latency
	pSlow    float64       // chance that interference delays a reply
	slowMin  time.Duration // interference delays are log-uniform in [slowMin, slowMax]
	slowMax  time.Duration
	servers  int     // the overloaded fleet's size
	load     float64 // the overloaded fleet's utilization without hedges
	duration time.Duration
}

// defaultWorkload: most replies in a few milliseconds, one in 400 held up
// by interference (a compaction, a GC pause, a noisy neighbour) for 100ms
// to 2s.
func defaultWorkload(seed uint64) workload {
	return workload{
		seed: seed, median: 2 * time.Millisecond, sigma: 0.4,
		pSlow: 0.0025, slowMin: 100 * time.Millisecond, slowMax: 2 * time.Second,
		servers: 10, load: 0.85, duration: 10 * time.Second,
	}
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform returns a float in (0, 1) for the coordinates and a stream.
func (w workload) uniform(req, sub, attempt, stream uint64) float64 {
	h := mix(w.seed ^ mix(req+0x9e3779b97f4a7c15*(sub+1)) ^ mix(attempt<<32|stream))
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// latency is the time attempt (1 for the first) of sub-request sub of
// request req takes on an idle server.
func (w workload) latency(req, sub, attempt int) time.Duration {
	r, s, a := uint64(req), uint64(sub), uint64(attempt)
	d := w.service(req, sub, attempt)
	if w.uniform(r, s, a, 3) < w.pSlow {
		lo, hi := math.Log(float64(w.slowMin)), math.Log(float64(w.slowMax))
		d += time.Duration(math.Exp(lo + (hi-lo)*w.uniform(r, s, a, 4)))
	}
	return max(d, time.Microsecond)
}

// service is the work of an attempt without interference: the service
// time of the overloaded fleet, whose tail comes from queueing.
func (w workload) service(req, sub, attempt int) time.Duration {
	r, s, a := uint64(req), uint64(sub), uint64(attempt)
	u1, u2 := w.uniform(r, s, a, 1), w.uniform(r, s, a, 2)
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return max(time.Duration(float64(w.median)*math.Exp(w.sigma*z)), time.Microsecond)
}

// server picks the server of an attempt in the overloaded fleet; a hedge
// never goes to the server of the attempt before it.
func (w workload) server(req, attempt int, prev int) int {
	s := int(w.uniform(uint64(req), 0, uint64(attempt), 5) * float64(w.servers-1))
	if prev >= 0 && s >= prev {
		s++
	}
	if prev < 0 {
		s = int(w.uniform(uint64(req), 0, uint64(attempt), 5) * float64(w.servers))
	}
	return s
}

// arrival is the time request req arrives at the overloaded fleet: a
// Poisson process whose rate is load × the fleet's capacity.
func (w workload) interarrival(req int) time.Duration {
	mean := float64(w.meanService()) / (w.load * float64(w.servers))
	return time.Duration(-mean * math.Log(w.uniform(uint64(req), 0, 0, 6)))
}

// meanService is the mean of service: the lognormal's mean.
func (w workload) meanService() time.Duration {
	return time.Duration(float64(w.median) * math.Exp(w.sigma*w.sigma/2))
}
