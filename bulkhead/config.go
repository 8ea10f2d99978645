package bulkhead

import (
	"fmt"
	"math"
	"time"
)

// NoQueue, as Config.MaxQueued, turns the queue off: when every slot is
// taken, Acquire fails at once with ErrFull.
const NoQueue = -1

// NoQueueTimeout, as Config.QueueTimeout, lets a queued caller wait for a
// slot until its own context ends.
const NoQueueTimeout time.Duration = -1

// MaxLimit is the largest accepted MaxConcurrent and MaxQueued.
const MaxLimit = math.MaxInt32

// The defaults of the Config fields.
const (
	DefaultMaxConcurrent = 10
	DefaultMaxQueued     = 100
	DefaultQueueTimeout  = 5 * time.Second
)

// Config configures a Bulkhead. A zero field takes its default; the zero
// Config gives 10 slots, a queue of 100 and a 5s queue timeout.
type Config struct {
	// MaxConcurrent is how many callers may hold a slot at once.
	// Default DefaultMaxConcurrent (10). Must be in [0, MaxLimit].
	MaxConcurrent int

	// MaxQueued is how many callers may wait for a slot when all are taken;
	// one more is rejected with ErrFull. Default DefaultMaxQueued (100).
	// NoQueue means no queue: reject as soon as all slots are taken. Must
	// be NoQueue or in [0, MaxLimit].
	MaxQueued int

	// QueueTimeout is how long a caller waits in the queue before it gives
	// up with ErrQueueTimeout. Default DefaultQueueTimeout (5s).
	// NoQueueTimeout means no limit: only the caller's context ends the
	// wait. Must be NoQueueTimeout or not negative. It is also the
	// RetryAfter hint of rejections (see ErrFull).
	QueueTimeout time.Duration

	// Observers, if any, receive every acquisition and rejection (see
	// Observer). Default none: the bulkhead then builds no events and
	// reads no clock for them.
	Observers []Observer
}

// Validate reports the first invalid field of c, naming it.
func (c Config) Validate() error {
	switch {
	case c.MaxConcurrent < 0 || c.MaxConcurrent > MaxLimit:
		return fmt.Errorf("bulkhead: MaxConcurrent must be in [0, %d], got %d", MaxLimit, c.MaxConcurrent)
	case c.MaxQueued != NoQueue && (c.MaxQueued < 0 || c.MaxQueued > MaxLimit):
		return fmt.Errorf("bulkhead: MaxQueued must be NoQueue (-1) or in [0, %d], got %d", MaxLimit, c.MaxQueued)
	case c.QueueTimeout < 0 && c.QueueTimeout != NoQueueTimeout:
		return fmt.Errorf("bulkhead: QueueTimeout must be NoQueueTimeout (-1ns) or not negative, got %v", c.QueueTimeout)
	}
	return nil
}
