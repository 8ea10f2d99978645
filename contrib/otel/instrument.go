package resotel

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/metric"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
)

// Instrument attaches o to r and registers the
// gauges of r's Breaker, Bulkhead and Limit, those that are set. Call it
// before r is first used, as a Recovery must not change once in use. Give
// each Recovery its own Observer (and Name): the gauges of two Recoveries
// instrumented by one Observer would report the same series. Close
// unregisters the gauges.
//
// With Durations or SpanEvents, o joins r.Observers, whose events carry
// durations and contexts. Otherwise o chains its counting into r.Hooks
// (the caller's hooks still run first): an observed Recovery builds its
// events at a cost of its own on every call (see BenchmarkDo), hooks cost
// nothing when they only count. Through the hooks, timeouts are told by
// the attempt's *timeout.Error and Handler's requests are counted only
// when shed or panicking (resilience.handler.requests has no success or
// failure outcome).
func (o *Observer) Instrument(r *middleware.Recovery) error {
	if o.timed || o.events {
		r.Observers = append(r.Observers[:len(r.Observers):len(r.Observers)], o)
	} else {
		r.Hooks = o.hooks(r.Hooks)
	}
	var insts []metric.Observable
	if r.Breaker != nil {
		insts = append(insts, o.bState)
	}
	if r.Bulkhead != nil {
		insts = append(insts, o.bhInFlight, o.bhQueued)
	}
	if r.Limit != nil {
		insts = append(insts, o.limInFlight, o.limQueued, o.limCurrent)
	}
	if len(insts) == 0 {
		return nil
	}
	br, bh, lim := r.Breaker, r.Bulkhead, r.Limit
	reg, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		if br != nil {
			cur := br.State()
			for s := breaker.Closed; s <= breaker.HalfOpen; s++ {
				v := int64(0)
				if s == cur {
					v = 1
				}
				ob.ObserveInt64(o.bState, v, o.stateOpts[s]...)
			}
		}
		if bh != nil {
			st := bh.Stats()
			ob.ObserveInt64(o.bhInFlight, int64(st.InFlight), o.plainObs...)
			ob.ObserveInt64(o.bhQueued, int64(st.Queued), o.plainObs...)
		}
		if lim != nil {
			st := lim.Stats()
			ob.ObserveInt64(o.limInFlight, int64(st.InFlight), o.plainObs...)
			ob.ObserveInt64(o.limQueued, int64(st.Queued), o.plainObs...)
			ob.ObserveInt64(o.limCurrent, int64(st.Limit), o.plainObs...)
		}
		return nil
	}, insts...)
	if err != nil {
		return fmt.Errorf("resotel: %w", err)
	}
	o.regMu.Lock()
	o.regs = append(o.regs, reg)
	o.regMu.Unlock()
	return nil
}

// Close unregisters the gauges and the attempt counter's callback. The
// Observer keeps counting, but attempts are no longer exported.
func (o *Observer) Close() error {
	o.regMu.Lock()
	regs := o.regs
	o.regs = nil
	o.regMu.Unlock()
	var errs []error
	for _, r := range regs {
		errs = append(errs, r.Unregister())
	}
	return errors.Join(errs...)
}
