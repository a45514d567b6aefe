#!/bin/bash
# Counts the server's read and write system calls over one kit scenario, from
# /proc/PID/io (syscr, syscw), to show how many writes a delivery costs.
# See docs/benchmarks-sio.md.
#
#   bench/sio/syscalls.sh KIT SCENARIO PORT COMMAND...
#
# KIT is a built copy of shared/bench/sio; COMMAND starts the server on PORT
# (run directly, so that its PID is the server's). SCENARIO: bcast1k,
# bcast1kw16 or bcast1kapi (the kit's arguments). Prints one line: deliveries (measured and
# warm-up messages times receivers) and the calls per delivery; the
# connection set-up's few calls per connection are included.
set -eu
kit=$1 sc=$2 port=$3
shift 3
case $sc in
bcast1k) args="-mode broadcast -conns 1000 -msgs 200 -size 64 -window 1 -warmup 20"; n=$(( (200 + 20) * 1000 )) ;;
bcast1kw16) args="-mode broadcast -conns 1000 -msgs 1000 -size 64 -window 16 -warmup 32"; n=$(( (1000 + 32) * 1000 )) ;;
bcast1kapi) args="-mode broadcast -via http -conns 1000 -msgs 200 -size 64 -window 1 -warmup 20"; n=$(( (200 + 20) * 1000 )) ;;
*) echo "unknown scenario $sc" >&2; exit 2 ;;
esac
ulimit -n "$(ulimit -Hn)"
cd "$kit"
API_KEY=bench-key "$@" >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
i=0
until (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not listen" >&2; exit 1; }; sleep 0.1
done
sleep 0.5
io() { awk '/^syscr/{r=$2} /^syscw/{w=$2} END{print r, w}' /proc/$pid/io; }
read -r r0 w0 < <(io)
# shellcheck disable=SC2086
out=$(loadgen/loadgen -addr 127.0.0.1:"$port" -pid $pid -src 127.0.0.2-127.0.0.9 -apikey bench-key -timeout 120s $args || true)
read -r r1 w1 < <(io)
kill -TERM $pid
wait $pid || true
trap - EXIT
err=$(printf '%s' "$out" | sed -n 's/.*"errors":\([0-9]*\).*/\1/p')
cpu=$(printf '%s' "$out" | sed -n 's/.*"server_cpu_us_per_delivered":\([0-9.]*\).*/\1/p')
awk -v sc="$sc" -v cmd="$*" -v n=$n -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v e="$err" -v c="$cpu" 'BEGIN{
	printf "{\"scenario\":\"%s\",\"server\":\"%s\",\"deliveries\":%d,\"syscw\":%d,\"syscr\":%d,\"writes_per_delivery\":%.3f,\"reads_per_delivery\":%.3f,\"server_cpu_us_per_delivered\":%s,\"errors\":%s}\n", sc, cmd, n, w, r, w/n, r/n, c, e}'
