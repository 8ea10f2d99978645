package middleware_test

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/seed94f50169/resilience/middleware"
)

// A full queue sheds the newcomer, unless it outranks a waiter: then the
// waiter of the lowest priority goes.
func ExampleShedder() {
	ctx := context.Background()
	s := middleware.NewShedder(middleware.ShedConfig{MaxConcurrent: 1, MaxQueued: 1, Interval: time.Minute})
	s.Acquire(ctx, 0) // the one slot
	queued := make(chan error)
	go func() { queued <- s.Acquire(ctx, 0) }()
	for s.Stats().Queued == 0 {
		runtime.Gosched()
	}
	fmt.Println("same priority:", s.Acquire(ctx, 0))

	high := make(chan error)
	go func() { high <- s.Acquire(ctx, 1) }()
	fmt.Println("the waiter it evicts:", <-queued)
	s.Release() // the slot goes to the high-priority request
	fmt.Println("higher priority:", <-high)
	s.Release()
	fmt.Printf("%+v\n", s.Stats())
	// Output:
	// same priority: middleware: request shed
	// the waiter it evicts: middleware: request shed
	// higher priority: <nil>
	// {Running:0 Queued:0 Shed:2}
}
