package retry

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

const (
	defaultRatio        = 0.1
	defaultMinPerSecond = 10
	defaultMaxTokens    = 100

	unit      = 1_000_000 // micro-tokens per token: one retry
	maxRatio  = 1000      // bounds that keep micro-tokens far from overflow
	maxTokens = 1e9
	maxFloor  = 1e9
)

// BudgetConfig configures a Budget. Zero fields take their defaults.
type BudgetConfig struct {
	// Ratio is the number of retry tokens each call of Do earns: 0.1 lets
	// retries add at most 10% to the load of the calls that share the
	// budget. Zero means 0.1. The budget counts in millionths of a token,
	// so a Ratio between 0 and 1e-6 counts as 1e-6.
	Ratio float64

	// MinPerSecond is the floor: retries allowed each second whatever the
	// traffic, so that a caller with little traffic can still retry. It is a
	// token bucket of that rate whose burst is one second's worth.
	// Zero means 10.
	MinPerSecond float64

	// MaxTokens caps the tokens that calls can save up, so that a long
	// healthy run does not bank a flood of retries for the next outage; in
	// effect "recent requests" are the last MaxTokens/Ratio calls.
	// Zero means 100.
	MaxTokens float64
}

// Budget is a retry budget shared by many calls, in the spirit of gRPC
// retry throttling and Finagle's RetryBudget: over any period, the retries
// it allows are at most Ratio × the calls made, plus MaxTokens saved before
// the period, plus the MinPerSecond floor. During an outage, when every call
// fails, retries therefore add a bounded fraction to the load instead of
// multiplying it by MaxAttempts.
//
// Each call of Do deposits Ratio tokens after its first attempt; each retry
// withdraws one token, or else takes one from the floor; when neither has
// one, Do gives up with an *ExhaustedError matching ErrBudgetExhausted. A
// new Budget holds no saved tokens.
//
// A Budget is safe for concurrent use. A deposit is one atomic
// compare-and-swap, skipped when the budget is full; only a retry reads the
// clock. The zero Budget refuses every retry: create one with NewBudget.
type Budget struct {
	ratio    int64 // micro-tokens earned per call
	capacity int64 // micro-tokens
	tokens   atomic.Int64

	mu          sync.Mutex // guards the floor, a token bucket
	floorRate   float64    // tokens per second
	floorBurst  float64
	floorTokens float64
	floorLast   time.Time

	retries atomic.Uint64
	refused atomic.Uint64

	shared BudgetSharer // set by NewSharedBudget: it decides instead
}

// BudgetStats is a snapshot of a Budget.
type BudgetStats struct {
	Tokens  float64 // tokens saved now, floor excluded
	Retries uint64  // retries allowed since NewBudget
	Refused uint64  // retries refused since NewBudget
}

// NewBudget returns a Budget for cfg. It panics with a message naming the
// field if a field is negative, NaN or infinite; finite values too large to
// mean anything (Ratio above 1000, MaxTokens or MinPerSecond above 1e9) are
// clamped.
func NewBudget(cfg BudgetConfig) *Budget {
	check := func(name string, v float64) float64 {
		if !(v >= 0) || math.IsInf(v, 1) {
			panic(fmt.Sprintf("retry: BudgetConfig.%s must be a finite number ≥ 0, got %v", name, v))
		}
		return v
	}
	ratio := check("Ratio", cfg.Ratio)
	if ratio == 0 {
		ratio = defaultRatio
	}
	floor := check("MinPerSecond", cfg.MinPerSecond)
	if floor == 0 {
		floor = defaultMinPerSecond
	}
	capacity := check("MaxTokens", cfg.MaxTokens)
	if capacity == 0 {
		capacity = defaultMaxTokens
	}
	ratio, floor, capacity = min(ratio, maxRatio), min(floor, maxFloor), min(capacity, maxTokens)
	burst := math.Ceil(floor)
	return &Budget{
		ratio:       max(int64(ratio*unit), 1),
		capacity:    int64(capacity * unit),
		floorRate:   floor,
		floorBurst:  burst,
		floorTokens: burst,
		floorLast:   time.Now(),
	}
}

// deposit credits the budget for one call.
func (b *Budget) deposit() {
	if b.shared != nil {
		b.shared.Request()
		return
	}
	for {
		t := b.tokens.Load()
		if t >= b.capacity {
			return
		}
		if b.tokens.CompareAndSwap(t, min(t+b.ratio, b.capacity)) {
			return
		}
	}
}

// withdraw reports whether one retry may go ahead, spending its token.
func (b *Budget) withdraw() bool {
	if b.shared != nil {
		return b.sharedRetry()
	}
	for t := b.tokens.Load(); t >= unit; t = b.tokens.Load() {
		if b.tokens.CompareAndSwap(t, t-unit) {
			b.retries.Add(1)
			return true
		}
	}
	if b.takeFloor(time.Now()) {
		b.retries.Add(1)
		return true
	}
	b.refused.Add(1)
	return false
}

// Deposit credits the budget for one call, as Do does after a call's
// first attempt. It is for other callers that spend the budget, such as
// hedged requests (package hedge), which deposit once per call.
func (b *Budget) Deposit() { b.deposit() }

// Withdraw reports whether one more attempt may be sent, spending its
// token, as Do does before each retry. It is for other callers that spend
// the budget, such as hedged requests; BudgetStats counts what it allows
// as Retries and what it refuses as Refused.
func (b *Budget) Withdraw() bool { return b.withdraw() }

// takeFloor takes one token from the floor's bucket, refilled at floorRate
// up to floorBurst, if it has one.
func (b *Budget) takeFloor(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.floorLast); elapsed > 0 {
		b.floorTokens = min(b.floorBurst, b.floorTokens+elapsed.Seconds()*b.floorRate)
		b.floorLast = now
	}
	if b.floorTokens < 1 {
		return false
	}
	b.floorTokens--
	return true
}

// Stats returns a snapshot of the budget's counters.
func (b *Budget) Stats() BudgetStats {
	return BudgetStats{
		Tokens:  float64(b.tokens.Load()) / unit,
		Retries: b.retries.Load(),
		Refused: b.refused.Load(),
	}
}
