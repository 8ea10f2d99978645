package main

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"time"
)

// network draws one-way delays from a normal distribution (mean 10ms,
// standard deviation 2ms, folded at zero), as in the published simulation.
type network struct {
	mean, sd time.Duration
	r        *rand.Rand
}

func (n network) delay() time.Duration {
	return time.Duration(math.Abs(float64(n.mean) + n.r.NormFloat64()*float64(n.sd)))
}

// event is a message arriving at the server.
type event struct {
	at      time.Duration
	client  int
	write   bool // a conditional write; otherwise a read
	version int  // the version the write expects
}

type queue []event

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// outcome is one simulated contention.
type outcome struct {
	calls     int           // conditional writes the server handled
	conflicts int           // calls that failed on a changed version
	done      time.Duration // when the last client learned it had succeeded
}

// simulate lets n clients each update one row guarded by optimistic
// concurrency: read the version, write expecting it, and on a conflict
// wait for the next backoff delay and start over. newDelays returns a
// fresh backoff schedule per client, given a seed drawn from the network's
// source (nil: retry at once).
func simulate(n int, net network, newDelays func(seed uint64) func() time.Duration) outcome {
	var q queue
	delays := make([]func() time.Duration, n)
	for c := range n {
		if newDelays != nil {
			delays[c] = newDelays(net.r.Uint64() | 1) // a zero seed would mean "unseeded"
		}
		heap.Push(&q, event{at: net.delay(), client: c})
	}
	version := 0
	var out outcome
	for q.Len() > 0 {
		e := heap.Pop(&q).(event)
		switch {
		case !e.write: // the reply carries the version; the client writes at once
			heap.Push(&q, event{at: e.at + net.delay() + net.delay(), client: e.client, write: true, version: version})
		case e.version == version:
			version++
			out.calls++
			out.done = max(out.done, e.at+net.delay())
		default: // conflict: the client hears of it, backs off, reads again
			out.calls++
			out.conflicts++
			wait := net.delay() + net.delay()
			if d := delays[e.client]; d != nil {
				wait += d()
			}
			heap.Push(&q, event{at: e.at + wait, client: e.client})
		}
	}
	return out
}
