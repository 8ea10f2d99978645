package retry

// BudgetSharer decides for a Budget made by NewSharedBudget, typically by
// counting calls and retries with other replicas of a service (the budget
// of contrib/redis does, through Redis), so that the retries of the whole
// fleet, not of each replica, stay within a ratio of its calls. Both methods
// run on the path of a call of Do: they must be cheap and safe for
// concurrent use, and must never block on the network.
type BudgetSharer interface {
	// Request counts one call of Do, after its first attempt.
	Request()

	// Retry reports whether one retry may go ahead, and counts it if so.
	Retry() bool
}

// NewSharedBudget returns a Budget that leaves every decision to s: each
// call of Do calls s.Request, and each retry asks s.Retry. Its Stats count
// the retries s allowed and refused; Stats.Tokens is 0 (s keeps the
// account). It panics with "retry: NewSharedBudget needs a BudgetSharer"
// if s is nil.
func NewSharedBudget(s BudgetSharer) *Budget {
	if s == nil {
		panic("retry: NewSharedBudget needs a BudgetSharer")
	}
	return &Budget{shared: s}
}

func (b *Budget) sharedRetry() bool {
	if b.shared.Retry() {
		b.retries.Add(1)
		return true
	}
	b.refused.Add(1)
	return false
}
