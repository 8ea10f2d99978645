package errtrack_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
)

func TestObserversSeeEveryTrackedClass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b []errtrack.Event
		var tr *errtrack.Tracker
		tr = errtrack.New(errtrack.Config{Observers: []errtrack.Observer{
			errtrack.ObserverFunc(func(e errtrack.Event) { a = append(a, e) }),
			errtrack.ObserverFunc(func(e errtrack.Event) {
				b = append(b, e)
				_ = tr.Total() // the lock is free
			}),
		}})
		start := time.Now()
		tr.Track(context.DeadlineExceeded)
		time.Sleep(time.Second)
		boom := errors.New("connection refused")
		tr.Track(boom)
		tr.Track(nil)
		want := []errtrack.Event{
			{Kind: errtrack.EventTrack, Class: errtrack.Timeout, Err: context.DeadlineExceeded, Time: start},
			{Kind: errtrack.EventTrack, Class: errtrack.Connection, Err: boom, Time: start.Add(time.Second)},
		}
		for _, got := range [][]errtrack.Event{a, b} {
			if len(got) != len(want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			for i := range got {
				if got[i].Kind != want[i].Kind || got[i].Class != want[i].Class || got[i].Err != want[i].Err || !got[i].Time.Equal(want[i].Time) {
					t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		}
	})
}
