package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed94f50169/resilience/middleware"
)

// A service answers to the nearer of its own Timeout and the budget its
// caller sent; a budget already spent gets 504 without running the handler.
func ExampleFormatTimeout() {
	fmt.Println(middleware.FormatTimeout(250 * time.Millisecond))
	fmt.Println(middleware.FormatTimeout(90 * time.Second))
	d, ok := middleware.ParseTimeout("250m")
	fmt.Println(d, ok)

	server := &middleware.Recovery{Timeout: time.Second}
	h := server.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "served\n")
	}))
	for _, budget := range []string{"250m", "0m"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(middleware.DefaultDeadlineHeader, budget)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Print(budget, ": ", w.Code, " ", w.Body.String())
	}
	// Output:
	// 250000u
	// 90000000u
	// 250ms true
	// 250m: 200 served
	// 0m: 504 Gateway Timeout
}
