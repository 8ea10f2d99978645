// Package backoff computes delay schedules for retries and control loops:
// exponential growth from an initial delay, a cap, and a choice of jitter.
//
// A Policy is a plain value. Policy.Delay(n) gives the delay before retry n
// (n = 1 is the first retry); Policy.Sequence gives a stateful walk through
// the schedule for a loop that counts consecutive failures:
//
//	seq := backoff.Policy{Initial: 5 * time.Second, Max: time.Minute, Jitter: backoff.NoJitter}.Sequence()
//	for {
//		if err := syncOnce(ctx); err != nil {
//			wait := seq.Next() // 5s, 10s, 20s, 40s, 60s, 60s...
//			...
//			continue
//		}
//		seq.Reset()
//	}
//
// # Defaults
//
// Every zero field means its default, so the zero Policy is usable: Initial
// 100ms, Multiplier 2, Max 5s, FullJitter, JitterFactor 0.25 (the pforge
// retry defaults). Multiplier 1 gives a constant schedule.
//
// # Jitter
//
// Jitter spreads out clients that failed together so that they do not
// retry together. With d the exponential delay capped at Max:
//
//   - FullJitter (the zero value): uniform in [0, d].
//   - NoJitter: d.
//   - EqualJitter: d/2 + uniform in [0, d/2].
//   - DecorrelatedJitter: uniform in [Initial, 3·previous], capped at Max:
//     min(Max, uniform[Initial, 3·previous]), where previous is the delay
//     returned before and starts at Initial. The cap applies to the draw,
//     so once 3·previous exceeds Max the delay is often Max itself: with
//     Initial 100ms and Max 1s the walk settles around a mean of 0.74s.
//   - SpreadJitter: uniform in [d·(1−JitterFactor), d·(1+JitterFactor)],
//     capped at Max; the pforge schedule's 200ms retry lands in 150–250ms.
//
// Every mode stays within [0, Max]. The first four are the definitions of
// the AWS Architecture Blog's "Exponential Backoff and Jitter".
//
// # Decorrelated jitter and the stateless Delay
//
// Decorrelated jitter depends on the previous draw, which a stateless call
// does not have. Delay(n) therefore takes the un-jittered delay of retry n,
// Initial·Multiplier^(n−1) capped at Max, as "previous": it draws from
// [Initial, 3·previous] and caps the draw at Max. Delay(1) has the distribution of a Sequence's first Next; later calls
// follow the exponential envelope rather than the random walk. A Sequence
// keeps the real previous draw and follows the walk.
//
// # Bounds
//
// Delay and Sequence never fail, never return a negative delay and never
// exceed Max, for any attempt number (including n ≤ 0 and huge n) and any
// field values: the exponential is computed in floating point and compared
// with Max before it is converted back, so huge Initial, Multiplier or n
// cannot overflow. A field out of range takes its default; Validate reports
// such a field by name, for configurations read from files or flags.
//
// # Reproducible schedules
//
// Jitter draws from math/rand/v2 unless Seed is set (a Sequence seeds its
// own small generator from it once). With a non-zero Seed the draw for
// retry n is a fixed function of Seed and n: the schedule can be replayed
// in a test, and a seeded Policy stays safe for concurrent use.
//
// # Concurrency
//
// A Policy is safe for concurrent use: Delay reads only its receiver, a copy.
// A Sequence is not; give each loop its own.
//
// # Cost
//
// Delay allocates nothing and costs a few nanoseconds, most of it the
// random draw. Sequence allocates once; Next allocates nothing and is
// cheaper than Delay, since it multiplies the previous delay once and draws
// from its own generator.
package backoff
