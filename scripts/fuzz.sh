#!/usr/bin/env bash
# scripts/fuzz.sh — run every Go fuzz target briefly.
#
# Finds each `func FuzzXxx(f *testing.F)` in the module's *_test.go files and
# runs it alone with `go test -run=^$ -fuzz=^FuzzXxx$`. Each target gets
# FUZZTIME (default 3s), shrunk so the whole run stays within FUZZ_BUDGET
# seconds of fuzzing (default 120; never below 1s a target). The seed corpus
# (f.Add and testdata/fuzz) already runs in the plain `go test`; this adds new
# inputs. A crash fails the run and leaves the input in testdata/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${FUZZ_BUDGET:-120}"
per="${FUZZTIME:-3s}"

# "dir<TAB>name" for every fuzz target, skipping node_modules and dot dirs.
mapfile -t targets < <(
	find . \( -name node_modules -o -path './.*' -o -name testdata \) -prune -o -name '*_test.go' -print |
		sort |
		while read -r f; do
			{ grep -oE '^func Fuzz[A-Za-z0-9_]*\(' "$f" || true; } | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' |
				while read -r name; do printf '%s\t%s\n' "$(dirname "$f")" "$name"; done
		done
)

n="${#targets[@]}"
if [ "$n" -eq 0 ]; then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
secs="${per%s}"
if [ $((secs * n)) -gt "$budget" ]; then
	secs=$((budget / n))
	[ "$secs" -ge 1 ] || secs=1
fi
echo "fuzz: $n targets, ${secs}s each"

failed=0
for t in "${targets[@]}"; do
	dir="${t%%$'\t'*}"
	name="${t#*$'\t'}"
	echo "fuzz: $dir $name"
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${secs}s" "$dir"; then
		echo "fuzz: FAIL $dir $name"
		failed=$((failed + 1))
	fi
done
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of $n targets failed"
	exit 1
fi
echo "fuzz: all $n targets passed"
