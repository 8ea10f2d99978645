package agent

import "sync"

// TEMPORARY until the errtrack package lands.
type tracker struct {
	mu sync.Mutex
	m  map[string]uint64
}

func newTracker() *tracker { return &tracker{m: map[string]uint64{}} }

func (t *tracker) track(err error) string {
	c := "unknown"
	if e, ok := err.(interface{ StatusCode() int }); ok && e.StatusCode() == 503 {
		c = "service_unavailable"
	}
	t.mu.Lock()
	t.m[c]++
	t.mu.Unlock()
	return c
}

func (t *tracker) byClass() map[string]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]uint64{}
	for k, v := range t.m {
		out[k] = v
	}
	return out
}
