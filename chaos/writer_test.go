package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seed94f50169/resilience/backoff"
	"github.com/seed94f50169/resilience/middleware"
	"github.com/seed94f50169/resilience/retry"
)

const (
	writerKeys     = 16
	writerVersions = 60
	writerEvery    = 100 * time.Millisecond
	writerBase     = 1732270000.0 // mtime of version 0
)

// writer speaks the session pipe's wire protocol through a
// Recovery.Transport and rewrites the same writerKeys keys writerVersions
// times, each batch in random key order with stale versions mixed in, so
// that the fusion view's LogicalClock arbitration is exercised under the
// faults: at the end every key must hold version writerVersions.
type writer struct {
	base    string // fusion URL (through the proxy)
	client  *http.Client
	session string
	batches atomic.Int64 // batches acknowledged
	resends atomic.Int64 // batches sent again after a failure
	renewed atomic.Int64 // sessions created
}

func newWriter(base string, tr http.RoundTripper) *writer {
	rec := &middleware.Recovery{
		Retry: &retry.Policy{
			MaxAttempts: 3,
			Backoff:     backoff.Policy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		},
		Timeout: 500 * time.Millisecond,
		Total:   2 * time.Second,
	}
	return &writer{base: base, client: &http.Client{Transport: rec.Transport(tr)}}
}

// post sends a JSON body with an Idempotency-Key (re-delivery is harmless
// in this protocol, so the Transport may retry it) and decodes the answer.
func (w *writer) post(ctx context.Context, path string, in, out any) (int, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", strconv.FormatUint(rand.Uint64(), 36))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// deliver sends one batch until fusion acknowledges it, creating a new
// session first when there is none or fusion says the old one is obsolete.
func (w *writer) deliver(ctx context.Context, events []map[string]any) error {
	for tries := 0; ; tries++ {
		if tries > 0 {
			w.resends.Add(1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if w.session == "" {
			var s struct {
				ID string `json:"session_id"`
			}
			if _, err := w.post(ctx, "/api/v1/pipe/sessions/", map[string]string{"pipe_id": pipeID, "agent_id": "writer"}, &s); err != nil || s.ID == "" {
				continue
			}
			w.session = s.ID
			w.renewed.Add(1)
		}
		var ack struct {
			Acked int `json:"acked"`
		}
		status, err := w.post(ctx, "/api/v1/pipe/sessions/"+w.session+"/events", map[string]any{"events": events}, &ack)
		if status == http.StatusGone {
			w.session = ""
			continue
		}
		if err == nil {
			w.batches.Add(1)
			return nil
		}
	}
}

// run writes every version, one batch per writerEvery.
func (w *writer) run(ctx context.Context) error {
	tick := time.NewTicker(writerEvery)
	defer tick.Stop()
	for v := 1; v <= writerVersions; v++ {
		var events []map[string]any
		for _, k := range rand.Perm(writerKeys) {
			events = append(events, writerEvent(k, v))
			if v > 2 && rand.IntN(3) == 0 { // a stale version, which must change nothing
				events = append(events, writerEvent(k, v-1-rand.IntN(v-1)))
			}
		}
		if err := w.deliver(ctx, events); err != nil {
			return fmt.Errorf("version %d: %w", v, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func writerKey(k int) string { return fmt.Sprintf("/writer/key-%02d", k) }

func writerEvent(k, v int) map[string]any {
	return map[string]any{"key": writerKey(k), "mtime": writerBase + float64(v), "seq": v, "payload": "v" + strconv.Itoa(v)}
}
