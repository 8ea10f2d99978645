// Package timeout bounds how long a call may take, and splits a total time
// budget among the steps of a pipeline, reporting which limit was hit.
//
// # Use
//
//	v, err := timeout.Do(ctx, 2*time.Second, fetch)
//	if errors.Is(err, timeout.ErrTimeout) {
//		// fetch ran out of its 2s
//	}
//
// Do runs fn in the caller's goroutine with a context whose deadline is at
// most the limit away, and waits for fn to return: no goroutine is
// started, no work is abandoned.
//
// # The context fn gets
//
// fn's context behaves as one made by context.WithTimeout: the same
// Deadline, Done, Err, Value and context.Cause, before and after Do
// returns (then it is canceled, unless it had ended), and contexts derived
// from it by the standard library (WithCancel, WithValue, an
// http.Request's) end with it, without a goroutine each. It is cheaper:
// one allocation instead of four, a runtime timer reused from call to
// call (none at all under a caller's context that cannot end, unless fn
// looks at Done or Err), and nothing registered with the caller's context
// until fn asks for Done or derives a context. One difference can be seen: when the
// caller's context is canceled, fn's Err and Done report it at once, but
// contexts derived from fn's context and functions given to
// context.AfterFunc hear of it from a goroutine the context package
// starts, a moment later (as for any context the standard library did not
// make). A context derived through a layer that hides the scope
// (context.WithCancel(context.WithValue(ctx, k, v))) costs the goroutine
// the context package starts for contexts it did not make, until it ends.
//
// # Errors
//
// When the deadline set by this package fires before fn returns, the call
// fails with a *Error carrying the scope's Name and Limit, and fn's own
// error as Err. It matches ErrTimeout and context.DeadlineExceeded with
// errors.Is, and has ErrorClass "timeout". A result fn produces after the
// deadline is dropped: the call took too long.
//
// Ends that this package did not cause pass through unchanged: the
// caller's cancellation (context.Canceled is never a timeout), and a
// deadline already on the caller's context that fires first, which
// surfaces as the caller's own context.DeadlineExceeded.
//
// A limit of zero or less is a mistake (a budget computed down to nothing
// must not silently mean "no limit"): Do returns an error matching
// ErrInvalidLimit without calling fn. Huge limits are fine: a limit beyond
// the year 2262 saturates, it does not overflow.
//
// # Cascading budgets
//
// Scopes nest through the context. A step started inside a pipeline's
// scope gets the smaller of its own limit and what is left of every
// enclosing scope, and the error names the scope whose deadline actually
// fired: a step that ran out of the pipeline's budget reports the
// pipeline's Name and Limit, not its own. DoNamed opens a named scope;
// Pipeline runs named stages under a total budget and reports each stage's
// elapsed time:
//
//	p := timeout.Pipeline{Name: "data_pipeline", Limit: 30 * time.Second, Stages: []timeout.Stage{
//		{Name: "extract", Limit: 10 * time.Second, Run: extract},
//		{Name: "transform", Limit: 10 * time.Second, Run: transform},
//		{Name: "load", Limit: 10 * time.Second, Run: load},
//	}}
//	results, err := p.Run(ctx)
//
// Every scope, named or not, is recorded in its context: a call nested in
// an unnamed Do that Do's deadline cuts short reports Do's *Error (Name "",
// Do's Limit), as Do itself does. DoNamed also makes its *Error the
// context's context.Cause when its own deadline fires.
//
// # Functions that ignore their context
//
// Go cannot stop a goroutine from outside: a timeout is only as good as
// fn's attention to ctx. Pass ctx on to everything that blocks:
// http.NewRequestWithContext for HTTP, exec.CommandContext for processes
// (it kills the process when ctx ends; set Cmd.WaitDelay so stuck output
// pipes cannot hold Wait), the ...Context methods of database/sql, and a
// select on ctx.Done() around any channel operation. Set deadlines on raw
// connections from the context (conn.SetDeadline with the ctx deadline).
// Size loops and batches with Remaining. For a call that truly cannot be
// interrupted, run it in a goroutine that can finish on its own and stop
// waiting on ctx.Done(), knowing that the work goes on; this package
// deliberately does not do that for you.
//
// # Concurrency
//
// Every function is safe for concurrent use; a Pipeline value may be run
// by many goroutines at once. A zero Pipeline is invalid (its Limit must be
// positive): Run returns the error of Validate.
//
// # Observing
//
// timeout has functions, not objects, so its observers travel in the
// context: WithObserver(ctx, o) makes every timeout of Do, DoNamed and
// Pipeline under ctx report an Event to o, with the Name and Limit of the
// scope whose deadline fired (an enclosing scope's when its budget ran out
// first) and the *Error returned, once, by the scope that created it.
// Observers are looked up only after a deadline fired: a call that ends in
// time pays nothing.
package timeout
