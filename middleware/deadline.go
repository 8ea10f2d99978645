package middleware

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed94f50169/resilience/bulkhead"
	"github.com/seed94f50169/resilience/timeout"
)

// DefaultDeadlineHeader is the header that carries a request's remaining
// time budget from hop to hop when Recovery.DeadlineHeader is empty. Its
// value has the format of gRPC's grpc-timeout (see FormatTimeout).
const DefaultDeadlineHeader = "Request-Timeout"

// DefaultDeadlineMargin is what Transport takes off the time left on a
// request's context before it sends the rest to the next hop, when
// Recovery.DeadlineMargin is zero: the time the request and its answer
// spend on the wire and in the next hop's server before and after its
// handler runs.
const DefaultDeadlineMargin = 5 * time.Millisecond

// NoDeadlineHeader, as Recovery.DeadlineHeader, turns deadline propagation
// off: Transport sends no budget and Handler reads none.
const NoDeadlineHeader = "-"

// maxTimeoutDigits is the most digits a timeout value may have, as in gRPC.
const maxTimeoutDigits = 8

// maxTimeoutValues is how many values of the deadline header (repeated
// lines and comma-separated elements together) Handler looks at.
const maxTimeoutValues = 8

var timeoutUnits = [...]struct {
	unit time.Duration
	c    byte
}{
	{time.Nanosecond, 'n'},
	{time.Microsecond, 'u'},
	{time.Millisecond, 'm'},
	{time.Second, 'S'},
	{time.Minute, 'M'},
	{time.Hour, 'H'},
}

// FormatTimeout formats d as a gRPC timeout value: at most 8 digits and a
// unit, H (hours), M (minutes), S (seconds), m (milliseconds), u
// (microseconds) or n (nanoseconds), in the finest unit that fits ("100m"
// is 100 ms, "1500u" is 1.5 ms). It rounds down, so the value never grants
// more time than d; a d of zero or less is "0n".
func FormatTimeout(d time.Duration) string {
	var buf [maxTimeoutDigits + 1]byte
	return string(appendTimeout(buf[:0], d))
}

func appendTimeout(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, '0', 'n')
	}
	for _, u := range timeoutUnits {
		if n := d / u.unit; n <= 99999999 || u.c == 'H' {
			return append(strconv.AppendInt(b, int64(n), 10), u.c)
		}
	}
	panic("unreachable") // the hour unit always fits a time.Duration
}

// ParseTimeout parses a gRPC timeout value (see FormatTimeout), surrounding
// spaces allowed, and reports whether it was valid: 1 to 8 ASCII digits and
// one of the units H M S m u n, nothing else (no sign, no fraction, no
// space inside). A valid value too long for a time.Duration (more than
// about 292 years) saturates at math.MaxInt64 nanoseconds; an invalid one
// returns (0, false).
func ParseTimeout(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 2 || len(v) > maxTimeoutDigits+1 {
		return 0, false
	}
	var unit time.Duration
	for _, u := range timeoutUnits {
		if u.c == v[len(v)-1] {
			unit = u.unit
		}
	}
	if unit == 0 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v)-1; i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0') // 8 digits never overflow
	}
	if n > math.MaxInt64/int64(unit) {
		return math.MaxInt64, true
	}
	return time.Duration(n) * unit, true
}

// propagation is how a Transport or Handler carries deadlines across hops,
// resolved once from a Recovery.
type propagation struct {
	header string        // canonical name of the deadline header; "" when off
	margin time.Duration // what Transport keeps for the wire
}

// validateDeadlineHeader reports a DeadlineHeader that is not a valid
// header field name (an RFC 9110 token), with which every request
// Transport sends would fail.
func (r *Recovery) validateDeadlineHeader() error {
	h := r.DeadlineHeader
	if h == "" || h == NoDeadlineHeader {
		return nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return fmt.Errorf("middleware: DeadlineHeader %q is not a valid header name", h)
	}
	return nil
}

// sendPropagation is propagation for Transport, which panics with the
// message of validateDeadlineHeader.
func (r *Recovery) sendPropagation() propagation {
	if err := r.validateDeadlineHeader(); err != nil {
		panic(err.Error())
	}
	return r.propagation()
}

func (r *Recovery) propagation() propagation {
	p := propagation{header: http.CanonicalHeaderKey(r.DeadlineHeader), margin: r.DeadlineMargin}
	switch r.DeadlineHeader {
	case "":
		p.header = DefaultDeadlineHeader
	case NoDeadlineHeader:
		p.header = ""
	}
	switch {
	case p.margin == 0:
		p.margin = DefaultDeadlineMargin
	case p.margin < 0:
		p.margin = 0
	}
	return p
}

// withDeadline returns req with the time left on ctx, less the margin, in
// the deadline header, as a copy whose header map is the only new part.
// It returns req itself when propagation is off, ctx has no deadline, or
// the caller set the header.
func (p propagation) withDeadline(ctx context.Context, req *http.Request) *http.Request {
	if p.header == "" {
		return req
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return req
	}
	if _, set := req.Header[p.header]; set {
		return req
	}
	var buf [maxTimeoutDigits + 1]byte
	v := string(appendTimeout(buf[:0], time.Until(dl)-p.margin))
	h := make(http.Header, len(req.Header)+1)
	maps.Copy(h, req.Header)
	h[p.header] = []string{v}
	out := req.WithContext(ctx)
	out.Header = h
	return out
}

// incoming returns the budget a request's deadline header grants: the
// smallest valid value among the header's first maxTimeoutValues values,
// lines and comma-separated elements alike (invalid ones are skipped). ok
// is false when propagation is off or no value is valid. It removes the
// header from req.
func (h *handler) incoming(req *http.Request) (budget time.Duration, ok bool) {
	if h.prop.header == "" {
		return 0, false
	}
	lines, present := req.Header[h.prop.header]
	if !present {
		return 0, false
	}
	// The budget lives on in the context's deadline; the header must not:
	// a proxy would forward it, stale, in place of what is left.
	delete(req.Header, h.prop.header)
	seen := 0
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			if seen++; seen > maxTimeoutValues {
				return budget, ok
			}
			if d, valid := ParseTimeout(elem); valid && (!ok || d < budget) {
				budget, ok = d, true
			}
		}
	}
	return budget, ok
}

// errSpent is what a bulkhead wait cut short by the request's incoming
// deadline returns.
var errSpent = errors.New("middleware: the request's deadline passed while queued")

// admit applies the request's incoming budget, if any, the Shedder and
// the bulkhead. It returns the time the request may run (the smaller of
// the handler's own limit and what is left of the budget; 0: no limit) and
// the cause of its deadline, or false when it has answered the request
// itself: 504 Gateway Timeout when the budget is spent on arrival or while
// queued, 503 when the Shedder or the bulkhead refused it.
func (h *handler) admit(w http.ResponseWriter, req *http.Request) (limit time.Duration, cause error, ok bool) {
	limit, cause = h.limit, h.te
	budget, budgeted := h.incoming(req)
	var dl time.Time
	if budgeted {
		if budget <= 0 {
			h.spent(w, req)
			return 0, nil, false
		}
		dl = time.Now().Add(min(budget, maxBudget))
	}
	sh := h.r.Shed
	if sh != nil {
		if err := sh.Acquire(req.Context(), sh.priority(req)); err != nil {
			h.shed(w, req, err)
			return 0, nil, false
		}
	}
	bh := h.r.Bulkhead
	if bh != nil {
		var err error
		if budgeted {
			err = acquireBy(req.Context(), bh, dl)
		} else {
			err = bh.Acquire(req.Context())
		}
		if err != nil {
			if sh != nil {
				sh.Release()
			}
			if err == errSpent {
				h.spent(w, req)
			} else {
				h.shed(w, req, err)
			}
			return 0, nil, false
		}
	}
	if !budgeted {
		return limit, cause, true
	}
	if budget = time.Until(dl); budget <= 0 {
		if bh != nil {
			bh.Release()
		}
		if sh != nil {
			sh.Release()
		}
		h.spent(w, req)
		return 0, nil, false
	}
	if limit <= 0 || budget < limit {
		limit, cause = budget, h.be
	}
	return limit, cause, true
}

// maxBudget bounds an incoming budget, so that the deadline it sets is a
// time the clock can represent.
const maxBudget = 100 * 365 * 24 * time.Hour

// acquireBy takes a slot of bh, waiting at most until dl; errSpent when dl
// came first.
func acquireBy(ctx context.Context, bh *bulkhead.Bulkhead, dl time.Time) error {
	qctx, cancel := context.WithDeadline(ctx, dl)
	err := bh.Acquire(qctx)
	cancel()
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return errSpent
	}
	return err
}

// spent answers 504 Gateway Timeout to a request whose budget is gone
// before its handler could start: the caller has given up, or is about
// to, so no work is done for it.
func (h *handler) spent(w http.ResponseWriter, req *http.Request) {
	if t := h.r.Tracker; t != nil {
		t.Track(h.be)
	}
	if f := h.r.Hooks.OnReject; f != nil && req.Context().Err() == nil {
		f(Event{Err: h.be, Host: req.Host, Request: req})
	}
	if h.r.observed() {
		h.r.observeShed(req, h.be, http.StatusGatewayTimeout)
	}
	http.Error(w, http.StatusText(http.StatusGatewayTimeout), http.StatusGatewayTimeout)
}

// budgetError is the cause of a request's deadline when the incoming
// budget set it: a *timeout.Error named "deadline" whose Limit is zero, the
// budget being the caller's, not the handler's.
func budgetError() *timeout.Error { return &timeout.Error{Name: "deadline"} }
