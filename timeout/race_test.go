//go:build race

package timeout

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// it is given, so allocation counts are not this package's.
const raceEnabled = true
