package chaos

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// ignoreToxicStubs leaves out of leak checks the goroutines that run
// Toxiproxy's toxics. Some toxics (bandwidth, latency) send on an unbuffered
// channel without watching for shutdown, so when a client gives up on a
// connection mid-transfer (which the scenarios make it do) the toxic's
// goroutine stays blocked inside Toxiproxy for the life of the process. That
// is Toxiproxy's leak, not the code under test; every other goroutine is
// checked.
var ignoreToxicStubs = goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run")

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// checkLeaks records the goroutines and file descriptors open now, and when
// the test ends, after every cleanup registered later has run (servers,
// proxies and idle connections closed), fails the test if any goroutine
// started since is still running or if more descriptors are open than
// before. Closing is asynchronous in places (a relayed connection's
// goroutines end after its peer closes), so both checks wait a few seconds
// for things to settle before failing.
func checkLeaks(t *testing.T) {
	t.Helper()
	fdsBefore := openFDs(t)
	grBefore := runtime.NumGoroutine()
	ignore := []goleak.Option{goleak.IgnoreCurrent(), ignoreToxicStubs}
	t.Cleanup(func() {
		err := goleak.Find(ignore...)
		for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
			err = goleak.Find(ignore...)
		}
		if err != nil {
			t.Errorf("goroutine leak: %v", err)
		}
		fds := openFDs(t)
		for deadline := time.Now().Add(5 * time.Second); fds > fdsBefore && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			fds = openFDs(t)
		}
		t.Logf("leaks: fds %d before, %d after; goroutines %d before, %d after",
			fdsBefore, fds, grBefore, runtime.NumGoroutine())
		if fds > fdsBefore {
			t.Errorf("file descriptor leak: %d open before, %d after", fdsBefore, fds)
		}
	})
}

// latencies summarises a set of durations.
type latencies []time.Duration

// Percentile returns the q-th percentile (0 < q ≤ 100, nearest rank).
func (l latencies) Percentile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q/100*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Max returns the longest duration.
func (l latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

func (l latencies) String() string {
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", len(l),
		round(l.Percentile(50)), round(l.Percentile(90)), round(l.Percentile(99)), round(l.Max()))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// heapInuse returns HeapInuse after two garbage collections.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
