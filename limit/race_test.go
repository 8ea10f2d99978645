//go:build race

package limit

// raceEnabled: the race detector makes sync.Pool drop entries at random,
// so pooled paths allocate now and then.
const raceEnabled = true
