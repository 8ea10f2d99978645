package middleware

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// timeoutWriter is the http.ResponseWriter next writes to. Without a
// deadline it passes every call through, keeping track of the status for
// panics and FailureStatus. With one (see arm), the request's deadline timer
// may answer 503 in next's place, and the two never touch w at once.
//
// Who owns w, decided under mu, is the whole protocol:
//
//   - Until next's response starts (code != 0), w is free. The timer takes
//     it for the timeout response by setting timedOut, but only while no
//     call of next is on w (busy == 0, not hijacking).
//   - next takes w by setting code (start), or lends it for the length of
//     a call that does not start the response (busy: 1xx, Push, deadlines,
//     full duplex; hijacking: Hijack).
//   - Once taken, w stays with its taker: after timedOut, next's calls fail
//     with http.ErrHandlerTimeout and touch nothing; after code != 0 or
//     hijacked, the timer leaves w alone for good (a hijack also keeps it
//     from ending the context); after done, next has returned and the timer
//     does nothing.
//
// Nothing that can block (a write, a flush, a hijack, a hook) runs under mu:
// a flush can wait on the network for as long as the client likes, and
// next's exit must never wait behind it. The timer sends the timeout
// response outside mu; ServeHTTP waits for that (wait) only after it has
// released the bulkhead slot, as net/http must not see the writer again
// before the timer is done with it.
type timeoutWriter struct {
	w  http.ResponseWriter
	h  http.Header // next's own header map when a deadline is set; nil otherwise
	dl *deadline   // nil without a deadline

	mu        sync.Mutex
	code      int           // final status next started its response with; 0 until then
	busy      int           // next's calls on w in progress that do not start the response
	hijacking bool          // next's Hijack is in progress
	hijacked  bool          // next has hijacked the connection
	late      bool          // the deadline has passed
	timedOut  bool          // the timeout response has w
	done      bool          // next has returned
	replied   chan struct{} // made when timedOut is set; closed once the timeout response is sent
}

// deadline is the part of a timeoutWriter only a request with a deadline
// needs. Set by arm, before the timer starts; read-only afterwards.
type deadline struct {
	ctx    requestContext
	cancel context.CancelCauseFunc
	timer  *time.Timer
	te     error  // the deadline's cause
	h1     bool   // HTTP/1.x: the timeout response closes the connection
	fired  func() // test seam, see handler.expired
}

// timedWriter allocates a timeoutWriter and its deadline at once.
type timedWriter struct {
	tw timeoutWriter
	dl deadline
}

// newTimeoutWriter returns a timeoutWriter for w, with room for a deadline
// if timed.
func newTimeoutWriter(w http.ResponseWriter, timed bool) *timeoutWriter {
	if !timed {
		return &timeoutWriter{w: w}
	}
	t := &timedWriter{tw: timeoutWriter{w: w}}
	t.tw.dl = &t.dl
	return &t.tw
}

var (
	_ http.Flusher    = (*timeoutWriter)(nil)
	_ http.Hijacker   = (*timeoutWriter)(nil)
	_ http.Pusher     = (*timeoutWriter)(nil)
	_ io.ReaderFrom   = (*timeoutWriter)(nil)
	_ io.StringWriter = (*timeoutWriter)(nil)
)

// arm sets the request's deadline d from now and returns req with next's
// context. Its timer runs expire. tw must come from newTimeoutWriter(w,
// true).
func (tw *timeoutWriter) arm(req *http.Request, d time.Duration, te error, fired func()) *http.Request {
	dl := tw.dl
	ctx, cancel := context.WithCancelCause(req.Context())
	dl.ctx = requestContext{Context: ctx, tw: tw, deadline: time.Now().Add(d)}
	dl.cancel, dl.te, dl.fired = cancel, te, fired
	dl.h1 = req.ProtoMajor < 2
	tw.h = tw.w.Header().Clone()
	if tw.h == nil {
		tw.h = make(http.Header)
	}
	dl.timer = time.AfterFunc(d, tw.expire)
	return req.WithContext(&dl.ctx)
}

// disarm stops the timer and ends next's context once next has returned.
func (tw *timeoutWriter) disarm() {
	tw.dl.timer.Stop()
	tw.dl.cancel(nil)
}

// wait returns once the timer has sent the timeout response, if it took w.
func (tw *timeoutWriter) wait() {
	tw.mu.Lock()
	replied := tw.replied
	tw.mu.Unlock()
	if replied != nil {
		<-replied
	}
}

// expire runs on the timer's goroutine when the deadline passes, and again
// on next's goroutine when a call of next that held w off the timer ends
// after the deadline. It ends next's context, unless next has hijacked the
// connection or is hijacking it (Hijack then decides), and sends the
// timeout response if w is free.
func (tw *timeoutWriter) expire() {
	if tw.dl.fired != nil {
		defer tw.dl.fired()
	}
	tw.mu.Lock()
	tw.late = true
	if tw.done || tw.hijacked || tw.hijacking {
		tw.mu.Unlock()
		return
	}
	var replied chan struct{}
	if tw.code == 0 && tw.busy == 0 && !tw.timedOut {
		tw.timedOut = true
		replied = make(chan struct{})
		tw.replied = replied
	}
	tw.mu.Unlock()
	tw.dl.cancel(tw.dl.te)
	if replied != nil {
		defer close(replied)
		tw.reply()
	}
}

// reply sends the timeout response. It requires w (timedOut set by the
// caller) and runs outside mu.
func (tw *timeoutWriter) reply() {
	h := tw.w.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(timeoutBody)))
	if tw.dl.h1 {
		// next runs on and may never read the request body: net/http must
		// not wait for the body before this response, nor reuse the
		// connection after it.
		h.Set("Connection", "close")
	}
	tw.w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(tw.w, timeoutBody)
	http.NewResponseController(tw.w).Flush() // the client has its answer even while next runs on
}

const timeoutBody = "request timed out\n"

// start makes sure next's response has started, with status code if it had
// not, and gives w to next for good. It fails, touching nothing, once the
// timeout response has w or the connection is hijacked.
func (tw *timeoutWriter) start(code int) error {
	tw.mu.Lock()
	switch {
	case tw.timedOut:
		tw.mu.Unlock()
		return http.ErrHandlerTimeout
	case tw.hijacked:
		tw.mu.Unlock()
		return http.ErrHijacked
	case tw.code != 0:
		tw.mu.Unlock()
		return nil
	}
	tw.code = code
	tw.mu.Unlock()
	tw.copyHeader()
	tw.w.WriteHeader(code)
	return nil
}

// enter lends w to a call of next that does not start the response; leave
// ends the loan. enter fails, touching nothing, once the timeout response
// has w.
func (tw *timeoutWriter) enter() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return http.ErrHandlerTimeout
	}
	tw.busy++
	return nil
}

func (tw *timeoutWriter) leave() {
	tw.mu.Lock()
	tw.busy--
	late := tw.late
	tw.mu.Unlock()
	if late {
		tw.expire() // the timer found w lent out
	}
}

// copyHeader makes w's header map next's own, if next has one. It requires
// w.
func (tw *timeoutWriter) copyHeader() {
	if tw.h == nil {
		return
	}
	dst := tw.w.Header()
	clear(dst)
	for k, v := range tw.h {
		dst[k] = v
	}
}

// Header returns the header map next writes to.
func (tw *timeoutWriter) Header() http.Header {
	if tw.h != nil {
		return tw.h
	}
	return tw.w.Header()
}

// WriteHeader sends the status and header unless the request timed out. A
// 1xx status other than 101 is sent as an informational response.
func (tw *timeoutWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		// As net/http does, before anything is sent: the panic becomes a 500.
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		tw.inform(code)
		return
	}
	tw.start(code)
}

// inform sends an informational (1xx) response, if the final one has not
// started.
func (tw *timeoutWriter) inform(code int) {
	tw.mu.Lock()
	ok := !tw.timedOut && !tw.hijacked && tw.code == 0
	if ok {
		tw.busy++
	}
	tw.mu.Unlock()
	if !ok {
		return
	}
	defer tw.leave()
	tw.copyHeader() // a 103's Link headers are in next's map
	tw.w.WriteHeader(code)
}

// Write writes to the response, or fails with http.ErrHandlerTimeout once the
// request has timed out.
func (tw *timeoutWriter) Write(b []byte) (int, error) {
	if err := tw.start(http.StatusOK); err != nil {
		return 0, err
	}
	return tw.w.Write(b)
}

// WriteString is Write for a string, without copying it when the server's
// writer has a WriteString of its own (net/http's has).
func (tw *timeoutWriter) WriteString(str string) (int, error) {
	if err := tw.start(http.StatusOK); err != nil {
		return 0, err
	}
	return io.WriteString(tw.w, str)
}

// ReadFrom copies src to the response, through the server's own ReadFrom
// (sendfile) where it has one.
func (tw *timeoutWriter) ReadFrom(src io.Reader) (int64, error) {
	if err := tw.start(http.StatusOK); err != nil {
		return 0, err
	}
	if rf, ok := tw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{tw.w}, src)
}

// writerOnly hides every method but Write, so io.Copy cannot loop back
// into ReadFrom.
type writerOnly struct{ io.Writer }

// Flush sends buffered data to the client, if the server's writer can.
func (tw *timeoutWriter) Flush() { tw.FlushError() }

// FlushError is Flush with an error, for http.ResponseController.
func (tw *timeoutWriter) FlushError() error {
	if err := tw.start(http.StatusOK); err != nil {
		return err
	}
	return http.NewResponseController(tw.w).Flush()
}

// Hijack hands the connection to next, for good: the timeout stands down.
func (tw *timeoutWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	tw.mu.Lock()
	if tw.timedOut {
		tw.mu.Unlock()
		return nil, nil, http.ErrHandlerTimeout
	}
	tw.hijacking = true
	tw.mu.Unlock()
	conn, brw, err := http.NewResponseController(tw.w).Hijack()
	tw.mu.Lock()
	tw.hijacking = false
	tw.hijacked = tw.hijacked || err == nil
	late := tw.late && !tw.hijacked
	tw.mu.Unlock()
	if late {
		tw.expire() // the hijack failed and the deadline passed meanwhile
	}
	return conn, brw, err
}

// Push initiates an HTTP/2 server push, if the server's writer can.
func (tw *timeoutWriter) Push(target string, opts *http.PushOptions) error {
	p, ok := tw.w.(http.Pusher)
	if !ok {
		return http.ErrNotSupported
	}
	if err := tw.enter(); err != nil {
		return err
	}
	defer tw.leave()
	return p.Push(target, opts)
}

// SetReadDeadline sets the connection's read deadline, for
// http.ResponseController.
func (tw *timeoutWriter) SetReadDeadline(t time.Time) error {
	if err := tw.enter(); err != nil {
		return err
	}
	defer tw.leave()
	return http.NewResponseController(tw.w).SetReadDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline, for
// http.ResponseController.
func (tw *timeoutWriter) SetWriteDeadline(t time.Time) error {
	if err := tw.enter(); err != nil {
		return err
	}
	defer tw.leave()
	return http.NewResponseController(tw.w).SetWriteDeadline(t)
}

// EnableFullDuplex lets next read the request body while it writes the
// response, for http.ResponseController.
func (tw *timeoutWriter) EnableFullDuplex() error {
	if err := tw.enter(); err != nil {
		return err
	}
	defer tw.leave()
	return http.NewResponseController(tw.w).EnableFullDuplex()
}

// finish marks next as returned and returns the request's failure, if any.
// For a panic p it answers 500 if nothing was written yet, or reports that
// the started response must be aborted.
func (tw *timeoutWriter) finish(p any, isFailure func(int) bool) (failure error, abort bool) {
	tw.mu.Lock()
	tw.done = true // from here on the timer leaves w alone
	code, timedOut, hijacked := tw.code, tw.timedOut, tw.hijacked
	tw.mu.Unlock()
	switch {
	case p == http.ErrAbortHandler:
		return nil, false
	case p != nil:
		switch {
		case timedOut: // the timeout response has w
		case hijacked: // the connection is next's: nothing to answer on
		case code != 0:
			abort = true
		default:
			clear(tw.w.Header())
			http.Error(tw.w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}
		return &PanicError{Value: p, Stack: debug.Stack()}, abort
	case timedOut:
		return tw.dl.te, false
	case hijacked:
		return nil, false
	}
	// net/http reads the header map once next returns: for the header of a
	// response next left implicit, and for trailers.
	tw.copyHeader()
	if code != 0 && isFailure(code) {
		return &StatusError{Code: code}, false
	}
	return nil, false
}

// requestContext is next's context when a deadline is set: its parent's
// values and cancellation, and the request's deadline, which the timer
// enforces unless next hijacks the connection first.
type requestContext struct {
	context.Context // context.WithCancelCause of the request's own context
	tw              *timeoutWriter
	deadline        time.Time
}

// Deadline returns the request's deadline, or the parent's if that is
// earlier; once the connection is hijacked, only the parent's.
func (c *requestContext) Deadline() (time.Time, bool) {
	c.tw.mu.Lock()
	hijacked := c.tw.hijacked
	c.tw.mu.Unlock()
	d, ok := c.Context.Deadline()
	if hijacked || ok && d.Before(c.deadline) {
		return d, ok
	}
	return c.deadline, true
}

// Err returns context.DeadlineExceeded once the timer has ended the
// context, else the parent's error, if any.
func (c *requestContext) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == c.tw.dl.te {
		return context.DeadlineExceeded
	}
	return err
}
