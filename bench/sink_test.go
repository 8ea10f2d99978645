package bench

// Package-level sinks keep the compiler from optimising benchmarked calls away.
var (
	sinkInt int
	sinkErr error
)
