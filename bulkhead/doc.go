// Package bulkhead isolates a dependency by bounding how many calls run
// against it at once and how many wait for their turn, so one slow
// dependency cannot take every goroutine, connection or file of a process
// with it.
//
// # Use
//
//	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 10})
//	v, err := bulkhead.Do(ctx, b, fetch)
//
// or, when the work does not fit a function, Acquire and Release:
//
//	if err := b.Acquire(ctx); err != nil {
//		return err
//	}
//	defer b.Release()
//
// # Defaults
//
// A zero Config field takes its default: MaxConcurrent 10, MaxQueued 100,
// QueueTimeout 5s (DefaultMaxConcurrent, DefaultMaxQueued,
// DefaultQueueTimeout). MaxQueued NoQueue means "no queue, reject when
// full"; QueueTimeout NoQueueTimeout means "wait until the caller's context
// ends". New panics, with a message naming the field, on a Config that
// Validate rejects (a negative MaxConcurrent, another negative MaxQueued
// or QueueTimeout, or a limit above MaxLimit). A zero
// Bulkhead, not made by New, has no slots and no queue: it rejects every
// call.
//
// # Queueing
//
// Callers that find every slot taken wait in a FIFO queue: a released slot
// goes straight to the longest-waiting caller, and newcomers never overtake
// it. A caller leaves the queue when its slot comes, when its context ends
// (Acquire returns ctx.Err()), or after QueueTimeout (ErrQueueTimeout). If a
// slot is handed to a caller at the very moment its context ends, the slot
// is passed on to the next caller, never lost.
//
// # Errors
//
// Rejections match ErrFull (no slot and no queue place: rejected at once)
// or ErrQueueTimeout with errors.Is. Both report ErrorClass
// "bulkhead_full" and a RetryAfter hint (the QueueTimeout), reached with
// errors.As to interface{ RetryAfter() time.Duration }, which retry loops
// and HTTP servers can use.
//
// # Concurrency and cost
//
// A Bulkhead is safe for concurrent use. When a slot is free and nobody is
// queued, Acquire and Release are a single atomic add each on one shared
// word (Acquire also counts itself on a per-goroutine shard): no lock, no
// retry loop, no allocation. A caller that finds every slot taken counts
// itself in for the moment it takes to back out (then it queues, or is
// rejected). Another caller arriving in that moment finds the bulkhead
// full even if a slot was freed meanwhile; if it queues, that slot is
// handed to it as the first caller backs out. Only queueing takes a
// mutex; queue entries and their timers are pooled, so waiting and
// rejections do not allocate either. Stats reads the counters without
// stopping the bulkhead.
//
// The pooled queue entries hold a channel and a timer, which a
// testing/synctest bubble owns once created inside it. In tests, create a
// Bulkhead inside the bubble that uses it: one shared by several bubbles
// would hand one bubble's queue entry to another, which the runtime
// rejects with a fatal error.
//
// Release when no slot is held panics. An extra Release while other
// callers hold slots cannot be told from theirs and silently raises the
// limit, so pair every Acquire with exactly one Release, or use Do. A
// panic in Do's function releases the slot and goes on.
//
// # Observing
//
// Config.Observers attaches any number of observers, each an Observer (or
// an ObserverFunc) that receives an Event by value: EventAcquire with the
// time spent queued (0 when a slot was free), or EventReject with the
// rejection (ErrFull, ErrQueueTimeout) or the caller's context error, and
// the caller's context. Observers run synchronously on the caller's
// goroutine. Without observers Acquire takes its usual path; with them the
// clock is read only when the caller has to queue, and nothing allocates.
package bulkhead
