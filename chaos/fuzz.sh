#!/usr/bin/env bash
# Fuzz smoke: runs every Fuzz target of the root module for a bounded time.
#
#   chaos/fuzz.sh [FUZZTIME]     FUZZTIME defaults to 10s (any -fuzztime value)
#
# Targets are discovered with `go test -list '^Fuzz'`, so a new target is
# picked up without editing this script. Each runs alone (go test -fuzz takes
# one package and one target at a time). A failing input is written by go test
# to the package's testdata/fuzz/<Target>/ and the script exits non-zero.
# Committed seed corpora (testdata/fuzz/) are listed so a run shows what it
# started from; uncommitted corpus files are reported, since CI would not
# have them. A run that fails only with Go's fuzz-coordinator race at the
# -fuzztime boundary ("context deadline exceeded", no failing input) is run
# once more, and reported, not failed, if it happens again.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."

start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! go test -list '^Fuzz' ./... >"$log" 2>&1; then
	cat "$log"
	echo "fuzz: listing the targets failed"
	exit 1
fi
# "pkg Target" pairs: go test -list prints a package's names, then its "ok" line.
mapfile -t targets < <(awk '/^Fuzz/ { names[n++] = $1 } /^ok / { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }' "$log")

if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no Fuzz targets found"
	exit 0
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	untracked=$(git ls-files --others --exclude-standard -- '*testdata/fuzz/*' || true)
	if [ -n "$untracked" ]; then
		echo "fuzz: warning: corpus files not committed:"
		echo "$untracked"
	fi
fi

# fuzz_one PKG NAME LOG: runs one target; its output goes to the terminal and LOG.
fuzz_one() {
	go test -run='^$' -fuzz="^${2}\$" -fuzztime="$fuzztime" -timeout=10m "$1" 2>&1 | tee "$3"
	return "${PIPESTATUS[0]}"
}

# deadline_flake LOG: the run failed only with Go's fuzz coordinator race at
# the -fuzztime boundary (golang/go#51484, #75804): "context deadline
# exceeded" and no failing input. A real finding always writes one.
deadline_flake() {
	grep -q 'context deadline exceeded' "$1" && ! grep -qE 'Failing input written|panic:' "$1"
}

failed=()
flaked=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	dir="./${pkg#github.com/seed94f50169/resilience/}"
	[ "$pkg" = "github.com/seed94f50169/resilience" ] && dir=.
	seeds=0
	if [ -d "$dir/testdata/fuzz/$name" ]; then
		seeds=$(find "$dir/testdata/fuzz/$name" -type f | wc -l)
	fi
	printf '\n=== fuzz %s %s (%d committed corpus files)\n' "$pkg" "$name" "$seeds"
	if fuzz_one "$pkg" "$name" "$log"; then
		continue
	fi
	if deadline_flake "$log"; then
		echo "fuzz: $name hit the -fuzztime boundary race with no failing input; running it again"
		if fuzz_one "$pkg" "$name" "$log"; then
			continue
		fi
		if deadline_flake "$log"; then
			flaked+=("$pkg $name")
			continue
		fi
	fi
	failed+=("$pkg $name")
done

echo
echo "fuzz: ${#targets[@]} targets in $(($(date +%s) - start))s"
if [ "${#flaked[@]}" -gt 0 ]; then
	echo "fuzz: hit the -fuzztime boundary race twice, no failing input (not a finding):"
	printf '  %s\n' "${flaked[@]}"
fi
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: FAILED:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: all targets passed"
