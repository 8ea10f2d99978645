// Package fallback provides graceful degradation: when an operation fails, an
// ordered chain of alternatives is tried until one succeeds, for example the
// same request to a backup endpoint, then the last value known to be good,
// then a safe default.
//
//	user, err := fallback.Do(ctx, users.Record(id, fetchPrimary),
//		fallback.From(fetchBackup),  // another operation
//		users.Fallback(id),          // last known good value, if young enough
//		fallback.Value(guest),       // default of last resort
//	)
//
// # The chain
//
// [Do] calls the operation first. If it fails, each [Func] is called in turn
// with the error of the step before it; the first success wins. [Value],
// [When] and [From] build the common fallbacks; any function of the [Func]
// shape will do. A fallback that returns the error it received passes it on,
// which is how [When] skips errors it does not handle and how a [Cache]
// without a usable value steps aside.
//
// # Errors
//
// When every step fails, the error returned matches each error of the chain
// with errors.Is and errors.As. If only the operation produced an error (no
// fallbacks, or all of them passed it on) and the caller's context has not
// ended, that error is returned unchanged; otherwise it is an [*Error] whose
// Unwrap returns every error, oldest first.
//
// # Cancellation
//
// Fallbacks answer failures of the dependency, not of the caller. Once the
// caller's context has ended (ctx.Err() != nil), Do runs no further fallback
// and returns an error that also matches ctx.Err(), so a default value never
// hides a cancellation or an expired caller deadline. A deadline that the
// operation sets for itself on a derived context is an ordinary failure and
// does trigger the fallbacks.
//
// # Last known good
//
// A [Cache] keeps the latest successful value per key (use "" for a single
// value). [Cache.Record] wraps an operation so that its successes are stored;
// [Cache.Fallback] serves the stored value on failure while it is younger
// than CacheConfig.MaxAge. Serving a stale value is reported to the OnStale
// hook and, per call, through [Cache.FallbackInto]. Memory is bounded: beyond
// CacheConfig.MaxKeys keys the least recently used one is evicted.
//
// # Defaults and concurrency
//
// Do and the helpers are plain functions and hold no state. The zero
// [CacheConfig] means MaxAge 5 minutes and MaxKeys 1000; [NewCache] panics
// with a message naming the field if the config is invalid (negative), and
// the zero Cache is ready to use with the defaults. A Cache is safe for
// concurrent use; hooks run outside its lock.
//
// # Cost
//
// When the operation succeeds, Do adds no allocation and only a few
// nanoseconds to the call. The failure path allocates the error chain.
//
// # Observing
//
// fallback has functions, not objects, so its observers travel in the
// context: WithObserver(ctx, o) makes every Do under ctx report to o which
// fallback served (EventServed, Step 1 for the first, with the error of
// the step before it) or that all failed (EventFailed, with Do's error).
// Observers are looked up only once the primary function has failed.
package fallback
