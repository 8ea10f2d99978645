package fusion

import "sync"

// Event is one change an agent pushes: a new version of the entry at Key.
type Event struct {
	Key     string  `json:"key"`
	Mtime   float64 `json:"mtime"`
	Seq     int64   `json:"seq"`
	Payload string  `json:"payload"`
}

// Entry is the version of a key the view holds.
type Entry struct {
	Mtime   float64 `json:"mtime"`
	Seq     int64   `json:"seq"`
	Payload string  `json:"payload"`
}

// Newer reports whether a version (mtime, seq) is strictly newer than e: a
// later mtime, or the same mtime and a greater seq (the LogicalClock rule).
func (e Entry) Newer(mtime float64, seq int64) bool {
	if mtime != e.Mtime {
		return mtime > e.Mtime
	}
	return seq > e.Seq
}

// View is the arbitrated state of one pipe: per key, the newest version
// seen. The zero View is empty and ready to use; it is safe for concurrent
// use.
type View struct {
	mu      sync.Mutex
	entries map[string]Entry
}

// Apply merges events into the view and returns how many replaced or added
// an entry. Every event is acknowledged whether or not it changed anything.
func (v *View) Apply(events []Event) (changed int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[string]Entry)
	}
	for _, ev := range events {
		cur, ok := v.entries[ev.Key]
		if ok && !cur.Newer(ev.Mtime, ev.Seq) {
			continue
		}
		v.entries[ev.Key] = Entry{Mtime: ev.Mtime, Seq: ev.Seq, Payload: ev.Payload}
		changed++
	}
	return changed
}

// Snapshot returns a copy of the view's entries.
func (v *View) Snapshot() map[string]Entry {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]Entry, len(v.entries))
	for k, e := range v.entries {
		out[k] = e
	}
	return out
}
