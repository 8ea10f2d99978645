package retry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/seed94f50169/resilience/backoff"
)

// Defaults of a zero Policy field.
const (
	// DefaultMaxAttempts is the number of attempts when Policy.MaxAttempts
	// is zero.
	DefaultMaxAttempts = 3

	// DefaultMaxRetryAfter caps a RetryAfter hint when
	// Policy.MaxRetryAfter is zero.
	DefaultMaxRetryAfter = time.Minute
)

var (
	// ErrExhausted is matched by every *ExhaustedError: Do gave up while the
	// caller's context was still alive.
	ErrExhausted = errors.New("retry: exhausted")

	// ErrBudgetExhausted is matched by the *ExhaustedError returned when the
	// policy's Budget refused a retry.
	ErrBudgetExhausted = errors.New("retry: budget exhausted")
)

// Policy says how often and how patiently Do retries. The zero Policy is
// usable: 3 attempts, the backoff package's default schedule (100ms, ×2,
// max 5s, full jitter), every error retried except the ones described at
// Retryable.
//
// A Policy is a plain value, safe to share between goroutines as long as
// its hooks and Budget are.
type Policy struct {
	// MaxAttempts is the number of attempts, the first one included.
	// Zero means 3; 1 means no retry. There is no "unlimited": use a large
	// value and bound the run with MaxElapsed or the context. Do treats a
	// negative value as the default; Validate reports it.
	MaxAttempts int

	// MaxElapsed bounds the time from the start of Do to the start of the
	// last attempt: Do does not begin a wait that would end at or after
	// MaxElapsed, and returns an *ExhaustedError instead. It does not
	// interrupt a running attempt; give the context a deadline for that.
	// Zero means no limit. Do reads the clock on every call only when
	// MaxElapsed is set.
	MaxElapsed time.Duration

	// Backoff is the schedule of waits between attempts; the wait before
	// attempt n+1 is the n-th delay of a backoff.Sequence, so decorrelated
	// jitter follows its real random walk. The zero value is the pforge
	// schedule with full jitter.
	Backoff backoff.Policy

	// Retryable reports whether a failed attempt's error is worth another
	// attempt. Nil means every error is. Either way, Do never retries a
	// Permanent error or an attempt that failed after the caller's context
	// ended; an attempt that failed on its own, shorter deadline while the
	// caller's context is still alive is retried.
	Retryable func(error) bool

	// OnRetry, if set, is called before each wait, on the caller's
	// goroutine, with the attempt that failed and the wait that follows.
	OnRetry func(Attempt)

	// Observers, if any, receive every retry (with the delay chosen and
	// why) and the final exhaustion, after OnRetry (see Observer).
	// Default none.
	Observers []Observer

	// Budget, if set, is a retry budget shared with other calls: each Do
	// earns it tokens, each retry spends one, and a refused retry ends Do
	// with an *ExhaustedError matching ErrBudgetExhausted.
	Budget *Budget

	// MaxRetryAfter caps the hint of an error that has a
	// RetryAfter() time.Duration method, so that a hostile or confused
	// server cannot park the client. Zero means 1 minute. It is independent
	// of Backoff.Max.
	MaxRetryAfter time.Duration

	// MaxOpenWait is how long Do may wait for an open circuit breaker
	// beyond the backoff schedule. An attempt rejected by one (its error,
	// or an error it wraps, has RetryAfter() and ErrorClass() "circuit_open",
	// as breaker.ErrOpen's rejections do) is retried after the backoff
	// delay when the hint fits within that delay. Otherwise Do waits the
	// hint only when it is at most MaxOpenWait and MaxRetryAfter, and else
	// gives up at once with an *ExhaustedError wrapping the rejection, so
	// that an open breaker fails fast. Zero, the default, means never wait
	// longer than the backoff delay for an open breaker. Do treats a
	// negative value as zero; Validate reports it.
	MaxOpenWait time.Duration
}

// Attempt describes a failed attempt that is about to be retried.
type Attempt struct {
	Number int           // the attempt that failed: 1 for the first
	Err    error         // its error
	Delay  time.Duration // the wait before attempt Number+1
	Reason DelayReason   // what chose Delay: the backoff or a RetryAfter hint
}

// Validate reports the first field that is out of range, naming it: a
// negative MaxAttempts, MaxElapsed, MaxRetryAfter or MaxOpenWait, or an
// invalid Backoff.
// Do itself never fails on a bad field: it takes the default instead.
func (p Policy) Validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("retry: MaxAttempts must not be negative, got %d", p.MaxAttempts)
	case p.MaxElapsed < 0:
		return fmt.Errorf("retry: MaxElapsed must not be negative, got %v", p.MaxElapsed)
	case p.MaxRetryAfter < 0:
		return fmt.Errorf("retry: MaxRetryAfter must not be negative, got %v", p.MaxRetryAfter)
	case p.MaxOpenWait < 0:
		return fmt.Errorf("retry: MaxOpenWait must not be negative, got %v", p.MaxOpenWait)
	}
	if err := p.Backoff.Validate(); err != nil {
		return fmt.Errorf("retry: Backoff: %w", err)
	}
	return nil
}

// Permanent marks err as not worth retrying: Do returns at once. Do hands
// back the cause: err itself when fn returned Permanent(err) directly, and
// the error unchanged (still matching err with errors.Is) when the mark is
// wrapped deeper. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent reports true: it lets packages that cannot import retry (such
// as hedge) recognise the mark through interface{ Permanent() bool }.
func (e *permanentError) Permanent() bool { return true }

// reason says why Do gave up; it decides what an *ExhaustedError matches.
type reason uint8

const (
	byAttempts reason = iota
	byElapsed
	byDeadline
	byBudget
	byOpenCircuit
)

// ExhaustedError is returned when Do gives up while the caller's context
// is still alive: MaxAttempts attempts failed, the next wait would end past
// MaxElapsed or the context's deadline, the Budget refused a retry, or the
// last attempt was rejected by an open circuit breaker that stays open
// longer than Do may wait (see Policy.MaxOpenWait).
//
// It unwraps to the last attempt's error (so a rejection's RetryAfter is
// found with errors.As), and matches ErrExhausted. When the Budget
// refused, it also matches ErrBudgetExhausted; when the context's deadline
// was too near for another attempt, it also matches
// context.DeadlineExceeded, as the deadline would have been exceeded.
type ExhaustedError struct {
	Attempts int   // attempts made
	Err      error // the last attempt's error

	// Scope names the budget whose deadline was too near for another
	// attempt, when that is why Do gave up and the code that set the
	// deadline knows its name: middleware sets "total" when its
	// Recovery.Total budget was the deadline. Empty means the context's
	// deadline, unnamed, or another reason.
	Scope string

	why  reason
	wait time.Duration // byOpenCircuit: the rejection's hint
}

// Error describes how many attempts were made, why Do stopped and the last
// error.
func (e *ExhaustedError) Error() string {
	why := ""
	switch e.why {
	case byElapsed:
		why = " (MaxElapsed reached)"
	case byDeadline:
		why = " (context deadline too near)"
		if e.Scope != "" {
			why = " (" + strconv.Quote(e.Scope) + " deadline too near)"
		}
	case byBudget:
		why = " (retry budget exhausted)"
	case byOpenCircuit:
		why = " (rejected: circuit open for another " + e.wait.String() + ")"
	}
	return "retry: giving up after " + plural(e.Attempts) + why + ": " + errString(e.Err)
}

// Unwrap returns the last attempt's error.
func (e *ExhaustedError) Unwrap() error { return e.Err }

// Is matches ErrExhausted, and ErrBudgetExhausted or
// context.DeadlineExceeded when that is why Do gave up.
func (e *ExhaustedError) Is(target error) bool {
	return target == ErrExhausted ||
		e.why == byBudget && target == ErrBudgetExhausted ||
		e.why == byDeadline && target == context.DeadlineExceeded
}

// Do calls fn until it succeeds, the policy gives up, or ctx ends. fn runs
// on the caller's goroutine with ctx itself; Do starts no goroutine and,
// when the first attempt succeeds, allocates nothing.
//
// Do returns the value and error of the last attempt, except that the
// error says why Do stopped:
//   - success: a nil error.
//   - a Permanent error: its cause (see Permanent).
//   - an error Retryable rejects: that error, unchanged.
//   - ctx ended, during an attempt or a wait: an error matching both
//     ctx.Err() and the last attempt's error (the attempt's error itself if
//     it already matches ctx.Err()). If ctx has ended before the first
//     attempt, Do returns ctx.Err() without calling fn.
//   - attempts, MaxElapsed, ctx's deadline or the Budget ran out, or an
//     open circuit breaker rejected the attempt for longer than Do may
//     wait: an *ExhaustedError. Do returns it at once instead of waiting
//     when the wait would end past MaxElapsed or ctx's deadline.
//
// The wait before a retry is the next delay of the Backoff schedule, or the
// failed attempt's RetryAfter() hint (found with errors.As and capped at
// MaxRetryAfter) when that is longer. A rejection by an open circuit
// breaker is the exception: it is waited out only within the backoff delay
// or MaxOpenWait (see there).
func Do[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	r := run{p: &p}
	if p.MaxElapsed > 0 {
		r.start = time.Now()
	}
	v, err := fn(ctx)
	if p.Budget != nil {
		p.Budget.deposit()
	}
	for err != nil {
		r.attempts++
		delay, stop := r.next(ctx, err)
		if stop != nil {
			if len(p.Observers) != 0 {
				r.exhausted(ctx, stop)
			}
			return v, stop
		}
		if stop = wait(ctx, delay, r.attempts, err); stop != nil {
			return v, stop
		}
		v, err = fn(ctx)
	}
	return v, nil
}

// Do is the non-generic form of the package-level Do, for operations that
// return only an error.
func (p Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	_, err := Do(ctx, p, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// run is the state of one Do call past its first failure.
type run struct {
	p        *Policy
	start    time.Time
	attempts int
	seq      *backoff.Sequence
	reason   DelayReason // what chose the last delay
}

// next decides what follows a failed attempt: the delay before the next
// one, or the error to return.
func (r *run) next(ctx context.Context, err error) (time.Duration, error) {
	p := r.p
	if perm, ok := err.(*permanentError); ok {
		return 0, perm.err
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		return 0, err
	}
	if ctx.Err() != nil {
		return 0, ended(ctx, r.attempts, err)
	}
	if p.Retryable != nil && !p.Retryable(err) {
		return 0, err
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if r.attempts >= maxAttempts {
		return 0, &ExhaustedError{Attempts: r.attempts, Err: err}
	}

	delay, open := r.delay(err)
	if open > 0 {
		return 0, &ExhaustedError{Attempts: r.attempts, Err: err, why: byOpenCircuit, wait: open}
	}
	if p.MaxElapsed > 0 && delay >= p.MaxElapsed-time.Since(r.start) {
		return 0, &ExhaustedError{Attempts: r.attempts, Err: err, why: byElapsed}
	}
	if deadline, ok := ctx.Deadline(); ok && delay >= time.Until(deadline) {
		return 0, &ExhaustedError{Attempts: r.attempts, Err: err, why: byDeadline}
	}
	if p.Budget != nil && !p.Budget.withdraw() {
		return 0, &ExhaustedError{Attempts: r.attempts, Err: err, why: byBudget}
	}
	if p.OnRetry != nil {
		p.OnRetry(Attempt{Number: r.attempts, Err: err, Delay: delay, Reason: r.reason})
	}
	if len(p.Observers) != 0 {
		notify(p.Observers, Event{Kind: EventRetry, Ctx: ctx, Attempt: r.attempts, Err: err, Delay: delay, Reason: r.reason})
	}
	return delay, nil
}

// delay returns the wait before the next attempt after err: the next
// backoff delay, or err's RetryAfter hint (capped at MaxRetryAfter) when
// that is longer. For a rejection by an open circuit breaker whose hint
// fits neither within the backoff delay nor within MaxOpenWait, it returns
// the hint as open instead: Do gives up.
func (r *run) delay(err error) (delay, open time.Duration) {
	p := r.p
	if r.seq == nil {
		r.seq = p.Backoff.Sequence()
	}
	delay = r.seq.Next()
	r.reason = ReasonBackoff
	var hinted interface{ RetryAfter() time.Duration }
	if !errors.As(err, &hinted) {
		return delay, 0
	}
	limit := p.MaxRetryAfter
	if limit <= 0 {
		limit = DefaultMaxRetryAfter
	}
	hint := hinted.RetryAfter()
	if c, ok := hinted.(interface{ ErrorClass() string }); !ok || c.ErrorClass() != "circuit_open" {
		if hint = min(hint, limit); hint > delay {
			r.reason = ReasonRetryAfter
			return hint, 0
		}
		return delay, 0
	}
	switch {
	case hint <= delay:
		return delay, 0 // the breaker lets calls through by the next attempt
	case hint <= min(p.MaxOpenWait, limit):
		r.reason = ReasonRetryAfter
		return hint, 0
	}
	return 0, hint
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration, attempts int, last error) error {
	if d <= 0 {
		if ctx.Err() != nil {
			return ended(ctx, attempts, last)
		}
		return nil
	}
	t := time.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return ended(ctx, attempts, last)
	case <-t.C:
		return nil
	}
}

// ended returns an error matching both ctx's error (and its cause, if one
// was given) and the last attempt's error; the last attempt's error itself
// if it already matches ctx's error, as Do documents.
func ended(ctx context.Context, attempts int, last error) error {
	cerr := ctx.Err()
	if errors.Is(last, cerr) {
		return last
	}
	if cause := context.Cause(ctx); cause != cerr {
		return fmt.Errorf("retry: %w (%w) after %s: %w", cerr, cause, plural(attempts), last)
	}
	return fmt.Errorf("retry: %w after %s: %w", cerr, plural(attempts), last)
}

func plural(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
