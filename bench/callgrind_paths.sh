#!/bin/sh
# callgrind_paths.sh: instructions per operation of the hot paths, counted
# by valgrind's callgrind, so that close calls do not depend on a noisy
# clock. Each benchmark runs under callgrind for N and for 2N iterations
# (GOGC=off, one P, no asynchronous preemption signals, which callgrind
# does not survive); the difference divided by N is the cost of one
# operation, free of start-up and set-up.
#
#   cd bench && ./callgrind_paths.sh            # every path below
#   ./callgrind_paths.sh BreakerSuccess/eapache # only the benchmarks named
set -eu
cd "$(dirname "$0")"
N=${N:-200000}
bin=$(mktemp -d)/bench.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
GOTOOLCHAIN=local go test -c -o "$bin" .

benches='
BreakerSuccess/resilience
BreakerSuccess/resilience-Do
BreakerSuccess/failsafe-permit
BreakerSuccess/eapache
BackoffDelay/resilience
BackoffDelay/resilience-sequence
BackoffDelay/cenkalti
BackoffDelayPforge/resilience
BackoffDelayPforge/cenkalti
BulkheadAcquireRelease/resilience
BulkheadAcquireRelease/x-sync-semaphore
BulkheadAcquireRelease/failsafe-go
'
if [ $# -gt 0 ]; then benches=$*; fi

count() { # count TOP/SUB ITERATIONS: instructions of one run
	pattern="^Benchmark${1%%/*}\$/^${1#*/}\$"
	for try in 1 2 3; do # valgrind now and then fails on Go's start-up: try again
		n=$(GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$bin" -test.run='^$' -test.bench="$pattern" -test.benchtime="$2x" -test.count=1 -test.cpu=1 2>&1 >/dev/null |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
		if [ -n "$n" ]; then
			echo "$n"
			return
		fi
	done
	echo "callgrind failed on $1" >&2
	exit 1
}

printf '%-42s %12s\n' benchmark instr/op
for b in $benches; do
	one=$(count "$b" "$N")
	two=$(count "$b" $((2 * N)))
	printf '%-42s %12s\n' "$b" "$(echo "scale=1; ($two - $one) / $N" | bc)"
done
