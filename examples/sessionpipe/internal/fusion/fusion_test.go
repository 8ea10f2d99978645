package fusion

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// call sends one request straight to h and decodes the JSON answer.
func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return rec.Code, out
}

func create(t *testing.T, h http.Handler, pipe, agent string) (id string, role Role) {
	t.Helper()
	code, out := call(t, h, "POST", "/api/v1/pipe/sessions/", fmt.Sprintf(`{"pipe_id":%q,"agent_id":%q}`, pipe, agent))
	if code != http.StatusCreated {
		t.Fatalf("create: status %d %v", code, out)
	}
	return out["session_id"].(string), Role(out["role"].(string))
}

func heartbeat(t *testing.T, h http.Handler, id string) (int, Role) {
	t.Helper()
	code, out := call(t, h, "POST", "/api/v1/pipe/sessions/"+id+"/heartbeat", "")
	r, _ := out["role"].(string)
	return code, Role(r)
}

func TestCreateAnswersRoleAndTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{})
		defer s.Close()
		code, out := call(t, s, "POST", "/api/v1/pipe/sessions/", `{"pipe_id":"p","agent_id":"a1"}`)
		if code != http.StatusCreated || out["role"] != "leader" {
			t.Fatalf("first session: %d %v, want 201 leader", code, out)
		}
		if out["heartbeat_interval_seconds"] != 10.0 || out["session_timeout_seconds"] != 30.0 {
			t.Errorf("timing = %v/%v, want 10/30", out["heartbeat_interval_seconds"], out["session_timeout_seconds"])
		}
		if _, role := create(t, s, "p", "a2"); role != Follower {
			t.Errorf("second session of the pipe: %s, want follower", role)
		}
		if _, role := create(t, s, "other", "a3"); role != Leader {
			t.Errorf("first session of another pipe: %s, want leader", role)
		}
	})
}

func TestLeaderExpiryPromotesFollowerOnHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var kinds []string
		s := New(Config{OnSession: func(ev SessionEvent) {
			mu.Lock()
			kinds = append(kinds, string(ev.Kind)+":"+ev.AgentID)
			mu.Unlock()
		}})
		defer s.Close()
		leader, _ := create(t, s, "p", "a1")
		follower, _ := create(t, s, "p", "a2")
		// The follower heartbeats every 10s; the leader goes silent.
		for range 2 {
			time.Sleep(10 * time.Second)
			if code, role := heartbeat(t, s, follower); code != 200 || role != Follower {
				t.Fatalf("follower heartbeat while leader alive: %d %s", code, role)
			}
		}
		time.Sleep(10*time.Second + time.Millisecond) // leader idle 30s+1ms
		if code, role := heartbeat(t, s, follower); code != 200 || role != Leader {
			t.Fatalf("follower heartbeat after leader expiry: %d %s, want 200 leader", code, role)
		}
		if code, _ := heartbeat(t, s, leader); code != http.StatusGone {
			t.Fatalf("expired leader heartbeat: %d, want 410", code)
		}
		mu.Lock()
		defer mu.Unlock()
		want := "created:a1 created:a2 expired:a1 promoted:a2"
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

func TestSweeperExpiresIdleSessionsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		expired := make(chan SessionEvent, 1)
		s := New(Config{SessionTimeout: 30 * time.Second, OnSession: func(ev SessionEvent) {
			if ev.Kind == SessionExpired {
				expired <- ev
			}
		}})
		create(t, s, "p", "a1")
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := len(s.Sessions("p")); n != 1 {
			t.Fatalf("after exactly 30s idle: %d sessions, want 1 (idle must exceed the timeout)", n)
		}
		time.Sleep(7500 * time.Millisecond) // next sweep
		synctest.Wait()
		if n := len(s.Sessions("")); n != 0 {
			t.Fatalf("after 37.5s idle: %d sessions, want 0", n)
		}
		if ev := <-expired; ev.AgentID != "a1" || ev.Role != Leader {
			t.Errorf("expired event %+v", ev)
		}
		s.Close()
		s.Close() // idempotent; the bubble fails if the sweeper were still running
	})
}

func TestExactlyOneLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{SessionTimeout: 3 * time.Second})
		defer s.Close()
		r := rand.New(rand.NewPCG(1, 2))
		ids := map[string]bool{}
		for step := range 2000 {
			switch op := r.IntN(10); {
			case op == 0:
				id, _ := create(t, s, "p", fmt.Sprint("a", step))
				ids[id] = true
			case op == 1:
				s.Restart()
			case op < 5:
				time.Sleep(time.Duration(r.IntN(1500)) * time.Millisecond)
			default:
				for id := range ids {
					if code, _ := heartbeat(t, s, id); code == http.StatusGone {
						delete(ids, id)
					}
					break
				}
			}
			leaders := 0
			for _, si := range s.Sessions("p") {
				if si.Role == Leader {
					leaders++
				}
			}
			if leaders > 1 {
				t.Fatalf("step %d: %d leaders", step, leaders)
			}
		}
	})
}

func TestRestartMakesSessionsObsolete(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	id, _ := create(t, s, "p", "a1")
	call(t, s, "POST", "/api/v1/pipe/sessions/"+id+"/events", `{"events":[{"key":"/a","mtime":1,"seq":1,"payload":"x"}]}`)
	if n := s.Restart(); n != 1 {
		t.Fatalf("Restart dropped %d sessions, want 1", n)
	}
	for _, path := range []string{"/heartbeat", "/events"} {
		code, out := call(t, s, "POST", "/api/v1/pipe/sessions/"+id+path, `{"events":[]}`)
		if code != http.StatusGone || out["error"] != "session obsolete" {
			t.Errorf("%s after restart: %d %v, want 410 session obsolete", path, code, out)
		}
	}
	if _, role := create(t, s, "p", "a1"); role != Leader {
		t.Errorf("first session after restart: %s, want leader", role)
	}
	if got := s.View("p")["/a"].Payload; got != "x" {
		t.Errorf("view after restart lost its entry: %q", got)
	}
}

func TestProtocolErrors(t *testing.T) {
	s := New(Config{MaxBodyBytes: 1 << 20})
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	id, _ := create(t, s, "p", "a1")
	big := `{"pipe_id":"` + strings.Repeat("x", 1<<20) + `","agent_id":"a"}`
	tests := []struct {
		name, method, path, body string
		code                     int
		errContains              string
	}{
		{"malformed create", "POST", "/api/v1/pipe/sessions/", `{"pipe_id":`, 400, "malformed JSON"},
		{"missing pipe_id", "POST", "/api/v1/pipe/sessions/", `{"agent_id":"a"}`, 400, `"pipe_id"`},
		{"missing agent_id", "POST", "/api/v1/pipe/sessions/", `{"pipe_id":"p"}`, 400, `"agent_id"`},
		{"wrong type", "POST", "/api/v1/pipe/sessions/", `{"pipe_id":7,"agent_id":"a"}`, 400, "pipe_id"},
		{"trailing data", "POST", "/api/v1/pipe/sessions/", `{"pipe_id":"p","agent_id":"a"} {}`, 400, "after the JSON"},
		{"too large", "POST", "/api/v1/pipe/sessions/", big, 413, "larger than 1048576"},
		{"missing events", "POST", "/api/v1/pipe/sessions/" + id + "/events", `{}`, 400, `"events"`},
		{"missing key", "POST", "/api/v1/pipe/sessions/" + id + "/events", `{"events":[{"mtime":1,"seq":1}]}`, 400, `events[0]: missing "key"`},
		{"missing mtime", "POST", "/api/v1/pipe/sessions/" + id + "/events", `{"events":[{"key":"/a","seq":1},{"key":"/b"}]}`, 400, `events[0]: missing "mtime"`},
		{"missing seq", "POST", "/api/v1/pipe/sessions/" + id + "/events", `{"events":[{"key":"/a","mtime":1,"seq":1},{"key":"/b","mtime":2}]}`, 400, `events[1]: missing "seq"`},
		{"unknown session heartbeat", "POST", "/api/v1/pipe/sessions/nope/heartbeat", ``, 410, "session obsolete"},
		{"unknown session events", "POST", "/api/v1/pipe/sessions/nope/events", `{"events":[]}`, 410, "session obsolete"},
		{"view without pipe", "GET", "/api/v1/pipe/view", ``, 400, `"pipe_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out errorBody
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tt.code || !strings.Contains(out.Error, tt.errContains) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, out.Error, tt.code, tt.errContains)
			}
		})
	}
	// The server keeps serving after every bad request.
	resp, err := srv.Client().Get(srv.URL + "/api/v1/pipe/view?pipe_id=p")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("view after bad requests: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestEventsAndViewOverHTTP(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	id, _ := create(t, s, "p", "a1")
	post := func(body string) int {
		resp, err := srv.Client().Post(srv.URL+"/api/v1/pipe/sessions/"+id+"/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out eventsResponse
		json.NewDecoder(resp.Body).Decode(&out)
		return out.Acked
	}
	if n := post(`{"events":[{"key":"/a","mtime":2,"seq":1,"payload":"new"},{"key":"/b","mtime":1,"seq":1,"payload":"b"}]}`); n != 2 {
		t.Fatalf("acked %d, want 2", n)
	}
	// Older and equal versions are acknowledged and change nothing.
	if n := post(`{"events":[{"key":"/a","mtime":1,"seq":9,"payload":"old"},{"key":"/a","mtime":2,"seq":1,"payload":"dup"}]}`); n != 2 {
		t.Fatalf("acked %d, want 2", n)
	}
	resp, err := srv.Client().Get(srv.URL + "/api/v1/pipe/view?pipe_id=p")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view viewResponse
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil {
		t.Fatal(err)
	}
	if got := view.Entries["/a"]; got != (Entry{Mtime: 2, Seq: 1, Payload: "new"}) || len(view.Entries) != 2 {
		t.Errorf("view = %+v", view.Entries)
	}
}

func TestFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{})
		defer s.Close()
		s.FailFor(5 * time.Second)
		if code, out := call(t, s, "POST", "/api/v1/pipe/sessions/", `{"pipe_id":"p","agent_id":"a"}`); code != 503 {
			t.Fatalf("during FailFor: %d %v, want 503", code, out)
		}
		time.Sleep(5 * time.Second)
		id, _ := create(t, s, "p", "a")

		s.SlowFor(time.Minute, 2*time.Second)
		start := time.Now()
		if code, _ := heartbeat(t, s, id); code != 200 || time.Since(start) != 2*time.Second {
			t.Fatalf("slow heartbeat: %d after %v, want 200 after 2s", code, time.Since(start))
		}
		s.Heal()

		s.HangFor(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/pipe/sessions/"+id+"/heartbeat", nil)
		rec := httptest.NewRecorder()
		start = time.Now()
		s.ServeHTTP(rec, req)
		if time.Since(start) != 3*time.Second || rec.Body.Len() != 0 {
			t.Fatalf("hung request returned after %v with %q, want nothing after the client's 3s", time.Since(start), rec.Body)
		}
		s.Heal()
		if code, _ := heartbeat(t, s, id); code != 200 {
			t.Fatalf("after Heal: %d", code)
		}
	})
}

func TestViewNeverRegresses(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var all []Event
	for i := range 500 {
		all = append(all, Event{Key: fmt.Sprint("/k", r.IntN(20)), Mtime: float64(r.IntN(5)), Seq: int64(r.IntN(5)), Payload: fmt.Sprint(i)})
	}
	all = append(all, all[:100]...) // duplicates
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var v View
	prev := map[string]Entry{}
	for i := 0; i < len(all); {
		n := min(1+r.IntN(10), len(all)-i)
		v.Apply(all[i : i+n])
		i += n
		cur := v.Snapshot()
		for k, e := range prev {
			if c := cur[k]; c.Newer(e.Mtime, e.Seq) { // the old version is newer than the current one
				t.Fatalf("key %s regressed from %+v to %+v", k, e, c)
			}
		}
		prev = cur
	}
	// The final view holds, per key, the greatest (mtime, seq) produced.
	want := map[string]Entry{}
	for _, ev := range all {
		if w, ok := want[ev.Key]; !ok || w.Newer(ev.Mtime, ev.Seq) {
			want[ev.Key] = Entry{ev.Mtime, ev.Seq, ev.Payload}
		}
	}
	for k, w := range want {
		if g := prev[k]; g.Mtime != w.Mtime || g.Seq != w.Seq {
			t.Errorf("key %s: view %+v, want version (%v, %d)", k, g, w.Mtime, w.Seq)
		}
	}
}

func TestEntryNewer(t *testing.T) {
	e := Entry{Mtime: 10, Seq: 5}
	tests := []struct {
		name  string
		mtime float64
		seq   int64
		want  bool
	}{
		{"later mtime, lower seq", 11, 1, true},
		{"same mtime, higher seq", 10, 6, true},
		{"equal", 10, 5, false},
		{"same mtime, lower seq", 10, 4, false},
		{"earlier mtime, higher seq", 9, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Newer(tt.mtime, tt.seq); got != tt.want {
				t.Errorf("Newer(%v, %d) = %v, want %v", tt.mtime, tt.seq, got, tt.want)
			}
		})
	}
}

func FuzzEventsBody(f *testing.F) {
	f.Add(`{"events":[{"key":"/a","mtime":1,"seq":1,"payload":"x"}]}`)
	f.Add(`{"events":[{"key":""}]}`)
	f.Add(`{"events":null}`)
	f.Add(`[1,2,3]`)
	s := New(Config{MaxBodyBytes: 4096})
	defer s.Close()
	info, _ := s.sessions.Create("p", "a", time.Now().Add(time.Hour))
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/pipe/sessions/"+info.SessionID+"/events", strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if b, _ := io.ReadAll(rec.Body); !json.Valid(b) {
			t.Fatalf("answer %q is not JSON", b)
		}
	})
}

// Any positive session timeout makes a working server: derived intervals
// never come out as zero (a zero sweep interval would panic the sweeper, a
// zero suggested heartbeat would read as "no suggestion").
func TestTinySessionTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{1, 2, 3, 4, 5} {
		t.Run(timeout.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Config{SessionTimeout: timeout})
				defer s.Close()
				code, out := call(t, s, "POST", "/api/v1/pipe/sessions/", `{"pipe_id":"p","agent_id":"a1"}`)
				if code != http.StatusCreated {
					t.Fatalf("create: %d %v", code, out)
				}
				if hb, _ := out["heartbeat_interval_seconds"].(float64); hb <= 0 {
					t.Errorf("suggested heartbeat %v, want > 0", out["heartbeat_interval_seconds"])
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if n := len(s.Sessions("")); n != 0 {
					t.Errorf("%d sessions after 1s idle, want 0 (swept)", n)
				}
			})
		})
	}
}

// Reading the view of a pipe nobody pushed to answers an empty view and
// keeps nothing: a client cannot grow the server by asking for made-up pipes.
func TestViewOfUnknownPipeKeepsNothing(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	for i := range 100 {
		code, out := call(t, s, "GET", fmt.Sprintf("/api/v1/pipe/view?pipe_id=nope-%d", i), "")
		if entries, _ := out["entries"].(map[string]any); code != http.StatusOK || entries == nil || len(entries) != 0 {
			t.Fatalf("view of an unknown pipe: %d %v, want 200 with empty entries", code, out)
		}
	}
	if len(s.View("nope-0")) != 0 {
		t.Fatal("View of an unknown pipe is not empty")
	}
	s.mu.Lock()
	n := len(s.views)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("server keeps %d views after reads of unknown pipes, want 0", n)
	}
}
