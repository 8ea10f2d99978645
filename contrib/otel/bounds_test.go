package resotel_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/seed94f50169/resilience/bulkhead"
	resotel "github.com/seed94f50169/resilience/contrib/otel"
	"github.com/seed94f50169/resilience/middleware"
)

type classErr string

func (e classErr) Error() string      { return string(e) }
func (e classErr) ErrorClass() string { return string(e) }

// TestCardinalityBounded: a thousand distinct error classes and hosts end
// up in a bounded number of series, with "other" for the rest, and hosts
// appear only when asked for.
func TestCardinalityBounded(t *testing.T) {
	for _, hosts := range []bool{false, true} {
		g := newRig(t, resotel.Config{Hosts: hosts})
		for i := range 1000 {
			g.o.Observe(middleware.Event{Kind: middleware.EventReject, Err: classErr("c" + strconv.Itoa(i)), Host: "h" + strconv.Itoa(i)})
		}
		series, other := 0, false
		for k := range g.values(t) {
			if !strings.HasPrefix(k, "resilience.rejections{") {
				continue
			}
			series++
			other = other || strings.Contains(k, "class=other")
			if strings.Contains(k, resotel.KeyHost) != hosts {
				t.Errorf("hosts %v: series %s", hosts, k)
			}
		}
		if series > resotel.MaxClasses+resotel.MaxHosts+2 || !other {
			t.Errorf("hosts %v: %d series (other %v), want at most %d and an other", hosts, series, other, resotel.MaxClasses+resotel.MaxHosts+2)
		}
	}
}

// TestHandlerOutcomes: a request served, one that panicked and one shed
// by a full bulkhead are counted by outcome; through the hooks, only the
// panic and the shed request are.
func TestHandlerOutcomes(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(map[bool]string{false: "hooks", true: "observer"}[observed], func(t *testing.T) {
			handlerOutcomes(t, observed)
		})
	}
}

func handlerOutcomes(t *testing.T, observed bool) {
	g := newRig(t, resotel.Config{Name: "api", Durations: observed})
	r := &middleware.Recovery{
		Bulkhead: bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: bulkhead.NoQueue}),
		Hooks:    middleware.Hooks{OnPanic: func(middleware.Event) {}},
	}
	if err := g.o.Instrument(r); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	h = r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/panic":
			panic("boom")
		case "/nested":
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("nested request: %d, want 503", rec.Code)
			}
		}
	}))
	for _, path := range []string{"/", "/panic", "/nested"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	got := g.values(t)
	success := 0.0 // the hooks see no successful request
	if observed {
		success = 2
	}
	for k, want := range map[string]float64{
		"resilience.handler.requests{outcome=success}": success,
		"resilience.handler.requests{outcome=panic}":   1,
		"resilience.handler.requests{outcome=shed}":    1,
		"resilience.rejections{class=bulkhead_full}":   1,
		"resilience.bulkhead.in_flight{}":              0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}
