package redis

import (
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed94f50169/resilience/breaker"
)

// Messages on the channel come from anyone who can publish to Redis: no
// message makes apply panic, opens the breaker for more than 1<<40 ms, or
// opens it at all unless it is a well-formed open of another replica.
func FuzzApply(f *testing.F) {
	for _, s := range []string{"open 500 r2 3", "closed r2 3", "open -1 r2 1", "open 99999999999999999999 r2 1",
		"open 1 me 1", "closed me 0", "", "open", "closed", "open 1 r2 x", "  open 10 r2 1  "} {
		f.Add(s)
	}
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	sb, err := NewBreaker(BreakerConfig{Conn: Conn{Client: c, Timeout: time.Millisecond}, Name: "fuzz", ReplicaID: "me"})
	if err != nil {
		f.Fatal(err)
	}
	defer sb.Close()
	f.Fuzz(func(t *testing.T, msg string) {
		sb.b.Reset()
		sb.epoch.Store(0)
		sb.apply(msg)
		st := sb.b.State()
		if rem := sb.b.OpenRemaining(); rem > time.Duration(1<<40)*time.Millisecond {
			t.Fatalf("%q opened the breaker for %v", msg, rem)
		}
		if st == breaker.Open && !wellFormedOpen(msg) {
			t.Fatalf("%q opened the breaker", msg)
		}
	})
}

// wellFormedOpen is the message format: "open <ms> <replica> <epoch>",
// fields separated by white space.
func wellFormedOpen(msg string) bool {
	f := strings.Fields(msg)
	if len(f) != 4 || f[0] != "open" || f[2] == "me" {
		return false
	}
	ms, err1 := strconv.ParseInt(f[1], 10, 64)
	_, err2 := strconv.ParseInt(f[3], 10, 64)
	return err1 == nil && err2 == nil && ms > 0
}
