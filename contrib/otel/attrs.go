package resotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/seed94f50169/resilience/errtrack"
)

// attrs returns the attribute set {name, key=value, host} (key "" for
// none), bounding the number of distinct values and hosts.
func (o *Observer) attrs(key, value, host string) attribute.Set {
	if !o.hosts {
		host = ""
	}
	k := setKey{key, value, host}
	o.mu.RLock()
	s, ok := o.sets[k]
	o.mu.RUnlock()
	if ok {
		return s
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.setLocked(k)
}

// setLocked is attrs once o.mu is held: it finds or makes the set of k,
// bounded.
func (o *Observer) setLocked(k setKey) attribute.Set {
	if s, ok := o.sets[k]; ok {
		return s
	}
	k = o.boundLocked(k)
	if s, ok := o.sets[k]; ok {
		return s
	}
	kvs := []attribute.KeyValue{o.nameKV}
	if k.key != "" {
		kvs = append(kvs, attribute.String(k.key, k.value))
	}
	if k.host != "" {
		kvs = append(kvs, attribute.String(KeyHost, k.host))
	}
	s := attribute.NewSet(kvs...)
	o.rememberLocked(k)
	if len(o.sets) < 4*(MaxClasses+MaxHosts) || o.known(k) {
		o.sets[k] = s
	}
	return s
}

// boundLocked returns k with a new value or host beyond its limit
// replaced by "other".
func (o *Observer) boundLocked(k setKey) setKey {
	if k.key != "" && o.nsets[0] >= MaxClasses && !o.known(setKey{key: k.key, value: k.value}) {
		k.value = "other"
	}
	if k.host != "" && o.nsets[1] >= MaxHosts && !o.known(setKey{host: k.host}) {
		k.host = "other"
	}
	return k
}

// rememberLocked counts the value and the host of k among the distinct
// ones, if they are new.
func (o *Observer) rememberLocked(k setKey) {
	if k.key != "" && !o.known(setKey{key: k.key, value: k.value}) {
		o.sets[setKey{key: k.key, value: k.value}] = attribute.NewSet(o.nameKV, attribute.String(k.key, k.value))
		o.nsets[0]++
	}
	if k.host != "" && !o.known(setKey{host: k.host}) {
		o.sets[setKey{host: k.host}] = attribute.NewSet(o.nameKV, attribute.String(KeyHost, k.host))
		o.nsets[1]++
	}
}

func (o *Observer) known(k setKey) bool { _, ok := o.sets[k]; return ok }

func (o *Observer) add(ctx context.Context, c metric.Int64Counter, key, value, host string) {
	c.Add(ctx, 1, metric.WithAttributeSet(o.attrs(key, value, host)))
}

// classOf is the class attribute of err: its errtrack class.
func classOf(err error) string {
	if c := errtrack.Classify(err); c != "" {
		return string(c)
	}
	return string(errtrack.Unknown)
}
