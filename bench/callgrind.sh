#!/bin/sh
# Instructions per call of benchmarks, counted by callgrind: each runs
# twice, with N and 11N iterations, and the difference of the two totals
# divided by 10N is what one more call costs (start-up and the first
# b.N=1 round cancel out). Instruction counts do not move with the load
# of the machine, so they settle comparisons that timings leave open.
# (Async preemption is off: callgrind cannot follow its signals.)
#
#   cd bench && ./callgrind.sh            # the timeout benchmarks
#   GOGC=off ./callgrind.sh               # without the collector's share
#   BENCHES=BenchmarkBreakerSuccess SUBS="resilience gobreaker" ./callgrind.sh
#
# With the collector on, its work is shared out over the calls that
# allocate, and the count of one benchmark moves by about 10% from run to
# run; with GOGC=off the counts repeat to within a few instructions (now
# and then one comes out far off: run that one again).
set -eu
cd "$(dirname "$0")"
benches=${BENCHES:-"BenchmarkTimeout BenchmarkTimeoutDone BenchmarkTimeoutLiveParent BenchmarkTimeoutLiveParentDone"}
subs=${SUBS:-"resilience resilience-named context-WithTimeout"}
n=${N:-20000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
GOTOOLCHAIN=local go test -c -o "$dir/bench.test" .
count() { # benchmark regexp, iterations -> instructions in total
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/out" "$dir/bench.test" \
		-test.run='^$' -test.bench="$1" -test.benchtime="$2x" -test.cpu=1 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for bench in $benches; do
	for sub in $subs; do
		re="^$bench\$/^$sub\$"
		a=$(count "$re" "$n")
		b=$(count "$re" "$((11 * n))")
		printf '%-50s %8d instructions/op\n' "$bench/$sub" $(((b - a) / (10 * n)))
	done
done
