// Package chaos attacks the resilience module with real faults on loopback
// and reports what happened.
//
// It is a separate module, so the fault-injection tooling it needs never
// reaches a user of resilience. Everything lives in its tests: a Toxiproxy
// instance started in-process on 127.0.0.1 sits between a resilient HTTP
// client and a real HTTP server, and each scenario injects one fault
// (latency with jitter, hanging connections, resets, slow closes, a bandwidth
// limit, an upstream that goes down and comes back) while the test measures
// latency, counts attempts at both ends and checks for leaked goroutines and
// file descriptors.
//
// # Running
//
//	cd chaos && go test -race ./...          # every scenario and the soak
//	cd chaos && go test -race -short ./...   # scenarios only, no soak
//	cd chaos && ./fuzz.sh 10s                # every Fuzz target of the module
//
// Traffic never leaves the loopback interface, and every loop is bounded in
// both count and time. README.md lists the scenarios and the latest figures.
package chaos
