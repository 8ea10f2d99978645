package middleware

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/errtrack"
	"github.com/seed94f50169/resilience/retry"
)

// TestTransportUnsendableNotRetried sends requests that can never succeed:
// to a TLS server whose certificate the client does not trust (or that is
// not for the host asked for), with a scheme or a header name that net/http
// refuses. Each gets one attempt, and neither the per-host breaker nor the
// shared one counts it as the host's failure.
func TestTransportUnsendableNotRetried(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer tlsSrv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())

	untrusted := func() http.RoundTripper { return &http.Transport{} } // system roots only
	wrongName := func() http.RoundTripper {
		return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "not-the-server.invalid"}}
	}
	plain := func() http.RoundTripper { return &http.Transport{} }

	tests := []struct {
		name  string
		base  func() http.RoundTripper
		req   func() *http.Request
		match func(error) bool
	}{
		{
			name: "unknown authority",
			base: untrusted,
			req:  func() *http.Request { r, _ := http.NewRequest("GET", tlsSrv.URL, nil); return r },
			match: func(err error) bool {
				var ua x509.UnknownAuthorityError
				var cv *tls.CertificateVerificationError
				return errors.As(err, &ua) && errors.As(err, &cv)
			},
		},
		{
			name: "hostname mismatch",
			base: wrongName,
			req:  func() *http.Request { r, _ := http.NewRequest("GET", tlsSrv.URL, nil); return r },
			match: func(err error) bool {
				var he x509.HostnameError
				return errors.As(err, &he)
			},
		},
		{
			name:  "unsupported scheme",
			base:  plain,
			req:   func() *http.Request { r, _ := http.NewRequest("GET", "ftp://files.example/x", nil); return r },
			match: func(err error) bool { return strings.Contains(err.Error(), "unsupported protocol scheme") },
		},
		{
			name: "invalid header name",
			base: plain,
			req: func() *http.Request {
				r, _ := http.NewRequest("GET", tlsSrv.URL, nil)
				r.Header["Bad Name"] = []string{"x"}
				return r
			},
			match: func(err error) bool { return strings.Contains(err.Error(), "invalid header field name") },
		},
		{
			name: "invalid method",
			base: plain,
			req: func() *http.Request {
				r, _ := http.NewRequest("GET", tlsSrv.URL, nil)
				r.Method = "BAD METHOD"
				r.Header.Set("Idempotency-Key", "k") // would be retried
				return r
			},
			match: func(err error) bool { return strings.Contains(err.Error(), "invalid method") },
		},
		{
			name: "no host",
			base: plain,
			req: func() *http.Request {
				r, _ := http.NewRequest("GET", "http:///path", nil)
				return r
			},
			match: func(err error) bool { return strings.Contains(err.Error(), "no Host") },
		},
	}
	for _, tt := range tests {
		for _, perHost := range []bool{false, true} {
			name := tt.name + "/shared breaker"
			if perHost {
				name = tt.name + "/host breaker"
			}
			t.Run(name, func(t *testing.T) {
				attempts := 0
				base := tt.base()
				defer base.(*http.Transport).CloseIdleConnections()
				counted := rtFunc(func(req *http.Request) (*http.Response, error) {
					attempts++
					return base.RoundTrip(req)
				})
				tracker := errtrack.New(errtrack.Config{})
				r := &Recovery{
					Retry:   &retry.Policy{MaxAttempts: 4, Backoff: quickRetry(4).Backoff},
					Tracker: tracker,
				}
				if perHost {
					r.HostBreaker = &breaker.Config{FailureThreshold: 10}
				} else {
					r.Breaker = breaker.New(breaker.Config{FailureThreshold: 10})
				}
				rt := r.Transport(counted)
				req := tt.req()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
					t.Fatal("RoundTrip succeeded")
				}
				if attempts != 1 {
					t.Errorf("%d attempts, want 1: the request can never succeed", attempts)
				}
				if !tt.match(err) {
					t.Errorf("err = %v (%T), want the base transport's error", err, err)
				}
				var ex *retry.ExhaustedError
				if errors.As(err, &ex) {
					t.Errorf("err = %v, a retry.ExhaustedError: the request was not retried", err)
				}
				b := r.Breaker
				if perHost {
					b = rt.Breaker(req.URL.Host)
				}
				st := b.Stats()
				if st.Failures != 0 || st.Ignored != 1 || st.State != breaker.Closed {
					t.Errorf("breaker stats %+v, want the attempt ignored and the breaker closed", st)
				}
				if tracker.Total() != 1 {
					t.Errorf("tracked %d errors, want 1", tracker.Total())
				}
			})
		}
	}
}

// TestTransportRefusedStillRetried keeps the other side of the line: a
// refused connection is the host's failure, retried and counted.
func TestTransportRefusedStillRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	b := breaker.New(breaker.Config{FailureThreshold: 10})
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	_, err := (&Recovery{Retry: quickRetry(3), Breaker: b}).Transport(base).RoundTrip(mustGet(t, url))
	var ex *retry.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 {
		t.Fatalf("err = %v, want a retry.ExhaustedError after 3 attempts", err)
	}
	if st := b.Stats(); st.Failures != 3 || st.Ignored != 0 {
		t.Errorf("breaker stats %+v, want 3 failures", st)
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
