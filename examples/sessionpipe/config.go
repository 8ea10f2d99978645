package main

import (
	"github.com/seed94f50169/resilience/config"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
)

// agentConfig returns base with the settings of an agent pipe file (read
// with config.LoadPipeFile), checked by agent.Config's own Validate. The
// pipe's unset keys take the Fustor guide's defaults. session_timeout_seconds
// and sentinel_interval_sec are checked by the config package but not used
// here: fusion decides when sessions expire, and this agent runs no
// sentinel.
func agentConfig(p *config.Pipe, base agent.Config) (agent.Config, error) {
	e := p.Effective()
	c := base
	c.PipeID = e.ID
	c.HeartbeatInterval = e.HeartbeatInterval.Std()
	c.AuditInterval = e.AuditInterval.Std()
	c.ErrorRetryInterval = e.ErrorRetryInterval.Std()
	c.BackoffMultiplier = e.BackoffMultiplier
	c.MaxBackoff = e.MaxBackoff.Std()
	c.MaxConsecutiveErrors = e.MaxConsecutiveErrors
	return c, c.Validate()
}
