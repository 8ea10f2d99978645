package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// gbStore is gobreaker v2's SharedDataStore on go-redis: the lock is a
// SET NX PX key, as a Redis lock is usually made.
type gbStore struct{ c *goredis.Client }

var errLocked = errors.New("locked")

func (s gbStore) Lock(name string) error {
	ok, err := s.c.SetNX(context.Background(), name, "1", 5*time.Second).Result()
	if err != nil {
		return err
	}
	if !ok {
		return errLocked
	}
	return nil
}
func (s gbStore) Unlock(name string) error { return s.c.Del(context.Background(), name).Err() }
func (s gbStore) GetData(name string) ([]byte, error) {
	b, err := s.c.Get(context.Background(), name).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	return b, err
}
func (s gbStore) SetData(name string, data []byte) error {
	return s.c.Set(context.Background(), name, data, 0).Err()
}

// BenchmarkFleetThroughput runs 4 replicas of one shared breaker on the
// same Redis for one second, each calling a backend that takes 1ms, and
// reports the fleet's calls per second: SharedBreaker (no lock across the
// call) against gobreaker v2's DistributedCircuitBreaker (a distributed
// lock held for the whole call). It takes about a second whatever b.N.
func BenchmarkFleetThroughput(b *testing.B) {
	srv := startServer(b)
	c := srv.client(b)
	backend := func() { time.Sleep(time.Millisecond) }
	const replicas = 4
	const run = time.Second
	measure := func(b *testing.B, call []func() error) {
		var calls, errs atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for _, f := range call {
			wg.Go(func() {
				for time.Since(start) < run {
					if f() == nil {
						calls.Add(1)
					} else {
						errs.Add(1)
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(calls.Load())/time.Since(start).Seconds(), "calls/s")
		b.ReportMetric(float64(errs.Load()), "errors")
	}
	b.Run("shared", func(b *testing.B) {
		var call []func() error
		for range replicas {
			sb, err := NewBreaker(BreakerConfig{Conn: Conn{Client: c}, Name: "throughput"})
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			br := sb.Breaker()
			call = append(call, func() error {
				return br.Do(context.Background(), func(context.Context) error { backend(); return nil })
			})
		}
		for b.Loop() {
		}
		measure(b, call)
	})
	b.Run("gobreaker", func(b *testing.B) {
		var call []func() error
		for range replicas {
			dcb, err := gobreaker.NewDistributedCircuitBreaker[int](gbStore{c}, gobreaker.Settings{Name: "throughput"})
			if err != nil {
				b.Fatal(err)
			}
			call = append(call, func() error {
				_, err := dcb.Execute(func() (int, error) { backend(); return 0, nil })
				return err
			})
		}
		for b.Loop() {
		}
		measure(b, call)
	})
}
