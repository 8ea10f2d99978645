package main

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// sim is a discrete-event simulation on the real clock of a testing/synctest
// bubble: one goroutine pops events in time order and sleeps until each, so
// time.Now, timers and time.AfterFunc (which the packages under test use)
// all see virtual time, and a run of minutes takes milliseconds. Events at
// the same instant run in the order they were scheduled.
type sim struct {
	start  time.Time
	events eventHeap
	seq    uint64
}

type event struct {
	at  time.Duration // since start
	seq uint64
	fn  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newSim() *sim { return &sim{start: time.Now()} }

// now returns the virtual time since the simulation started.
func (s *sim) now() time.Duration { return time.Since(s.start) }

// after runs fn d from now.
func (s *sim) after(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.events, event{at: s.now() + max(d, 0), seq: s.seq, fn: fn})
}

// run processes events until the next one is due after end.
func (s *sim) run(end time.Duration) {
	for len(s.events) > 0 && s.events[0].at <= end {
		e := heap.Pop(&s.events).(event)
		if d := e.at - s.now(); d > 0 {
			time.Sleep(d)
		}
		e.fn()
	}
	if d := end - s.now(); d > 0 {
		time.Sleep(d)
	}
}

// exp draws an exponential duration of the given mean.
func exp(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// server is a backend with a fixed number of workers and a bounded FIFO
// queue. It serves every queued request, even one whose client has given
// up: it cannot know, which is what makes overload outlive its cause.
type server struct {
	s        *sim
	workers  int
	busy     int
	queue    []func() // completion callbacks, FIFO
	head     int
	maxQueue int
	service  func() time.Duration // draws the service time of a request starting now
}

// submit queues one request whose completion calls done, and reports
// false if the queue is full (the request is refused at once).
func (sv *server) submit(done func()) bool {
	if sv.busy < sv.workers {
		sv.start(done)
		return true
	}
	if sv.queued() >= sv.maxQueue {
		return false
	}
	sv.queue = append(sv.queue, done)
	return true
}

func (sv *server) queued() int { return len(sv.queue) - sv.head }

func (sv *server) start(done func()) {
	sv.busy++
	sv.s.after(sv.service(), func() {
		sv.busy--
		done()
		sv.fill()
	})
}

// fill starts queued requests while workers are free.
func (sv *server) fill() {
	for sv.busy < sv.workers && sv.queued() > 0 {
		next := sv.queue[sv.head]
		sv.queue[sv.head] = nil
		sv.head++
		if sv.head > 1024 && sv.head*2 > len(sv.queue) {
			sv.queue = append(sv.queue[:0], sv.queue[sv.head:]...)
			sv.head = 0
		}
		sv.start(next)
	}
}

// setWorkers changes the number of workers. Requests running on workers
// that go away finish first.
func (sv *server) setWorkers(n int) {
	sv.workers = n
	sv.fill()
}

// percentile returns the q-quantile (0 < q ≤ 1) of xs, sorting it; 0 for
// an empty slice.
func percentile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	sortDurations(xs)
	i := int(q*float64(len(xs))+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
