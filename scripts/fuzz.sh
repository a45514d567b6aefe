#!/usr/bin/env bash
# scripts/fuzz.sh — run every Go fuzz target briefly.
#
# Finds each `func FuzzXxx(f *testing.F)` in the module's *_test.go files and
# runs it alone with `go test -run=^$ -fuzz=^FuzzXxx$`. Each target gets
# FUZZTIME (default 3s), shrunk so the whole run stays within FUZZ_BUDGET
# seconds of fuzzing (default 120; never below 1s a target). Building each
# target also costs time, so the step stops starting new targets once
# FUZZ_WALL seconds (default 240) have passed, and says which it left out:
# the whole `make test` must stay well under 15 minutes. The seed corpus
# (f.Add and testdata/fuzz) already runs in the plain `go test`; this adds new
# inputs. A crash fails the run and leaves the input in testdata/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${FUZZ_BUDGET:-120}"
wall="${FUZZ_WALL:-240}"
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

# Start at a different target each day, so that when the wall-clock budget
# cuts the list short, it is not always the same targets that miss out.
rot=$((10#$(date +%j) % n))
targets=("${targets[@]:rot}" "${targets[@]:0:rot}")

# fuzz_one runs one target. Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" exactly when -fuzztime runs out, on
# a loaded machine, without any failing input (golang/go#75804, fixed in Go
# 1.27). Such a run is repeated once; a real finding always says "Failing
# input written" (or panics, or fails a check) and fails at once.
fuzz_one() {
	local dir=$1 name=$2 log
	log=$(mktemp)
	if go test -run='^$' -fuzz="^${name}\$" -fuzztime="${secs}s" "$dir" 2>&1 | tee "$log"; then
		rm -f "$log"
		return 0
	fi
	if grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
		rm -f "$log"
		echo "fuzz: $name stopped on the fuzz coordinator's deadline race (golang/go#75804), no failing input; running it once more"
		go test -run='^$' -fuzz="^${name}\$" -fuzztime="${secs}s" "$dir"
		return
	fi
	rm -f "$log"
	return 1
}

failed=0
skipped=()
start=$(date +%s)
for t in "${targets[@]}"; do
	dir="${t%%$'\t'*}"
	name="${t#*$'\t'}"
	if [ $(($(date +%s) - start)) -ge "$wall" ]; then
		skipped+=("$dir $name")
		continue
	fi
	echo "fuzz: $dir $name"
	if ! fuzz_one "$dir" "$name"; then
		echo "fuzz: FAIL $dir $name"
		failed=$((failed + 1))
	fi
done
if [ "${#skipped[@]}" -gt 0 ]; then
	echo "fuzz: ${FUZZ_WALL:-240}s wall-clock budget spent; not fuzzed this run (their seed corpora ran in go test):"
	printf 'fuzz:   %s\n' "${skipped[@]}"
fi
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of $n targets failed"
	exit 1
fi
echo "fuzz: all $((n - ${#skipped[@]})) targets run passed"
