package middleware

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/timeout"
)

// fakeWriter is a server's ResponseWriter with every optional method. It
// is unsynchronized on purpose: under -race, two calls at once (the
// timer's and the handler's) are reported.
type fakeWriter struct {
	header    http.Header
	body      strings.Builder
	calls     []string
	blockOn   string        // a call that waits for unblock
	unblock   chan struct{} // closed by the test
	slow      time.Duration // how long the next call takes
	hijackErr error
}

func newFakeWriter() *fakeWriter { return &fakeWriter{header: http.Header{}} }

func (f *fakeWriter) note(call string) {
	f.calls = append(f.calls, call)
	if call == f.blockOn {
		<-f.unblock
	}
	if d := f.slow; d > 0 {
		f.slow = 0
		time.Sleep(d) // a call slow on the network
	}
}

func (f *fakeWriter) Header() http.Header { return f.header }
func (f *fakeWriter) WriteHeader(code int) {
	f.note("WriteHeader " + http.StatusText(code))
}
func (f *fakeWriter) Write(b []byte) (int, error) {
	f.note("Write")
	return f.body.Write(b)
}
func (f *fakeWriter) WriteString(s string) (int, error) {
	f.note("WriteString")
	return f.body.WriteString(s)
}
func (f *fakeWriter) ReadFrom(r io.Reader) (int64, error) {
	f.note("ReadFrom")
	return io.Copy(&f.body, r)
}
func (f *fakeWriter) FlushError() error { f.note("Flush"); return nil }
func (f *fakeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.note("Hijack")
	return nil, nil, f.hijackErr
}
func (f *fakeWriter) Push(string, *http.PushOptions) error { f.note("Push"); return nil }
func (f *fakeWriter) SetReadDeadline(time.Time) error      { f.note("SetReadDeadline"); return nil }
func (f *fakeWriter) SetWriteDeadline(time.Time) error     { f.note("SetWriteDeadline"); return nil }
func (f *fakeWriter) EnableFullDuplex() error              { f.note("EnableFullDuplex"); return nil }

// writerOps are the calls a handler can make on its ResponseWriter, each
// returning its error (nil for those that return none) and the calls the
// server's writer sees when it passes through.
var writerOps = []struct {
	name  string
	do    func(w http.ResponseWriter) error
	calls []string
}{
	{"Write", func(w http.ResponseWriter) error { _, err := w.Write([]byte("x")); return err }, []string{"WriteHeader OK", "Write"}},
	{"WriteString", func(w http.ResponseWriter) error { _, err := w.(io.StringWriter).WriteString("x"); return err }, []string{"WriteHeader OK", "WriteString"}},
	{"WriteHeader", func(w http.ResponseWriter) error { w.WriteHeader(http.StatusAccepted); return nil }, []string{"WriteHeader Accepted"}},
	{"WriteHeader 103", func(w http.ResponseWriter) error { w.WriteHeader(http.StatusEarlyHints); return nil }, []string{"WriteHeader Early Hints"}},
	{"ReadFrom", func(w http.ResponseWriter) error {
		_, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("x"))
		return err
	}, []string{"WriteHeader OK", "ReadFrom"}},
	{"Flush", func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }, []string{"WriteHeader OK", "Flush"}},
	{"Hijack", func(w http.ResponseWriter) error { _, _, err := http.NewResponseController(w).Hijack(); return err }, []string{"Hijack"}},
	{"Push", func(w http.ResponseWriter) error { return w.(http.Pusher).Push("/style.css", nil) }, []string{"Push"}},
	{"SetReadDeadline", func(w http.ResponseWriter) error {
		return http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Minute))
	}, []string{"SetReadDeadline"}},
	{"SetWriteDeadline", func(w http.ResponseWriter) error {
		return http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	}, []string{"SetWriteDeadline"}},
	{"EnableFullDuplex", func(w http.ResponseWriter) error { return http.NewResponseController(w).EnableFullDuplex() }, []string{"EnableFullDuplex"}},
}

// timeoutCalls are the calls of the timeout response.
var timeoutCalls = []string{"WriteHeader Service Unavailable", "WriteString", "Flush"}

func TestHandlerWriterPassesThrough(t *testing.T) {
	// Before the deadline, and without one, every call reaches the
	// server's writer.
	for _, limit := range []time.Duration{0, time.Minute} {
		for _, op := range writerOps {
			t.Run(op.name+"/limit="+limit.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := newFakeWriter()
					var err error
					h := (&Recovery{Timeout: limit}).Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
						err = op.do(w)
					}))
					h.ServeHTTP(f, httptest.NewRequest("GET", "/", nil))
					if err != nil {
						t.Errorf("error %v, want nil", err)
					}
					if !slices.Equal(f.calls, op.calls) {
						t.Errorf("server's writer saw %q, want %q", f.calls, op.calls)
					}
				})
			})
		}
	}
}

func TestHandlerWriterAfterTimeout(t *testing.T) {
	// Once the timeout response is out, no call of the handler reaches
	// the server's writer, and each one that can fail does, with
	// http.ErrHandlerTimeout.
	for _, op := range writerOps {
		t.Run(op.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeWriter()
				err := errors.New("not called")
				h := (&Recovery{Timeout: time.Second}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					<-req.Context().Done()
					err = op.do(w)
				}))
				h.ServeHTTP(f, httptest.NewRequest("GET", "/", nil))
				if !slices.Equal(f.calls, timeoutCalls) || f.body.String() != timeoutBody {
					t.Errorf("server's writer saw %q %q, want the timeout response alone", f.calls, f.body.String())
				}
				if err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
					t.Errorf("error %v, want http.ErrHandlerTimeout", err)
				}
				if f.header.Get("Connection") != "close" {
					t.Errorf("timeout response header %v, want Connection: close", f.header)
				}
			})
		})
	}
}

func TestHandlerWriterCallAcrossDeadline(t *testing.T) {
	// A call of the handler that is on the server's writer when the
	// deadline passes keeps it: the timeout response waits for the call
	// to return (and is not sent if the call started the response, or
	// hijacked the connection). The context ends at the deadline, except
	// for a hijack, which decides when it returns.
	tests := []struct {
		name      string
		op        string // a writerOps name
		hijackErr error
		want      []string // calls the server's writer sees
		ctxEnds   bool     // at the deadline
	}{
		{"SetWriteDeadline", "SetWriteDeadline", nil, append([]string{"SetWriteDeadline"}, timeoutCalls...), true},
		{"EnableFullDuplex", "EnableFullDuplex", nil, append([]string{"EnableFullDuplex"}, timeoutCalls...), true},
		{"Push", "Push", nil, append([]string{"Push"}, timeoutCalls...), true},
		{"WriteHeader 103", "WriteHeader 103", nil, append([]string{"WriteHeader Early Hints"}, timeoutCalls...), true},
		{"Write", "Write", nil, []string{"WriteHeader OK", "Write"}, true},
		{"Flush", "Flush", nil, []string{"WriteHeader OK", "Flush"}, true},
		{"Hijack", "Hijack", nil, []string{"Hijack"}, false},
		{"Hijack fails", "Hijack", http.ErrNotSupported, append([]string{"Hijack"}, timeoutCalls...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				i := slices.IndexFunc(writerOps, func(op struct {
					name  string
					do    func(w http.ResponseWriter) error
					calls []string
				}) bool {
					return op.name == tt.op
				})
				op := writerOps[i]
				f := newFakeWriter()
				f.blockOn, f.unblock, f.hijackErr = op.calls[len(op.calls)-1], make(chan struct{}), tt.hijackErr
				var ctxErr error
				h := (&Recovery{Timeout: time.Second}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					go func() {
						time.Sleep(2 * time.Second) // past the deadline
						ctxErr = req.Context().Err()
						close(f.unblock)
					}()
					op.do(w)
				}))
				h.ServeHTTP(f, httptest.NewRequest("GET", "/", nil))
				if !slices.Equal(f.calls, tt.want) {
					t.Errorf("server's writer saw %q, want %q", f.calls, tt.want)
				}
				if got := ctxErr != nil; got != tt.ctxEnds {
					t.Errorf("context ended at the deadline: %v (%v), want %v", got, ctxErr, tt.ctxEnds)
				}
			})
		})
	}
}

func TestHandlerTimeoutContext(t *testing.T) {
	// next's context carries the request's deadline (or an earlier one of
	// the server's), ends at it with context.DeadlineExceeded and a
	// *timeout.Error as its cause; contexts derived from it end too, with
	// the same cause.
	tests := []struct {
		name         string
		parent       time.Duration // the server's own deadline; 0: none
		wantDeadline time.Duration // from the start
		wantErr      error         // next's ctx.Err() at the end
	}{
		{"request deadline", 0, 2 * time.Second, context.DeadlineExceeded},
		{"later parent deadline", time.Minute, 2 * time.Second, context.DeadlineExceeded},
		{"earlier parent deadline", time.Second, time.Second, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ctx := context.Background()
				if tt.parent > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.parent)
					defer cancel()
				}
				var deadline time.Time
				var ok bool
				var err, cause, childCause error
				var childErr error
				h := (&Recovery{Timeout: 2 * time.Second}).Handler(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
					deadline, ok = req.Context().Deadline()
					child, cancel := context.WithTimeout(req.Context(), time.Hour)
					defer cancel()
					<-child.Done()
					err, cause = req.Context().Err(), context.Cause(req.Context())
					childErr, childCause = child.Err(), context.Cause(child)
				}))
				h.ServeHTTP(newFakeWriter(), httptest.NewRequest("GET", "/", nil).WithContext(ctx))
				if !ok || deadline.Sub(start) != tt.wantDeadline {
					t.Errorf("Deadline %v after start (%v), want %v", deadline.Sub(start), ok, tt.wantDeadline)
				}
				if err != tt.wantErr || childErr == nil {
					t.Errorf("Err %v, derived context's %v; want %v, and the derived one ended", err, childErr, tt.wantErr)
				}
				var te *timeout.Error
				if tt.parent == 0 || tt.parent > 2*time.Second {
					if !errors.As(cause, &te) || te.Name != "request" || childCause != cause {
						t.Errorf("Cause %v, derived context's %v; want the request's *timeout.Error for both", cause, childCause)
					}
					if childErr != context.Canceled {
						t.Errorf("derived context's Err %v, want context.Canceled (as documented)", childErr)
					}
				} else if errors.As(cause, &te) {
					t.Errorf("Cause %v, want the server's own deadline", cause)
				}
			})
		})
	}
}

// startsResponse reports whether a call the server's writer saw starts
// the response.
func startsResponse(call string) bool {
	switch call {
	case "Write", "WriteString", "ReadFrom", "Flush", "WriteHeader OK", "WriteHeader Accepted":
		return true
	}
	return false
}

func FuzzHandlerWriter(f *testing.F) {
	// A handler makes any sequence of calls on its writer, some of them
	// slow, with pauses, while its 1s deadline passes. Whatever the
	// sequence: no two calls reach the server's writer at once (-race),
	// the timeout response is sent only if the handler's response had not
	// started and the connection was not hijacked, it is whole and
	// nothing follows it, and every call after it fails with
	// http.ErrHandlerTimeout (or returns nothing): a handler that sees its
	// context end sees the timeout response already sent, or never.
	f.Add([]byte{0}, false)
	f.Add([]byte{0xc8 + 12, 0}, false)
	f.Add([]byte{0xc8 + 5, 6, 0}, false)
	f.Add([]byte{0x80 | 8, 0xc8 + 5, 0}, false)
	f.Add([]byte{6, 0xc8 + 12, 0, 1}, true)
	f.Add([]byte{0x80 | 3, 0xc8 + 9, 9, 9}, false)
	f.Fuzz(func(t *testing.T, script []byte, hijackFails bool) {
		if len(script) > 64 {
			script = script[:64]
		}
		synctest.Test(t, func(t *testing.T) {
			fw := newFakeWriter()
			if hijackFails {
				fw.hijackErr = http.ErrNotSupported
			}
			var lateErrs []error // errors of calls made once the context had ended
			h := (&Recovery{Timeout: time.Second}).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				for _, b := range script {
					if b >= 0xc8 { // a pause of up to 5.5s
						time.Sleep(time.Duration(b-0xc8) * 100 * time.Millisecond)
						continue
					}
					if b&0x80 != 0 {
						fw.slow = 700 * time.Millisecond
					}
					op := writerOps[int(b&0x7f)%len(writerOps)]
					ended := req.Context().Err() != nil
					err := op.do(w)
					if ended {
						lateErrs = append(lateErrs, err)
					}
				}
			}))
			h.ServeHTTP(fw, httptest.NewRequest("GET", "/", nil))
			calls := fw.calls
			i := slices.Index(calls, timeoutCalls[0])
			if i < 0 {
				return
			}
			if !slices.Equal(calls[i:], timeoutCalls) || fw.body.String() != timeoutBody {
				t.Fatalf("calls %q, body %q: the timeout response is not whole, or something followed it", calls, fw.body.String())
			}
			for _, c := range calls[:i] {
				if startsResponse(c) || c == "Hijack" && !hijackFails {
					t.Fatalf("calls %q: a timeout response after the handler's %q", calls, c)
				}
			}
			for _, err := range lateErrs {
				if err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
					t.Fatalf("a call after the timeout response (and the context's end) returned %v, want http.ErrHandlerTimeout", err)
				}
			}
		})
	})
}
