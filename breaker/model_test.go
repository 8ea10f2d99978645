package breaker

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// model is a deliberately simple reference of the breaker's state machine:
// one goroutine, plain fields, the rules of the package doc written out.
// Open to half-open is lazy: once the open period is over (now ≥ openUntil)
// the model reports HalfOpen, and the next allow makes the transition.
type model struct {
	cfg                         Config
	now                         time.Duration
	state                       State
	gen                         int
	fails, hoSucc, probes       int
	succBase                    uint64
	lastProbe, openUntil        time.Duration
	forced                      bool
	win                         []uint8 // count window: last WindowSize outcomes
	succ, fail, ign, rej, slowN uint64
	stuckN                      uint64
	watched                     []*modelPermit // StuckAfter: calls in flight, oldest first, done ones until passed
}

type modelPermit struct {
	gen     int
	state   State
	start   time.Duration
	watched bool // among the calls in flight that StuckAfter watches
	done    bool // its Done ran
	stuck   bool // counted as a failure for being in flight StuckAfter
}

// judge counts as failures the watched calls in flight for StuckAfter,
// oldest first, as the next Allow does before it admits its call.
func (m *model) judge() {
	for {
		for len(m.watched) > 0 && m.watched[0].done {
			m.watched = m.watched[1:]
		}
		if len(m.watched) == 0 || m.now-m.watched[0].start < m.cfg.StuckAfter {
			return
		}
		p := m.watched[0]
		m.watched = m.watched[1:]
		p.stuck = true
		m.stuckN++
		age := m.now - p.start
		m.apply(p, failure, m.cfg.SlowCallDuration > 0 && age >= m.cfg.SlowCallDuration)
	}
}

func (m *model) to(s State) {
	m.state = s
	m.gen++
	m.fails, m.hoSucc, m.probes = 0, 0, 0
	m.forced = false
	m.win = m.win[:0]
	switch s {
	case Closed:
		m.succBase = m.succ
	case Open:
		m.openUntil = m.now + m.cfg.OpenTimeout
	case HalfOpen:
		m.lastProbe = m.now
	}
}

// due reports whether the open period is over: the next call half-opens.
func (m *model) due() bool {
	return m.state == Open && !m.forced && m.now >= m.openUntil
}

func (m *model) allow() (*modelPermit, error) {
	if m.cfg.StuckAfter > 0 {
		m.judge()
	}
	if m.state == Open {
		if !m.due() {
			m.rej++
			return nil, ErrOpen
		}
		m.to(HalfOpen)
	}
	if m.state == HalfOpen {
		if m.probes >= m.cfg.HalfOpenMaxCalls {
			if m.now-m.lastProbe < m.cfg.ProbeTimeout {
				m.rej++
				return nil, ErrTooManyCalls
			}
			m.gen++ // abandon the lost probes
			m.probes = 0
		}
		m.probes++
		m.lastProbe = m.now
	}
	p := &modelPermit{gen: m.gen, state: m.state, start: m.now}
	if m.cfg.StuckAfter > 0 && len(m.watched) < watchSize {
		p.watched = true
		m.watched = append(m.watched, p)
	}
	return p, nil
}

func (m *model) done(p *modelPermit, o outcome) {
	slow := o != ignored && m.cfg.SlowCallDuration > 0 && m.now-p.start >= m.cfg.SlowCallDuration
	if slow {
		m.slowN++
	}
	switch o {
	case success:
		m.succ++
	case failure:
		m.fail++
	default:
		m.ign++
	}
	if p.watched {
		p.done = true
		for len(m.watched) > 0 && m.watched[0].done {
			m.watched = m.watched[1:]
		}
		if p.stuck {
			return // counted when it was found stuck
		}
	}
	m.apply(p, o, slow)
}

// apply applies an outcome to the state, as the breaker's apply does.
func (m *model) apply(p *modelPermit, o outcome, slow bool) {
	if p.gen != m.gen || o == ignored {
		if p.gen == m.gen && p.state == HalfOpen {
			m.probes--
		}
		return
	}
	if p.state == HalfOpen {
		m.probes--
		if o == failure {
			m.to(Open)
		} else if m.hoSucc++; m.hoSucc >= m.cfg.SuccessThreshold {
			m.to(Closed)
		}
		return
	}
	if o == success {
		m.fails = 0
	} else {
		m.fails++
		m.succBase = m.succ
		if m.cfg.FailureThreshold > 0 && m.fails >= m.cfg.FailureThreshold {
			m.to(Open)
			return
		}
	}
	if m.cfg.FailureRateThreshold == 0 && m.cfg.SlowCallRateThreshold == 0 {
		return
	}
	var code uint8
	if o == failure {
		code |= failed
	}
	if slow {
		code |= slowed
	}
	m.win = append(m.win, code)
	if len(m.win) > m.cfg.WindowSize {
		m.win = m.win[1:]
	}
	var nf, ns int
	for _, c := range m.win {
		if c&failed != 0 {
			nf++
		}
		if c&slowed != 0 {
			ns++
		}
	}
	n := float64(len(m.win))
	if len(m.win) >= m.cfg.MinimumCalls &&
		(o == failure && m.cfg.FailureRateThreshold > 0 && float64(nf)/n >= m.cfg.FailureRateThreshold ||
			slow && m.cfg.SlowCallRateThreshold > 0 && float64(ns)/n >= m.cfg.SlowCallRateThreshold) {
		m.to(Open)
	}
}

func (m *model) sleep(d time.Duration) { m.now += d }

func (m *model) stats() Stats {
	s := Stats{State: m.state, Successes: m.succ, Failures: m.fail, Ignored: m.ign, Rejected: m.rej, SlowCalls: m.slowN, Stuck: m.stuckN, Forced: m.forced}
	if m.due() {
		s.State = HalfOpen
	}
	switch m.state {
	case Closed:
		s.ConsecutiveFailures = uint64(m.fails)
		s.ConsecutiveSuccesses = m.succ - m.succBase
	case HalfOpen:
		s.ConsecutiveSuccesses = uint64(m.hoSucc)
	}
	return s
}

// modelConfig derives a small config from two bytes.
func modelConfig(a, c byte) Config {
	cfg := Config{
		FailureThreshold: int(a%4) + 1,
		SuccessThreshold: int(a/4%3) + 1,
		HalfOpenMaxCalls: int(a/16%3) + 1,
		OpenTimeout:      time.Duration(c%4+1) * 10 * time.Millisecond,
		ProbeTimeout:     time.Duration(c/4%4+1) * 15 * time.Millisecond,
	}
	if c&0x10 != 0 {
		cfg.FailureThreshold = -1
		cfg.FailureRateThreshold = 0.5
		cfg.WindowSize = int(a%8) + 2
		cfg.MinimumCalls = min(cfg.WindowSize, 3)
	}
	if c&0x20 != 0 {
		cfg.SlowCallDuration = 8 * time.Millisecond
		cfg.SlowCallRateThreshold = 0.6
		if cfg.WindowSize == 0 {
			cfg.WindowSize, cfg.MinimumCalls = 5, 2
		}
	}
	if c&0x40 != 0 {
		cfg.StuckAfter = time.Duration(a%3+1) * 12 * time.Millisecond
	}
	return cfg.withDefaults()
}

// runModel plays ops against a Breaker and the model in one synctest bubble
// and fails at the first difference. Each operation runs on one of workers
// goroutines (chosen by the ops), one at a time, so permits are taken and
// reported on different goroutines while the order stays known.
func runModel(t *testing.T, cfg Config, ops []byte, workers int) {
	synctest.Test(t, func(t *testing.T) {
		b := New(cfg)
		m := &model{cfg: cfg.withDefaults()}
		type pair struct {
			p  Permit
			mp *modelPermit
		}
		var permits []pair
		work := make([]chan func(), workers)
		var wg sync.WaitGroup
		for i := range work {
			work[i] = make(chan func())
			wg.Go(func() {
				for f := range work[i] {
					f()
				}
			})
		}
		defer func() {
			for _, c := range work {
				close(c)
			}
			wg.Wait()
		}()
		on := func(w byte, f func()) {
			done := make(chan struct{})
			work[int(w)%workers] <- func() { f(); close(done) }
			<-done
		}
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			switch op % 8 {
			case 0, 1:
				var p Permit
				var err error
				on(arg, func() { p, err = b.Allow() })
				mp, merr := m.allow()
				if !errors.Is(err, merr) || (err == nil) != (merr == nil) {
					t.Fatalf("op %d allow: got err %v, model %v", i/2, err, merr)
				}
				if err == nil {
					permits = append(permits, pair{p, mp})
				}
			case 2, 3, 4:
				if len(permits) == 0 {
					continue
				}
				k := int(arg) % len(permits)
				pp := permits[k]
				permits = append(permits[:k], permits[k+1:]...)
				o := outcome(op%8 - 2)
				err := []error{nil, errors.New("boom"), context.Canceled}[o]
				on(arg>>4, func() { pp.p.Done(err) })
				m.done(pp.mp, o)
			case 5, 6:
				d := time.Duration(arg%32) * time.Millisecond
				if op%8 == 6 && m.state == Open && !m.forced && m.now < m.openUntil {
					// To the very end of the open period, or 1ns short.
					d = m.openUntil - m.now - time.Duration(arg%2)
				}
				time.Sleep(d)
				m.sleep(d)
			case 7:
				switch arg % 8 {
				case 0:
					on(arg, b.Reset)
					m.to(Closed)
				case 1:
					on(arg, b.ForceOpen)
					m.to(Open)
					m.forced = true
				}
			}
			got, want := b.Stats(), m.stats()
			got.LastTransition = time.Time{}
			got.Window = WindowStats{} // checked by TestStatsWindow
			if got != want {
				t.Fatalf("after op %d (%d,%d):\n got %+v\nwant %+v", i/2, op%8, arg, got, want)
			}
		}
	})
}

func TestModel(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		ops := make([]byte, 400)
		for i := range ops {
			ops[i] = byte(r.Uint32())
		}
		cfg := modelConfig(byte(seed), byte(seed>>3)^byte(seed*37))
		runModel(t, cfg, ops, int(seed%4)+1)
		if t.Failed() {
			t.Fatalf("seed %d, config %+v", seed, cfg)
		}
	}
}

func FuzzModel(f *testing.F) {
	f.Add(byte(2), byte(0), []byte{0, 0, 3, 0, 0, 0, 3, 0, 5, 31, 0, 0, 2, 0})
	f.Add(byte(0x31), byte(0x31), []byte{0, 1, 0, 2, 5, 9, 3, 0, 2, 1, 0, 0})
	f.Add(byte(7), byte(0x12), []byte{7, 1, 0, 0, 7, 0, 0, 0, 4, 0})
	f.Fuzz(func(t *testing.T, a, c byte, ops []byte) {
		if len(ops) > 2000 {
			ops = ops[:2000]
		}
		runModel(t, modelConfig(a, c), ops, int(a%3)+1)
	})
}
