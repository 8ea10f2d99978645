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
# have them.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."

start=$(date +%s)
# "pkg Target" pairs: go test -list prints a package's names, then its "ok" line.
mapfile -t targets < <(go test -list '^Fuzz' ./... |
	awk '/^Fuzz/ { names[n++] = $1 } /^ok / { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }')

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

failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	dir="./${pkg#github.com/seed94f50169/resilience/}"
	[ "$pkg" = "github.com/seed94f50169/resilience" ] && dir=.
	seeds=0
	if [ -d "$dir/testdata/fuzz/$name" ]; then
		seeds=$(find "$dir/testdata/fuzz/$name" -type f | wc -l)
	fi
	printf '\n=== fuzz %s %s (%d committed corpus files)\n' "$pkg" "$name" "$seeds"
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -timeout=10m "$pkg"; then
		failed+=("$pkg $name")
	fi
done

echo
echo "fuzz: ${#targets[@]} targets in $(($(date +%s) - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: FAILED:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: all targets passed"
