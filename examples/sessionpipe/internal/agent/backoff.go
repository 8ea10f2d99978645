package agent

import "github.com/seed94f50169/resilience/backoff"

// newBackoff returns the control loop's schedule: error_retry_interval,
// multiplied by backoff_multiplier after each consecutive error, capped at
// max_backoff_seconds, without jitter (5, 10, 20, 40, 60, 60… s).
func newBackoff(cfg Config) *backoff.Sequence {
	return backoff.Policy{
		Initial:    cfg.ErrorRetryInterval,
		Multiplier: cfg.BackoffMultiplier,
		Max:        cfg.MaxBackoff,
		Jitter:     backoff.NoJitter,
	}.Sequence()
}
