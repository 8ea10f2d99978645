// Package bench holds side-by-side benchmarks of resilience against peer
// libraries. It is a separate module so that the peers never enter the
// dependency graph of resilience's users.
package bench
