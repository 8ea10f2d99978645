package resprom_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seed94f50169/resilience/bulkhead"
	resprom "github.com/seed94f50169/resilience/contrib/prometheus"
)

// TestBulkheadQueueWait: a caller that times out in the queue after 80ms
// and one that gets the slot after 20ms are recorded with their waits; one
// that got a slot at once is not.
func TestBulkheadQueueWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := resprom.New(resprom.Config{Name: "q"})
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1, QueueTimeout: 80 * time.Millisecond,
			Observers: []bulkhead.Observer{c.Bulkhead()}})
		ctx := context.Background()
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(100 * time.Millisecond)
			b.Release()
		}()
		if err := b.Acquire(ctx); !errors.Is(err, bulkhead.ErrQueueTimeout) {
			t.Fatalf("second Acquire: %v, want ErrQueueTimeout", err)
		}
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		b.Release()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		var sums, counts []string
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "resilience_bulkhead_queue_wait_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				sums = append(sums, time.Duration(h.GetSampleSum()*float64(time.Second)).Round(time.Microsecond).String())
				counts = append(counts, fmt.Sprint(h.GetSampleCount()))
			}
		}
		if got, want := strings.Join(sums, " "), "20ms 80ms"; got != want {
			t.Errorf("waits (acquired, rejected) = %s, want %s", got, want)
		}
		if got, want := strings.Join(counts, " "), "1 1"; got != want {
			t.Errorf("counts = %s, want %s", got, want)
		}
		if n, _ := testutil.GatherAndCount(reg, "resilience_limit_queue_wait_seconds"); n != 0 {
			t.Errorf("limit queue wait exported with no Limit observer: %d series", n)
		}
	})
}
