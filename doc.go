// Package resilience is the front page of a set of small, independent
// fault-tolerance packages. Each package stands alone; the middleware package
// composes them into one recovery stack.
package resilience
