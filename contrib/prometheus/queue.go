package resprom

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/limit"
)

// queueWait is a queue wait histogram by outcome.
type queueWait struct {
	used               atomic.Bool // an observer was handed out: export it
	vec                *prometheus.HistogramVec
	acquired, rejected prometheus.Observer
}

func newQueueWait(name, help string, cfg Config) *queueWait {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: name, Help: help,
		ConstLabels: prometheus.Labels{LabelName: cfg.Name},
		Buckets:     prometheus.ExponentialBucketsRange(0.0005, 5, 14),
	}, []string{LabelOutcome})
	return &queueWait{vec: v, acquired: v.WithLabelValues("acquired"), rejected: v.WithLabelValues("rejected")}
}

func (q *queueWait) observe(d time.Duration, acquired bool) {
	if d <= 0 {
		return
	}
	if acquired {
		q.acquired.Observe(d.Seconds())
	} else {
		q.rejected.Observe(d.Seconds())
	}
}

// Bulkhead returns a bulkhead.Observer that records, in
// resilience_bulkhead_queue_wait_seconds, how long each caller that queued
// waited, by outcome (acquired|rejected). Attach it through
// bulkhead.Config.Observers.
func (c *Collector) Bulkhead() bulkhead.Observer {
	c.bhWait.used.Store(true)
	return bulkhead.ObserverFunc(func(e bulkhead.Event) {
		c.bhWait.observe(e.Wait, e.Kind == bulkhead.EventAcquire)
	})
}

// Limit returns a limit.Observer that records, in
// resilience_limit_queue_wait_seconds, how long each caller that queued for
// the adaptive limit waited, by outcome (acquired|rejected). Attach it
// through limit.Config.Observers.
func (c *Collector) Limit() limit.Observer {
	c.limWait.used.Store(true)
	return limit.ObserverFunc(func(e limit.Event) {
		if e.Kind == limit.EventAcquire || e.Kind == limit.EventReject {
			c.limWait.observe(e.Wait, e.Kind == limit.EventAcquire)
		}
	})
}
