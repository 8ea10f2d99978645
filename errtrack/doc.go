// Package errtrack classifies errors and keeps track of them: counts by class
// since start, and the most recent errors in a ring buffer of bounded size,
// for monitoring and debugging.
//
//	tracker := errtrack.New(errtrack.Config{}) // 1000 recent errors
//	if err != nil {
//		tracker.Track(err)
//	}
//	lastMinute := tracker.Since(time.Minute) // map[Class]uint64
//
// # Classification
//
// [Classify], the default classifier, walks the error's tree the way
// errors.Is does and applies the first of these rules that matches any error
// in it; a rule higher in the table wins over one lower down, wherever the
// errors sit in the tree:
//
//	rule                                            class
//	----------------------------------------------  ---------------------------
//	1. its own ErrorClass() string, if not ""       that string
//	2. context.Canceled                             canceled
//	   context.DeadlineExceeded                     timeout
//	3. Timeout() bool reports true (net.Error)      timeout
//	4. syscall.ETIMEDOUT                            timeout
//	   syscall.ECONNREFUSED, ECONNRESET,
//	   ECONNABORTED, EPIPE                          connection
//	5. *net.OpError, *net.DNSError                  connection
//	6. io.ErrUnexpectedEOF, io.EOF                  connection
//	7. StatusCode() int: 429                        rate_limit
//	   502, 503, 504                                service_unavailable
//	   408                                          timeout
//	   other 4xx                                    validation
//	   other 5xx                                    server_error
//	8. *url.Error                                   connection
//	9. the message, ignoring ASCII case, contains
//	   "timeout", "timed out", "deadline"           timeout
//	   "connection", "refused", "reset",
//	   "broken pipe"                                connection
//	   "429", "too many requests", "rate limit"     rate_limit
//	   "503", "unavailable"                         service_unavailable
//	10. nothing matched                             unknown
//
// Rules 1 to 8 look at types and values only, so they are reliable; the
// message heuristics of rule 9 are a last resort for errors that lost their
// type, such as text from another process. A *url.Error (rule 8) ranks below
// the status rule because http.Client wraps every error of a RoundTripper in
// one, a status error included. The walk follows Unwrap() error and
// Unwrap() []error, honours Is methods for the context errors, does not call
// As methods, and visits at most 64 errors of a tree. The message is the
// Error() text of err itself, which includes the text of what it wraps.
//
// Classification never panics, so that tracking an error can never turn it
// into a crash. An error of the tree that is a nil pointer (a typed nil,
// as in var p *MyError; var err error = p) matches no rule and wraps
// nothing, and none of its methods is called; if err itself is one, its
// class is unknown. A method that panics anyway (an ErrorClass, Is,
// Timeout or StatusCode that reaches into a typed nil it wraps) matches
// nothing, an Unwrap that panics wraps nothing, and an Error that panics
// leaves the message rule unknown. Tracker.Track records such an error as
// it is.
//
// An error that knows its class says so with a method:
//
//	func (e *MyError) ErrorClass() string { return "quota_exceeded" }
//
// To teach the tracker other errors without losing the defaults, give
// Config.Classify a function that returns "" for errors it does not know;
// [Chain] composes several such functions the same way.
//
// # Defaults and limits
//
// The zero [Config] keeps the last 1000 errors with the default classifier;
// [New] panics with a message naming the field if the config is invalid
// (a negative Size). The zero [Tracker] is ready to use with the defaults.
// Memory is bounded whatever is tracked: the ring never holds more than Size
// records (Size itself is capped at [MaxSize]) and at most [MaxClasses]
// distinct classes are counted; errors of any further class are counted,
// recorded and returned as [Other].
//
// Track ignores a nil error and returns "".
//
// # Concurrency and cost
//
// A Tracker is safe for concurrent use. Track classifies and reads the
// monotonic clock (once) outside the lock, then holds it only to count and
// write one ring slot; the records stay in time order. With the default
// classifier and a plain error it allocates nothing once the ring has grown
// to Size. [Tracker.ByClass], [Tracker.Recent], [Tracker.Since] and
// [Tracker.Stats] return copies that the caller owns.
//
// # Observing
//
// Config.Observers attaches any number of observers, each an Observer (or
// an ObserverFunc) that receives an EventTrack for every tracked error,
// with its Class and time, synchronously and outside the tracker's lock
// (an observer may call the tracker). Counting classes in a metrics system
// needs nothing more.
package errtrack
