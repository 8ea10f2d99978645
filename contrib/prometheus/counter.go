package resprom

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counter is a counter metric with up to one variable label besides the
// optional host, its series held in atomics.
type counter struct {
	desc   *prometheus.Desc
	label  string // "" for none
	hosts  bool
	mu     sync.RWMutex
	series map[seriesKey]*atomic.Uint64
	values int // distinct values of label
	nhosts int
}

type seriesKey struct{ value, host string }

func newCounter(name, help, label string, cfg Config) *counter {
	var labels []string
	if label != "" {
		labels = append(labels, label)
	}
	if cfg.Hosts {
		labels = append(labels, LabelHost)
	}
	return &counter{
		desc:   prometheus.NewDesc(name, help, labels, prometheus.Labels{LabelName: cfg.Name}),
		label:  label,
		hosts:  cfg.Hosts,
		series: make(map[seriesKey]*atomic.Uint64),
	}
}

// inc adds one to the series of value (ignored without a label) and host
// (ignored without Config.Hosts).
func (c *counter) inc(value, host string) {
	if !c.hosts {
		host = ""
	} else if host == "" {
		host = "none"
	}
	k := seriesKey{value, host}
	c.mu.RLock()
	v := c.series[k]
	c.mu.RUnlock()
	if v == nil {
		v = c.add(k)
	}
	v.Add(1)
}

func (c *counter) add(k seriesKey) *atomic.Uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.series[k]; v != nil {
		return v
	}
	seenValue, seenHost := false, false
	for s := range c.series {
		seenValue = seenValue || s.value == k.value
		seenHost = seenHost || s.host == k.host
	}
	if !seenValue && c.values >= MaxClasses {
		k.value = "other"
	}
	if !seenHost && c.nhosts >= MaxHosts {
		k.host = "other"
	}
	if v := c.series[k]; v != nil {
		return v
	}
	if !seenValue || k.value == "other" {
		c.values++
	}
	if !seenHost || k.host == "other" {
		c.nhosts++
	}
	v := new(atomic.Uint64)
	c.series[k] = v
	return v
}

func (c *counter) collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k, v := range c.series {
		var lv []string
		if c.label != "" {
			lv = append(lv, k.value)
		}
		if c.hosts {
			lv = append(lv, k.host)
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v.Load()), lv...)
	}
}
