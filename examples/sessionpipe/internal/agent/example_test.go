package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/agent"
	"github.com/seed94f50169/resilience/examples/sessionpipe/internal/fusion"
)

// handlerTransport delivers requests to a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func Example() {
	srv := fusion.New(fusion.Config{})
	defer srv.Close()
	a, err := agent.New(agent.Config{
		Fusion:    "http://fusion.invalid",
		PipeID:    "my-pipe",
		AgentID:   "a1",
		Transport: handlerTransport{srv},
	})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	for i, key := range []string{"/a.txt", "/b.txt", "/a.txt"} {
		a.Submit(ctx, fusion.Event{Key: key, Mtime: 1732270000, Seq: int64(i), Payload: fmt.Sprint("v", i)})
	}
	a.Flush(ctx) // every event acknowledged
	stop()
	<-done

	st := a.Status()
	fmt.Println(st.State, st.Role, st.Submitted, st.Acked, st.Spooled)
	fmt.Println(srv.View("my-pipe")["/a.txt"].Payload)
	// Output:
	// stopped leader 3 3 0
	// v2
}
