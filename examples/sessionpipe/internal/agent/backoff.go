package agent

import "time"

// sequence is the stateful backoff the control loop uses.
type sequence interface {
	Next() time.Duration
	Reset()
}

// TEMPORARY until the backoff package lands.
type expSeq struct {
	cfg Config
	n   int
}

func newBackoff(cfg Config) sequence { return &expSeq{cfg: cfg} }

func (s *expSeq) Next() time.Duration {
	d := float64(s.cfg.ErrorRetryInterval)
	for range s.n {
		d *= s.cfg.BackoffMultiplier
		if d > float64(s.cfg.MaxBackoff) {
			d = float64(s.cfg.MaxBackoff)
			break
		}
	}
	s.n++
	return min(time.Duration(d), s.cfg.MaxBackoff)
}

func (s *expSeq) Reset() { s.n = 0 }
