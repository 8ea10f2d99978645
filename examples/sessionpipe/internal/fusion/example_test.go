package fusion_test

import (
	"fmt"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// A View keeps the newest (mtime, seq) per key, whatever the arrival order.
func ExampleView() {
	var v fusion.View
	v.Apply([]fusion.Event{{Key: "/a.txt", Mtime: 20, Seq: 1, Payload: "new"}})
	changed := v.Apply([]fusion.Event{
		{Key: "/a.txt", Mtime: 10, Seq: 9, Payload: "older mtime"},
		{Key: "/a.txt", Mtime: 20, Seq: 1, Payload: "duplicate"},
		{Key: "/b.txt", Mtime: 5, Seq: 1, Payload: "b"},
	})
	snap := v.Snapshot()
	fmt.Println(changed, snap["/a.txt"].Payload, snap["/b.txt"].Payload)
	// Output: 1 new b
}
