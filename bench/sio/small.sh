#!/bin/bash
# Small-scale Socket.IO measurements against bench/sio/sioserve, safe on a
# shared machine (≤ 2,000 connections, ≈ 10 s each). See docs/benchmarks-sio.md.
#
#   bench/sio/small.sh LOADGEN SIOSERVE OUT LABEL SCENARIO [memprofilerate]
#
# LOADGEN is a built shared/bench/sio loadgen, SIOSERVE a built
# bench/sio/sioserve. SCENARIO:
#   idle2k   2,000 idle connections in rooms of 100, recovery on (as the
#            binary): the loadgen's JSON (idle_bytes_per_conn is RSS growth per
#            connection) and, taken while they are open, a heap profile
#            OUT/LABEL.heap and the server's memstats line (after a GC)
#   bcast1k  the kit's bcast1k (1,000 receivers, 200 × 64 B, one publish in
#            flight), recovery off (as socket.io's default)
#   echoack  the kit's echoack (1,000 connections, 100 publishes with ack each,
#            8 in flight), recovery off
# The server listens on 127.0.0.1 port 0 and is stopped by its own PID.
set -eu
lg=$1 srv=$2 out=$3 label=$4 sc=$5 rate=${6:-0}
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"
case $sc in
idle2k)
	"$srv" -listen 127.0.0.1:0 -api-key bench-key -memprofile "$out/$label.heap" -memprofilerate "$rate" \
		>"$out/$label.stdout" 2>"$out/$label.stderr" &
	args="-mode idle -conns 2000 -room-size 100 -settle 6s -waitping=false" ;;
bcast1k)
	"$srv" -listen 127.0.0.1:0 -api-key bench-key -recovery=false >"$out/$label.stdout" 2>"$out/$label.stderr" &
	args="-mode broadcast -conns 1000 -msgs 200 -size 64 -window 1 -warmup 20" ;;
echoack)
	"$srv" -listen 127.0.0.1:0 -api-key bench-key -recovery=false >"$out/$label.stdout" 2>"$out/$label.stderr" &
	args="-mode echo-ack -conns 1000 -msgs 100 -size 64 -window 8 -warmup 5" ;;
*) echo "unknown scenario $sc" >&2; exit 2 ;;
esac
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening "$out/$label.stdout" 2>/dev/null && break; sleep 0.1; done
addr=$(awk '/listening/{print $2}' "$out/$label.stdout")
# shellcheck disable=SC2086
timeout 90 "$lg" -addr "$addr" -pid $pid -src 127.0.0.2-127.0.0.5 -timeout 80s -label "$label" $args >"$out/$label.json" &
lgpid=$!
if [ "$sc" = idle2k ]; then
	n=0 t=0
	while [ "$n" -lt 2000 ] && [ $t -lt 300 ]; do sleep 0.1; t=$((t + 1)); n=$(ls /proc/$pid/fd 2>/dev/null | wc -l); done
	sleep 2
	kill -USR1 $pid
fi
wait $lgpid || true
kill -TERM $pid
wait $pid 2>/dev/null || true
trap - EXIT
cat "$out/$label.json"
grep memstats "$out/$label.stderr" || true
