package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/middleware"
)

// Server overload: a server that serves 10 requests at once, each for
// exactly 10ms (1000 a second), is offered 1500 requests a second
// (Poisson) for 30s by clients of three priorities, each of which gives up
// after 1s. The server is Recovery.Handler from middleware, running in
// front of it either a bulkhead with a queue deep enough never to refuse
// anyone (plain FIFO, no shedding) or a Shedder (CoDel and adaptive LIFO,
// by priority). Clients send no deadline header: the server cannot tell
// that a client has given up and serves an answer nobody reads.
const (
	serverLength  = 30 * time.Second
	serverWorkers = 10
	serverService = 10 * time.Millisecond
	serverRate    = 1500 // requests a second: 150% of the capacity
	serverTimeout = time.Second
	serverDrain   = time.Minute // after the last arrival, for the queue to empty
	// serverCapacity is what the server can answer in a second.
	serverCapacity = serverWorkers * int(time.Second/serverService)
)

// serverPriorities are the clients' priorities, highest first: the share
// of the requests each sends and the priority the Shedder gives it.
var serverPriorities = []struct {
	name  string
	share float64
	level int
}{
	{"critical", 0.2, 2},
	{"default", 0.4, 1},
	{"sheddable", 0.4, 0},
}

// serverPriorityHeader carries a request's priority name.
const serverPriorityHeader = "Priority"

// serverVariants are the servers compared.
var serverVariants = []string{"FIFO queue", "Shedder"}

var (
	// serverFIFO holds every request until a slot is free.
	serverFIFO = bulkhead.Config{MaxConcurrent: serverWorkers, MaxQueued: bulkhead.MaxLimit, QueueTimeout: bulkhead.NoQueueTimeout}
	// serverShed is the Shedder at its defaults (MaxQueued 100, Target
	// 5ms, Interval 100ms), Target and Interval written out because the
	// grid below depends on them.
	serverShed = middleware.ShedConfig{
		MaxConcurrent: serverWorkers,
		Target:        5 * time.Millisecond,
		Interval:      100 * time.Millisecond,
		Priority:      priorityLevel,
	}
)

// priorityLevel is the Shedder's Priority: the level of the request's
// priority header; default for a missing or unknown one.
func priorityLevel(req *http.Request) int {
	name := req.Header.Get(serverPriorityHeader)
	for _, p := range serverPriorities {
		if p.name == name {
			return p.level
		}
	}
	return serverPriorities[1].level
}

// The simulation acts on a grid: requests arrive on whole multiples of
// serverTick, and the service of a request ends serverDoneOffset past one
// (at the first such instant once serverService has passed, which adds at
// most one tick to it). The Shedder's own timers fire Target or Interval
// after an arrival, which are 2µs and 5µs past a multiple of 7µs. So no
// timer fires at an instant at which the simulation acts, and the order in
// which the goroutines woken at one instant run cannot change an outcome:
// with the same seed every run gives the same numbers.
const (
	serverTick       = 7 * time.Microsecond
	serverDoneOffset = 3 * time.Microsecond
)

// gridError reports whether a waiting request's timer could fire at an
// instant at which the simulation acts.
func gridError(cfg middleware.ShedConfig) error {
	offsets := []time.Duration{0, serverDoneOffset, cfg.Target % serverTick, cfg.Interval % serverTick}
	for i, a := range offsets {
		if slices.Contains(offsets[i+1:], a) {
			return fmt.Errorf("overload: Target %v and Interval %v put timers on the simulation's grid of %v", cfg.Target, cfg.Interval, serverTick)
		}
	}
	return nil
}

// onGrid returns the first instant at or after t that lies offset past a
// multiple of serverTick.
func onGrid(t, offset time.Duration) time.Duration {
	if r := ((t-offset)%serverTick + serverTick) % serverTick; r != 0 {
		return t + serverTick - r
	}
	return t
}

// serverClass counts the requests of one priority, by how they ended.
type serverClass struct {
	sent int
	good int // answered within the client's timeout
	late int // answered after the client gave up: wasted work
	shed int // refused with 503
	// latency of the good answers
	latency []time.Duration
}

// serverSecond holds the answers that ended in one second.
type serverSecond struct {
	good    []int           // answered in time, by priority
	latency []time.Duration // of every answer, in time or late
}

type serverRun struct {
	variant string
	classes []serverClass // by priority
	secs    []serverSecond
}

// serverCall is one request.
type serverCall struct {
	priority int // index in serverPriorities
	arrived  time.Duration
	done     chan struct{} // closed when its service time is over
}

// serverNews is what a request's goroutine tells the simulation: that it
// started being served, or how it ended.
type serverNews struct {
	call    *serverCall
	started bool
	at      time.Duration
	code    int // once ended
}

type callKey struct{}

// serverSim runs one variant. Its request goroutines post news to the
// mailbox; only the simulation's goroutine reads it, after each of its
// actions, once every request goroutine is blocked (synctest.Wait).
type serverSim struct {
	s       *sim
	handler http.Handler
	run     *serverRun
	pending int // requests that have not ended yet

	mu      sync.Mutex
	mailbox []serverNews // guarded by mu
}

func runServer(variant string, seed uint64) serverRun {
	if err := gridError(serverShed); err != nil {
		panic(err.Error())
	}
	ss := &serverSim{s: newSim(), run: &serverRun{variant: variant}}
	ss.run.classes = make([]serverClass, len(serverPriorities))
	ss.run.secs = make([]serverSecond, int(serverLength/time.Second))
	for i := range ss.run.secs {
		ss.run.secs[i].good = make([]int, len(serverPriorities))
	}
	r := &middleware.Recovery{Shed: middleware.NewShedder(serverShed)}
	if variant == "FIFO queue" {
		r = &middleware.Recovery{Bulkhead: bulkhead.New(serverFIFO)}
	}
	ss.handler = r.Handler(http.HandlerFunc(ss.serve))

	arrivals := rand.New(rand.NewPCG(seed, 1))
	priorities := rand.New(rand.NewPCG(seed, 3))
	var arrive func()
	arrive = func() {
		ss.send(pickPriority(priorities))
		next := onGrid(ss.s.now()+exp(arrivals, time.Second/serverRate), 0)
		if next == ss.s.now() {
			next += serverTick
		}
		if next < serverLength {
			ss.s.after(next-ss.s.now(), arrive)
		}
	}
	ss.s.after(0, arrive)
	ss.s.run(serverLength + serverDrain)
	ss.settle()
	if ss.pending != 0 {
		panic(fmt.Sprintf("overload: %d requests still pending %v after the last arrival", ss.pending, serverDrain))
	}
	return *ss.run
}

// pickPriority draws a priority by the clients' shares.
func pickPriority(r *rand.Rand) int {
	x := r.Float64()
	for i, p := range serverPriorities {
		if x < p.share {
			return i
		}
		x -= p.share
	}
	return len(serverPriorities) - 1
}

// send starts one request of priority p on its own goroutine, as a server
// would, and settles.
func (ss *serverSim) send(p int) {
	c := &serverCall{priority: p, arrived: ss.s.now(), done: make(chan struct{})}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(serverPriorityHeader, serverPriorities[p].name)
	req = req.WithContext(context.WithValue(req.Context(), callKey{}, c))
	ss.pending++
	ss.run.classes[p].sent++
	go func() {
		rec := httptest.NewRecorder()
		ss.handler.ServeHTTP(rec, req)
		ss.post(serverNews{call: c, at: ss.s.now(), code: rec.Code})
	}()
	ss.settle()
}

// serve is the application behind the Handler: it holds its slot for the
// service time, which the simulation ends.
func (ss *serverSim) serve(w http.ResponseWriter, req *http.Request) {
	c := req.Context().Value(callKey{}).(*serverCall)
	ss.post(serverNews{call: c, started: true, at: ss.s.now()})
	<-c.done
	w.WriteHeader(http.StatusOK)
}

func (ss *serverSim) post(n serverNews) {
	ss.mu.Lock()
	ss.mailbox = append(ss.mailbox, n)
	ss.mu.Unlock()
}

// settle waits until every request goroutine is blocked, then handles
// their news in a fixed order: the order in which goroutines woken at the
// same instant posted it is up to the scheduler.
func (ss *serverSim) settle() {
	synctest.Wait()
	ss.mu.Lock()
	news := ss.mailbox
	ss.mailbox = nil
	ss.mu.Unlock()
	slices.SortStableFunc(news, func(a, b serverNews) int {
		switch {
		case a.at != b.at:
			return int(a.at - b.at)
		case a.call.arrived != b.call.arrived:
			return int(a.call.arrived - b.call.arrived)
		}
		return 0
	})
	for _, n := range news {
		if n.started {
			c := n.call
			end := onGrid(n.at+serverService, serverDoneOffset)
			ss.s.after(end-ss.s.now(), func() { close(c.done); ss.settle() })
			continue
		}
		ss.ended(n)
	}
}

// ended counts a request that got its answer.
func (ss *serverSim) ended(n serverNews) {
	ss.pending--
	cl := &ss.run.classes[n.call.priority]
	latency := n.at - n.call.arrived
	var sec *serverSecond
	if i := int(n.at / time.Second); i < len(ss.run.secs) {
		sec = &ss.run.secs[i]
	}
	switch {
	case n.code == http.StatusServiceUnavailable:
		cl.shed++
		return
	case n.code != http.StatusOK:
		panic(fmt.Sprintf("overload: unexpected status %d", n.code))
	case latency <= serverTimeout:
		cl.good++
		cl.latency = append(cl.latency, latency)
		if sec != nil {
			sec.good[n.call.priority]++
		}
	default:
		cl.late++
	}
	if sec != nil {
		sec.latency = append(sec.latency, latency)
	}
}

// total sums the classes of a run.
func (r serverRun) total() serverClass {
	var t serverClass
	for _, c := range r.classes {
		t.sent += c.sent
		t.good += c.good
		t.late += c.late
		t.shed += c.shed
		t.latency = append(t.latency, c.latency...)
	}
	return t
}

// goodput returns the answers in time a second of a class.
func (c serverClass) goodput() float64 { return float64(c.good) / serverLength.Seconds() }

// inTime returns the share of a class's requests answered in time.
func (c serverClass) inTime() float64 {
	if c.sent == 0 {
		return 0
	}
	return float64(c.good) / float64(c.sent)
}
