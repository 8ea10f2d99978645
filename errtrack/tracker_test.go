package errtrack_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
)

func TestTrackCounts(t *testing.T) {
	tr := errtrack.New(errtrack.Config{})
	errs := []struct {
		err  error
		want errtrack.Class
	}{
		{errors.New("read timeout"), errtrack.Timeout},
		{errors.New("Connection reset"), errtrack.Connection},
		{context.DeadlineExceeded, errtrack.Timeout},
		{nil, ""},
		{errors.New("boom"), errtrack.Unknown},
	}
	for _, e := range errs {
		if got := tr.Track(e.err); got != e.want {
			t.Errorf("Track(%v) = %q, want %q", e.err, got, e.want)
		}
	}
	if got := tr.Total(); got != 4 {
		t.Errorf("Total = %d, want 4 (nil is ignored)", got)
	}
	want := map[errtrack.Class]uint64{errtrack.Timeout: 2, errtrack.Connection: 1, errtrack.Unknown: 1}
	got := tr.ByClass()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ByClass = %v, want %v", got, want)
	}
	got[errtrack.Timeout] = 100 // a copy: the tracker must not change
	if tr.ByClass()[errtrack.Timeout] != 2 {
		t.Error("ByClass returned the tracker's own map")
	}
	s := tr.Stats()
	if s.Total != 4 || s.Buffered != 4 || fmt.Sprint(s.ByClass) != fmt.Sprint(want) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestRecentRing(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		track int
		want  []int // indices of the errors expected in Recent, oldest first
	}{
		{"empty", 3, 0, nil},
		{"partly filled", 3, 2, []int{0, 1}},
		{"exactly full", 3, 3, []int{0, 1, 2}},
		{"wrapped once", 3, 5, []int{2, 3, 4}},
		{"wrapped many times", 3, 10, []int{7, 8, 9}},
		{"size 1", 1, 4, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := errtrack.New(errtrack.Config{Size: tt.size})
				errs := make([]error, tt.track)
				start := time.Now()
				for i := range errs {
					errs[i] = fmt.Errorf("err %d", i)
					tr.Track(errs[i])
					time.Sleep(time.Second)
				}
				recent := tr.Recent()
				if len(recent) != len(tt.want) {
					t.Fatalf("len(Recent) = %d, want %d", len(recent), len(tt.want))
				}
				for i, idx := range tt.want {
					r := recent[i]
					if r.Err != errs[idx] || r.Class != errtrack.Unknown || !r.Time.Equal(start.Add(time.Duration(idx)*time.Second)) {
						t.Errorf("Recent[%d] = %+v, want error %d", i, r, idx)
					}
				}
				if len(recent) > 0 {
					recent[0].Err = nil // a copy
					if tr.Recent()[0].Err == nil {
						t.Error("Recent returned the tracker's own buffer")
					}
				}
				if got := tr.Total(); got != uint64(tt.track) {
					t.Errorf("Total = %d, want %d", got, tt.track)
				}
			})
		})
	}
}

func TestDefaultSize(t *testing.T) {
	var tr errtrack.Tracker // the zero Tracker is usable
	for i := range errtrack.DefaultSize + 5 {
		tr.Track(fmt.Errorf("e%d", i))
	}
	recent := tr.Recent()
	if len(recent) != errtrack.DefaultSize || recent[0].Err.Error() != "e5" {
		t.Fatalf("len(Recent) = %d, first %v; want %d starting at e5", len(recent), recent[0].Err, errtrack.DefaultSize)
	}
}

func TestHugeSizeIsBounded(t *testing.T) {
	tr := errtrack.New(errtrack.Config{Size: 1 << 62})
	for range 10 {
		tr.Track(errors.New("x"))
	}
	if s := tr.Stats(); s.Buffered != 10 {
		t.Fatalf("Buffered = %d, want 10", s.Buffered)
	}
}

func TestSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := errtrack.New(errtrack.Config{Size: 5})
		tr.Track(errors.New("timeout")) // t=0
		time.Sleep(30 * time.Second)
		tr.Track(errors.New("reset")) // t=30s
		time.Sleep(20 * time.Second)
		tr.Track(errors.New("timeout")) // t=50s
		tr.Track(errors.New("429"))     // t=50s
		time.Sleep(10 * time.Second)    // now t=60s

		tests := []struct {
			d    time.Duration
			want map[errtrack.Class]uint64
		}{
			{time.Minute, map[errtrack.Class]uint64{errtrack.Connection: 1, errtrack.Timeout: 1, errtrack.RateLimit: 1}},
			{time.Minute + 1, map[errtrack.Class]uint64{errtrack.Connection: 1, errtrack.Timeout: 2, errtrack.RateLimit: 1}},
			{10 * time.Second, map[errtrack.Class]uint64{}},
			{10*time.Second + 1, map[errtrack.Class]uint64{errtrack.Timeout: 1, errtrack.RateLimit: 1}},
			{0, map[errtrack.Class]uint64{}},
			{-time.Hour, map[errtrack.Class]uint64{}},
			{time.Duration(1<<63 - 1), map[errtrack.Class]uint64{errtrack.Connection: 1, errtrack.Timeout: 2, errtrack.RateLimit: 1}},
		}
		for _, tt := range tests {
			if got := tr.Since(tt.d); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Since(%v) = %v, want %v", tt.d, got, tt.want)
			}
		}

		// Only the ring is counted: 6 more errors push the old ones out.
		for range 6 {
			tr.Track(errors.New("unavailable"))
		}
		if got := tr.Since(time.Hour); fmt.Sprint(got) != fmt.Sprint(map[errtrack.Class]uint64{errtrack.Unavailable: 5}) {
			t.Errorf("Since after wrap = %v", got)
		}
	})
}

func TestReset(t *testing.T) {
	tr := errtrack.New(errtrack.Config{Size: 2})
	for range 3 {
		tr.Track(errors.New("timeout"))
	}
	tr.Reset()
	if s := tr.Stats(); s.Total != 0 || s.Buffered != 0 || len(s.ByClass) != 0 || len(tr.Recent()) != 0 {
		t.Fatalf("after Reset: %+v, %v", s, tr.Recent())
	}
	tr.Track(errors.New("a"))
	tr.Track(errors.New("b"))
	tr.Track(errors.New("c"))
	if r := tr.Recent(); len(r) != 2 || r[0].Err.Error() != "b" || r[1].Err.Error() != "c" {
		t.Fatalf("Recent after Reset = %v", r)
	}
}

func TestCustomClassifier(t *testing.T) {
	errQuota := errors.New("quota")
	tr := errtrack.New(errtrack.Config{Classify: func(err error) errtrack.Class {
		if errors.Is(err, errQuota) {
			return "quota"
		}
		return "" // the default decides
	}})
	if got := tr.Track(fmt.Errorf("x: %w", errQuota)); got != "quota" {
		t.Errorf("Track(quota) = %q", got)
	}
	if got := tr.Track(context.Canceled); got != errtrack.Canceled {
		t.Errorf("Track(canceled) = %q, want the default's answer", got)
	}
}

func TestClassesAreBounded(t *testing.T) {
	tr := errtrack.New(errtrack.Config{Size: 10, Classify: func(err error) errtrack.Class {
		return errtrack.Class(err.Error())
	}})
	for i := range 200 {
		want := errtrack.Class(fmt.Sprint("c", i))
		if i >= errtrack.MaxClasses-1 {
			want = errtrack.Other
		}
		if got := tr.Track(fmt.Errorf("c%d", i)); got != want {
			t.Fatalf("Track(c%d) = %q, want %q", i, got, want)
		}
	}
	// Classes already known keep being counted under their own name.
	if got := tr.Track(errors.New("c3")); got != "c3" {
		t.Errorf("Track(c3) = %q", got)
	}
	by := tr.ByClass()
	if len(by) != errtrack.MaxClasses {
		t.Errorf("len(ByClass) = %d, want %d", len(by), errtrack.MaxClasses)
	}
	if by[errtrack.Other] != 200-(errtrack.MaxClasses-1) || by["c3"] != 2 {
		t.Errorf("other = %d, c3 = %d", by[errtrack.Other], by["c3"])
	}
	for _, r := range tr.Recent()[:9] {
		if r.Class != errtrack.Other {
			t.Errorf("record %v has class %q, want other", r.Err, r.Class)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (errtrack.Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	err := (errtrack.Config{Size: -1}).Validate()
	if err == nil || !strings.Contains(err.Error(), "errtrack: Size") {
		t.Fatalf("Validate = %v, want an error naming Size", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "errtrack: Size") {
			t.Fatalf("New panicked with %v", r)
		}
	}()
	errtrack.New(errtrack.Config{Size: -1})
}

func TestConcurrentTrack(t *testing.T) {
	const goroutines, each, size = 8, 1000, 100
	tr := errtrack.New(errtrack.Config{Size: size})
	classes := []error{errors.New("timeout"), errors.New("reset"), errors.New("boom"), context.Canceled}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				tr.Track(classes[(g+i)%len(classes)])
				if i%100 == 0 {
					_ = tr.Recent()
					_ = tr.Since(time.Minute)
				}
			}
		})
	}
	wg.Wait()
	s := tr.Stats()
	if s.Total != goroutines*each || s.Buffered != size {
		t.Fatalf("Stats = %+v", s)
	}
	var sum uint64
	for c, n := range s.ByClass {
		sum += n
		if n != uint64(goroutines*each/len(classes)) {
			t.Errorf("class %q counted %d, want %d", c, n, goroutines*each/len(classes))
		}
	}
	if sum != s.Total {
		t.Errorf("sum of ByClass %d != Total %d", sum, s.Total)
	}
	recent := tr.Recent()
	for i := 1; i < len(recent); i++ {
		if recent[i].Time.Before(recent[i-1].Time) {
			t.Fatalf("Recent is not in time order at %d: %v before %v", i, recent[i].Time, recent[i-1].Time)
		}
	}
}

func TestTrackDoesNotAllocate(t *testing.T) {
	tr := errtrack.New(errtrack.Config{Size: 16})
	err := errors.New("connection reset by peer")
	for range 16 {
		tr.Track(err) // grow the ring to its size
	}
	if n := testing.AllocsPerRun(1000, func() { tr.Track(err) }); n != 0 {
		t.Fatalf("allocs = %v, want 0", n)
	}
}

// TestResetConcurrent resets a tracker while others track into it and checks
// that every snapshot still agrees with itself.
func TestResetConcurrent(t *testing.T) {
	const size, resets = 50, 500
	tr := errtrack.New(errtrack.Config{Size: size})
	errs := []error{errors.New("timeout"), errors.New("reset"), errors.New("boom")}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tr.Track(errs[(g+i)%len(errs)])
			}
		})
	}
	for range resets {
		s := tr.Stats()
		var sum uint64
		for _, n := range s.ByClass {
			sum += n
		}
		if sum != s.Total || s.Buffered > size || uint64(s.Buffered) > s.Total {
			t.Fatalf("Stats = %+v: ByClass sums to %d", s, sum)
		}
		recent := tr.Recent()
		for i := 1; i < len(recent); i++ {
			if recent[i].Time.Before(recent[i-1].Time) {
				t.Fatalf("Recent is not in time order at %d", i)
			}
		}
		tr.Reset()
	}
	close(stop)
	wg.Wait()
	tr.Track(errs[0])
	tr.Reset()
	tr.Track(errs[0]) // the class Track counted last, before Reset
	if s := tr.Stats(); s.Total != 1 || s.Buffered != 1 || s.ByClass[errtrack.Timeout] != 1 || len(s.ByClass) != 1 {
		t.Fatalf("after the last Reset and one Track: %+v", s)
	}
}
