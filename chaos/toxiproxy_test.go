package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// faultProxy is one Toxiproxy proxy run in-process on 127.0.0.1: a TCP relay
// to an upstream address whose traffic can be poisoned with toxics.
type faultProxy struct {
	t     testing.TB
	proxy *toxiproxy.Proxy
}

// startProxy starts a proxy listening on a free loopback port and relaying to
// upstream. It is stopped when the test ends.
func startProxy(t testing.TB, upstream string) *faultProxy {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, t.Name(), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start toxiproxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return &faultProxy{t: t, proxy: p}
}

// Addr is the proxy's listening address (host:port).
func (f *faultProxy) Addr() string { return f.proxy.Listen }

// URL is the proxy's address as an http URL.
func (f *faultProxy) URL() string { return "http://" + f.proxy.Listen }

// Add adds a toxic of the given type to a stream ("upstream" or
// "downstream"), named typ_stream. Attributes are Toxiproxy's, in ms or KB/s.
func (f *faultProxy) Add(typ, stream string, attrs map[string]any) {
	f.t.Helper()
	body, err := json.Marshal(map[string]any{
		"type": typ, "stream": stream, "toxicity": 1.0, "attributes": attrs,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.proxy.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		f.t.Fatalf("add toxic %s/%s: %v", typ, stream, err)
	}
}

// Clear removes every toxic.
func (f *faultProxy) Clear() { f.proxy.Toxics.ResetToxics(context.Background()) }

// Down stops the proxy: its port refuses connections and every relayed
// connection is closed.
func (f *faultProxy) Down() { f.proxy.Stop() }

// Up starts the proxy again on the same port.
func (f *faultProxy) Up() {
	f.t.Helper()
	if err := f.proxy.Start(); err != nil {
		f.t.Fatalf("restart toxiproxy: %v", err)
	}
}
