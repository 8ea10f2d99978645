package bench

import (
	_ "github.com/afex/hystrix-go/hystrix"
	_ "github.com/avast/retry-go/v4"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/eapache/go-resiliency/breaker"
	_ "github.com/eapache/go-resiliency/retrier"
	_ "github.com/failsafe-go/failsafe-go"
	_ "github.com/failsafe-go/failsafe-go/bulkhead"
	_ "github.com/failsafe-go/failsafe-go/circuitbreaker"
	_ "github.com/failsafe-go/failsafe-go/fallback"
	_ "github.com/failsafe-go/failsafe-go/retrypolicy"
	_ "github.com/failsafe-go/failsafe-go/timeout"
	_ "github.com/seed94f50169/resilience"
	_ "github.com/sethvargo/go-retry"
	_ "github.com/sony/gobreaker/v2"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/semaphore"
)
