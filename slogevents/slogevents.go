package slogevents

import (
	"context"
	"log/slog"
	"time"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/fallback"
	"github.com/seed94f50169/resilience/hedge"
	"github.com/seed94f50169/resilience/limit"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/ratelimit"
	"github.com/seed94f50169/resilience/retry"
	"github.com/seed94f50169/resilience/throttle"
	"github.com/seed94f50169/resilience/timeout"
)

func orDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// ctxOr returns ctx, or context.Background() for events without one.
func ctxOr(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// Attach makes r log its events to l (see the package documentation): it
// appends Middleware(l) to r.Observers and, when r.Hooks.OnPanic is nil,
// sets it to a function that does nothing, so that recovered panics are
// logged once, by l, instead of also by Handler's default log. Call it
// before r is used.
func Attach(r *middleware.Recovery, l *slog.Logger) {
	r.Observers = append(r.Observers, Middleware(l))
	if r.Hooks.OnPanic == nil {
		r.Hooks.OnPanic = func(middleware.Event) {}
	}
}

// Middleware returns an observer that logs a Recovery's rejections, sheds,
// per-host breaker transitions, timeouts, exhausted retries, fallbacks and
// panics, and its retries at debug level.
func Middleware(l *slog.Logger) middleware.Observer {
	l = orDefault(l)
	return middleware.ObserverFunc(func(e middleware.Event) {
		level, msg, logged := middlewareRecord(e)
		if !logged {
			return // attempts and requests: nothing per call
		}
		ctx := ctxOr(e.Ctx)
		if !l.Enabled(ctx, level) {
			return
		}
		var buf [10]slog.Attr // on the stack: LogAttrs keeps no reference
		l.LogAttrs(ctx, level, msg, appendMiddlewareAttrs(buf[:0], e)...)
	})
}

// middlewareRecord returns the level and message of e's record, and
// whether e is logged at all.
func middlewareRecord(e middleware.Event) (level slog.Level, msg string, logged bool) {
	switch e.Kind {
	case middleware.EventStateChange:
		return stateLevel(e.To), stateMessage(e.To), true
	case middleware.EventReject:
		return slog.LevelWarn, "rejected", true
	case middleware.EventExhausted:
		return slog.LevelError, "retries exhausted", true
	case middleware.EventPanic:
		return slog.LevelError, "panic recovered", true
	case middleware.EventTimeout:
		return slog.LevelWarn, "timed out", true
	case middleware.EventFallback:
		if e.Step == 0 {
			return slog.LevelError, "fallbacks failed", true
		}
		return slog.LevelInfo, "fallback served", true
	case middleware.EventRetry:
		return slog.LevelDebug, "retrying", true
	}
	return 0, "", false
}

// appendMiddlewareAttrs appends the attributes of e's record: those of the
// request, then those of the event's kind, then its status and error.
func appendMiddlewareAttrs(attrs []slog.Attr, e middleware.Event) []slog.Attr {
	attrs = append(attrs, slog.String("event", e.Kind.String()))
	if e.Host != "" {
		attrs = append(attrs, slog.String("host", e.Host))
	}
	if e.Method != "" {
		attrs = append(attrs, slog.String("method", e.Method))
	}
	if e.URL != nil {
		attrs = append(attrs, slog.String("url", e.URL.Redacted()))
	}
	if e.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	attrs = appendKindAttrs(attrs, e)
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, errAttr(e.Err))
	}
	var pe *middleware.PanicError
	if e.Kind == middleware.EventPanic && asPanic(e.Err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	return attrs
}

// appendKindAttrs appends the attributes that only e's kind has.
func appendKindAttrs(attrs []slog.Attr, e middleware.Event) []slog.Attr {
	switch e.Kind {
	case middleware.EventStateChange:
		return append(attrs, slog.String("from", e.From.String()), slog.String("to", e.To.String()))
	case middleware.EventRetry:
		return append(attrs, slog.Duration("delay", e.Delay), slog.String("reason", e.Reason.String()))
	case middleware.EventTimeout:
		return append(attrs, slog.String("scope", e.Scope))
	case middleware.EventFallback:
		return append(attrs, slog.Int("step", e.Step))
	}
	return attrs
}

func asPanic(err error, pe **middleware.PanicError) bool {
	p, ok := err.(*middleware.PanicError)
	*pe = p
	return ok
}

func errAttr(err error) slog.Attr { return slog.String("err", err.Error()) }

func stateLevel(to breaker.State) slog.Level {
	if to == breaker.Open {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func stateMessage(to breaker.State) string {
	switch to {
	case breaker.Open:
		return "breaker opened"
	case breaker.HalfOpen:
		return "breaker half-open"
	}
	return "breaker closed"
}

// Breaker returns an observer that logs a breaker's transitions and
// rejections (with the Group key, if any).
func Breaker(l *slog.Logger) breaker.Observer {
	l = orDefault(l)
	return breaker.ObserverFunc(func(e breaker.Event) {
		ctx := context.Background()
		var attrs []slog.Attr
		if e.Key != "" {
			attrs = append(attrs, slog.String("key", e.Key))
		}
		switch e.Kind {
		case breaker.EventStateChange:
			attrs = append(attrs, slog.String("event", e.Kind.String()), slog.String("from", e.From.String()), slog.String("to", e.To.String()))
			l.LogAttrs(ctx, stateLevel(e.To), stateMessage(e.To), attrs...)
		case breaker.EventReject:
			if !l.Enabled(ctx, slog.LevelWarn) {
				return
			}
			attrs = append(attrs, slog.String("event", e.Kind.String()), slog.String("state", e.From.String()), errAttr(e.Err))
			if e.RetryAfter > 0 {
				attrs = append(attrs, slog.Duration("retry_after", e.RetryAfter.Round(time.Second)))
			}
			l.LogAttrs(ctx, slog.LevelWarn, "rejected", attrs...)
		}
	})
}

// Bulkhead returns an observer that logs a bulkhead's rejections (not the
// ones of callers whose context ended).
func Bulkhead(l *slog.Logger) bulkhead.Observer {
	l = orDefault(l)
	return bulkhead.ObserverFunc(func(e bulkhead.Event) {
		if e.Kind != bulkhead.EventReject || e.Ctx != nil && e.Ctx.Err() != nil {
			return
		}
		l.LogAttrs(ctxOr(e.Ctx), slog.LevelWarn, "rejected", slog.String("event", e.Kind.String()), slog.Duration("wait", e.Wait), errAttr(e.Err))
	})
}

// Limit returns an observer that logs an adaptive limiter's rejections,
// and its limit changes at debug level.
func Limit(l *slog.Logger) limit.Observer {
	l = orDefault(l)
	return limit.ObserverFunc(func(e limit.Event) {
		switch e.Kind {
		case limit.EventReject:
			if e.Ctx != nil && e.Ctx.Err() != nil {
				return
			}
			l.LogAttrs(ctxOr(e.Ctx), slog.LevelWarn, "rejected", slog.String("event", e.Kind.String()), slog.Duration("wait", e.Wait), errAttr(e.Err))
		case limit.EventLimitChange:
			l.LogAttrs(context.Background(), slog.LevelDebug, "limit changed", slog.String("event", e.Kind.String()), slog.Int("from", e.From), slog.Int("to", e.To))
		}
	})
}

// Throttle returns an observer that logs a throttle's rejections.
func Throttle(l *slog.Logger) throttle.Observer {
	l = orDefault(l)
	return throttle.ObserverFunc(func(e throttle.Event) {
		l.LogAttrs(context.Background(), slog.LevelWarn, "rejected", slog.String("event", e.Kind.String()), slog.Float64("probability", e.Probability), errAttr(e.Err))
	})
}

// RateLimit returns an observer that logs a rate limiter's refusals.
func RateLimit(l *slog.Logger) ratelimit.Observer {
	l = orDefault(l)
	return ratelimit.ObserverFunc(func(e ratelimit.Event) {
		if e.Kind != ratelimit.EventReject {
			return
		}
		l.LogAttrs(ctxOr(e.Ctx), slog.LevelWarn, "rejected", slog.String("event", e.Kind.String()), errAttr(e.Err))
	})
}

// Retry returns an observer that logs exhausted retries, and each retry at
// debug level with its delay and reason.
func Retry(l *slog.Logger) retry.Observer {
	l = orDefault(l)
	return retry.ObserverFunc(func(e retry.Event) {
		ctx := ctxOr(e.Ctx)
		switch e.Kind {
		case retry.EventRetry:
			if l.Enabled(ctx, slog.LevelDebug) {
				l.LogAttrs(ctx, slog.LevelDebug, "retrying", slog.String("event", e.Kind.String()), slog.Int("attempt", e.Attempt),
					slog.Duration("delay", e.Delay), slog.String("reason", e.Reason.String()), errAttr(e.Err))
			}
		case retry.EventExhausted:
			l.LogAttrs(ctx, slog.LevelError, "retries exhausted", slog.String("event", e.Kind.String()), slog.Int("attempt", e.Attempt), errAttr(e.Err))
		}
	})
}

// Timeout returns an observer that logs timeouts with the scope that
// fired; attach it with timeout.WithObserver.
func Timeout(l *slog.Logger) timeout.Observer {
	l = orDefault(l)
	return timeout.ObserverFunc(func(e timeout.Event) {
		l.LogAttrs(ctxOr(e.Ctx), slog.LevelWarn, "timed out", slog.String("event", e.Kind.String()), slog.String("scope", e.Name), slog.Duration("limit", e.Limit))
	})
}

// Fallback returns an observer that logs which fallback served, or that
// all failed; attach it with fallback.WithObserver.
func Fallback(l *slog.Logger) fallback.Observer {
	l = orDefault(l)
	return fallback.ObserverFunc(func(e fallback.Event) {
		level, msg := slog.LevelInfo, "fallback served"
		if e.Kind == fallback.EventFailed {
			level, msg = slog.LevelError, "fallbacks failed"
		}
		l.LogAttrs(ctxOr(e.Ctx), level, msg, slog.String("event", e.Kind.String()), slog.Int("step", e.Step), errAttr(e.Err))
	})
}

// Hedge returns an observer that logs each hedge sent or refused, at debug
// level.
func Hedge(l *slog.Logger) hedge.Observer {
	l = orDefault(l)
	return hedge.ObserverFunc(func(e hedge.Event) {
		ctx := ctxOr(e.Ctx)
		if l.Enabled(ctx, slog.LevelDebug) {
			msg := "hedge sent"
			if e.Kind == hedge.EventRefused {
				msg = "hedge refused"
			}
			l.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("event", e.Kind.String()), slog.Int("attempt", e.Attempt), slog.Duration("delay", e.Delay))
		}
	})
}
