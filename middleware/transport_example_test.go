package middleware_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/seed94f50169/resilience/breaker"
	"github.com/seed94f50169/resilience/middleware"
)

func ExampleTransport_Breaker() {
	backend := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		io.WriteString(rec, "ok")
		return rec.Result(), nil
	})
	r := &middleware.Recovery{HostBreaker: &breaker.Config{}}
	tr := r.Transport(backend)
	client := &http.Client{Transport: tr}

	// Take one host out of rotation by hand, then put it back.
	tr.Breaker("api.example").ForceOpen()
	_, err := client.Get("http://api.example/")
	fmt.Println("forced open:", errors.Is(err, breaker.ErrOpen))

	tr.Breaker("api.example").Reset()
	resp, err := client.Get("http://api.example/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	for host, b := range tr.Breakers() {
		st := b.Stats()
		fmt.Println(host, st.State, "successes:", st.Successes, "rejected:", st.Rejected)
	}
	// Output:
	// forced open: true
	// api.example closed successes: 1 rejected: 1
}
