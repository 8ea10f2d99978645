package main

import (
	"net/http"
	"time"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// clientStack is one agent's HTTP stack.
type clientStack struct {
	transport    http.RoundTripper
	breakerState func() string
	base         *http.Transport // closed by close
}

// close drops the stack's idle connections.
func (c clientStack) close() { c.base.CloseIdleConnections() }

// newClientStack builds the transport an agent's requests go through.
// TEMPORARY: a plain transport until the middleware package lands.
func newClientStack(scale float64, onBreaker func(from, to string)) clientStack {
	_ = time.Second
	base := http.DefaultTransport.(*http.Transport).Clone()
	return clientStack{transport: base, base: base}
}

// serverStack wraps fusion for serving.
// TEMPORARY: unwrapped until the middleware package lands.
func serverStack(srv *fusion.Server, scale float64) http.Handler { return srv }
