package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/seed94f50169/resilience/errtrack"
)

var sinkClass errtrack.Class

// BenchmarkErrtrackTrack measures Track of a plain error with the default
// classifier, the ring buffer already full (there is no peer library with an
// error tracker to compare against).
func BenchmarkErrtrackTrack(b *testing.B) {
	err := errors.New("upstream returned something odd")
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		t := errtrack.New(errtrack.Config{})
		for b.Loop() {
			sinkClass = t.Track(err)
		}
	})
}

func BenchmarkErrtrackTrackParallel(b *testing.B) {
	err := errors.New("upstream returned something odd")
	b.Run("resilience", func(b *testing.B) {
		b.ReportAllocs()
		t := errtrack.New(errtrack.Config{})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t.Track(err)
			}
		})
	})
}

// BenchmarkErrtrackClassify measures the default classifier on typical
// errors, from a typed match to a message read to its end.
func BenchmarkErrtrackClassify(b *testing.B) {
	cases := []struct {
		name string
		err  error
	}{
		{"context", fmt.Errorf("call: %w", context.DeadlineExceeded)},
		{"syscall", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}},
		{"message", errors.New("HTTP 503 Service Unavailable")},
		{"unknown", errors.New("upstream returned something odd")},
		{"wrapped", fmt.Errorf("fetch: %w", errors.New("upstream returned something odd"))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkClass = errtrack.Classify(c.err)
			}
		})
	}
}
