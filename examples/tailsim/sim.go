package main

import (
	"container/heap"
	"math"
	"math/bits"
	"slices"
	"time"
)

// strategy is one way to hedge.
type strategy struct {
	name     string
	hedge    bool
	delay    time.Duration // fixed delay; 0: adaptive
	quantile float64       // adaptive
	budget   bool          // hedges spend a retry budget (10%, floor 10/s)
}

var (
	noHedge  = strategy{name: "no hedging"}
	fixed    = strategy{name: "fixed 5ms", hedge: true, delay: 5 * time.Millisecond}
	adaptive = strategy{name: "adaptive p95", hedge: true, quantile: 0.95}
	budgeted = strategy{name: "fixed 5ms + budget", hedge: true, delay: 5 * time.Millisecond, budget: true}
	adaptB   = strategy{name: "adaptive p95 + budget", hedge: true, quantile: 0.95, budget: true}
)

// The hedge package's defaults, which the model follows.
const (
	minDelay = time.Millisecond
	maxDelay = time.Second
	window   = 1000
)

// result is what one strategy came to in one scenario.
type result struct {
	latencies []time.Duration // of each request, sorted
	subs      int             // sub-requests (calls of hedge.Do)
	hedges    int             // hedges sent
}

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(r.latencies)))) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// extra is the load hedges add: hedges sent per sub-request.
func (r result) extra() float64 { return float64(r.hedges) / float64(r.subs) }

// delayModel follows the hedge package's delay rule: a fixed delay, or the
// quantile of the last window to two windows of attempt latencies
// (successes, and losers' time until they were ended), rounded up to the
// top of its histogram bucket (1/16 of the value wide), recomputed every
// window/16 samples, between minDelay and maxDelay, maxDelay while cold.
type delayModel struct {
	s           strategy
	cur, prev   map[int]int // samples by bucket
	nCur, nPrev int
	pending     int
	estimate    time.Duration
}

func (m *delayModel) delay() time.Duration {
	if m.s.delay > 0 {
		return m.s.delay
	}
	if m.estimate == 0 {
		return maxDelay
	}
	return min(max(m.estimate, minDelay), maxDelay)
}

func (m *delayModel) record(d time.Duration) {
	if m.s.delay > 0 {
		return
	}
	if m.cur == nil {
		m.cur, m.prev = map[int]int{}, map[int]int{}
	}
	m.cur[bucket(d)]++
	m.nCur++
	m.pending++
	if m.nCur >= window {
		m.prev, m.cur = m.cur, map[int]int{}
		m.nPrev, m.nCur = m.nCur, 0
	}
	warm := min(window, int(math.Ceil(10/(1-m.s.quantile))))
	n := m.nCur + m.nPrev
	if (m.pending >= window/16 || m.estimate == 0) && n >= warm {
		m.pending = 0
		rank := min(max(int(math.Ceil(m.s.quantile*float64(n))), 1), n)
		keys := make([]int, 0, len(m.cur)+len(m.prev))
		for k := range m.cur {
			keys = append(keys, k)
		}
		for k := range m.prev {
			if _, ok := m.cur[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		seen := 0
		for _, k := range keys {
			seen += m.cur[k] + m.prev[k]
			if seen >= rank {
				m.estimate = max(top(k), 1)
				break
			}
		}
	}
}

// bucket and top: buckets 1/16 of their value wide, as in package hedge.
func bucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < 16 {
		return int(v)
	}
	e := bits.Len64(v) - 1
	return (e-3)*16 + int(v>>(e-4)&15)
}

func top(i int) time.Duration {
	if i < 16 {
		return time.Duration(i)
	}
	e, m := i/16+3, uint64(i%16)
	return time.Duration((16+m+1)<<(e-4) - 1)
}

// budgetModel follows retry.Budget with its defaults: each call deposits
// 0.1 token (up to 100), each hedge takes a token, or else one from a floor
// of 10 per second.
type budgetModel struct {
	tokens, floor float64
	last          time.Duration
}

func newBudget() *budgetModel { return &budgetModel{floor: 10} }

func (b *budgetModel) deposit() { b.tokens = min(b.tokens+0.1, 100) }

func (b *budgetModel) withdraw(now time.Duration) bool {
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	if now > b.last {
		b.floor = min(10, b.floor+(now-b.last).Seconds()*10)
		b.last = now
	}
	if b.floor >= 1 {
		b.floor--
		return true
	}
	return false
}

// fanout runs requests of fanout sub-requests each, one request at a time
// on an otherwise idle fleet (no queueing), and returns each request's
// latency: that of its slowest sub-request.
func fanout(w workload, s strategy, requests, fanout int) result {
	res := result{latencies: make([]time.Duration, 0, requests)}
	m := &delayModel{s: s}
	type rec struct{ at, lat time.Duration }
	var recs []rec
	for r := range requests {
		d := m.delay()
		var slowest time.Duration
		recs = recs[:0]
		for sub := range fanout {
			res.subs++
			l1 := w.latency(r, sub, 1)
			lat := l1
			switch {
			case !s.hedge || l1 <= d:
				recs = append(recs, rec{l1, l1})
			default:
				res.hedges++
				l2 := w.latency(r, sub, 2)
				if l1 <= d+l2 { // the first wins, the hedge is ended
					recs = append(recs, rec{l1, l1}, rec{l1, l1 - d})
				} else {
					lat = d + l2
					recs = append(recs, rec{lat, l2}, rec{lat, lat})
				}
			}
			slowest = max(slowest, lat)
		}
		slices.SortStableFunc(recs, func(a, b rec) int { return int(a.at - b.at) })
		for _, x := range recs {
			m.record(x.lat)
		}
		res.latencies = append(res.latencies, slowest)
	}
	slices.Sort(res.latencies)
	return res
}

// event is a moment in the overloaded fleet: a request arrives, or its
// hedge is due.
type event struct {
	at   time.Duration
	req  int
	kind int // arrive or hedgeDue
}

const (
	arrive = iota
	hedgeDue
)

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].at < e[j].at || e[i].at == e[j].at && e[i].req < e[j].req
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// overload runs an open stream of single requests (Poisson arrivals at
// w.load of the fleet's capacity) against w.servers FIFO servers. Servers
// do not learn of cancellation: a losing attempt still costs its service
// time, as with most servers once a request is queued.
func overload(w workload, s strategy) result {
	type state struct {
		start, finish1 time.Duration
		server1        int
		delay          time.Duration
	}
	busy := make([]time.Duration, w.servers)
	serve := func(server int, at, work time.Duration) time.Duration {
		start := max(at, busy[server])
		busy[server] = start + work
		return busy[server]
	}
	m := &delayModel{s: s}
	b := newBudget()
	var res result
	var reqs []state
	q := &events{}
	var t time.Duration
	for r := 0; ; r++ {
		t += w.interarrival(r)
		if t >= w.duration {
			break
		}
		heap.Push(q, event{at: t, req: r, kind: arrive})
	}
	reqs = make([]state, q.Len())
	for q.Len() > 0 {
		e := heap.Pop(q).(event)
		st := &reqs[e.req]
		switch e.kind {
		case arrive:
			res.subs++
			b.deposit()
			st.start, st.delay = e.at, m.delay()
			st.server1 = w.server(e.req, 1, -1)
			st.finish1 = serve(st.server1, e.at, w.service(e.req, 0, 1))
			if s.hedge && st.finish1-e.at > st.delay {
				heap.Push(q, event{at: e.at + st.delay, req: e.req, kind: hedgeDue})
				continue
			}
			m.record(st.finish1 - e.at)
			res.latencies = append(res.latencies, st.finish1-e.at)
		case hedgeDue:
			done := st.finish1
			if !s.budget || b.withdraw(e.at) {
				res.hedges++
				f2 := serve(w.server(e.req, 2, st.server1), e.at, w.service(e.req, 0, 2))
				if f2 < done {
					done = f2
					m.record(f2 - e.at)
				} else {
					m.record(done - e.at)
				}
			}
			m.record(done - st.start)
			res.latencies = append(res.latencies, done-st.start)
		}
	}
	slices.Sort(res.latencies)
	return res
}
