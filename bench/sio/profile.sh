#!/bin/bash
# Profiles Switchboard's Socket.IO service (sioserve, the binary's wiring) under
# one scenario of the shared Socket.IO kit. See docs/benchmarks-sio.md.
#
#   bench/sio/profile.sh KIT SIOSERVE OUT SCENARIO [sioserve flags...]
#
# KIT is a built copy of shared/bench/sio (its loadgen/loadgen), SIOSERVE a
# built bench/sio/sioserve, OUT a directory for the profiles. SCENARIO:
#   bcast1k | bcast10k | echoack | bcast1kw16 | bcast1kapi  CPU profile of the
#       whole server run: OUT/SCENARIO.cpu.pprof, plus the loadgen's JSON line
#   idle10k   heap profile with 10,000 connections open (rooms of 100), taken
#       after every connection has joined: OUT/idle10k.heap.pprof (add
#       -memprofilerate 1 for exact object counts) and the memstats line
# Every run is bounded by the loadgen's -timeout; the server is stopped by its
# own PID.
set -eu
kit=$1 srv=$2 out=$3 sc=$4
shift 4
mkdir -p "$out"
lg="$kit/loadgen/loadgen"
port=9391
src=127.0.0.2-127.0.0.9
ulimit -n "$(ulimit -Hn)"
case $sc in
bcast1k) args="-mode broadcast -conns 1000 -msgs 200 -size 64 -window 1 -warmup 20" ;;
bcast10k) args="-mode broadcast -conns 10000 -msgs 20 -size 64 -window 1 -warmup 3" ;;
echoack) args="-mode echo-ack -conns 1000 -msgs 100 -size 64 -window 8 -warmup 5" ;;
bcast1kapi) args="-mode broadcast -via http -conns 1000 -msgs 200 -size 64 -window 1 -warmup 20" ;;
bcast1kw16) args="-mode broadcast -conns 1000 -msgs 1000 -size 64 -window 16 -warmup 32" ;;
idle10k) args="-mode idle -conns 10000 -room-size 100 -settle 30s -waitping=false" ;;
*) echo "unknown scenario $sc" >&2; exit 2 ;;
esac
if [ "$sc" = idle10k ]; then
	"$srv" -listen 127.0.0.1:$port -api-key bench-key -memprofile "$out/$sc.heap.pprof" "$@" 2>"$out/$sc.server.log" &
else
	"$srv" -listen 127.0.0.1:$port -api-key bench-key -cpuprofile "$out/$sc.cpu.pprof" "$@" 2>"$out/$sc.server.log" &
fi
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
i=0
until (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not listen" >&2; exit 1; }; sleep 0.1
done
sleep 0.5
# shellcheck disable=SC2086
"$lg" -addr 127.0.0.1:$port -pid $pid -src $src -apikey bench-key -timeout 150s -label "profile/$sc" $args >"$out/$sc.json" &
lgpid=$!
if [ "$sc" = idle10k ]; then
	# wait until the server holds 10,000 sockets and the joins are done
	n=0 t=0
	while [ "$n" -lt 10000 ] && [ $t -lt 150 ]; do
		sleep 1; t=$((t + 1))
		n=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
	done
	sleep 10
	kill -USR1 $pid
	sleep 3
fi
wait $lgpid || true
kill -TERM $pid
wait $pid || true
trap - EXIT
cat "$out/$sc.json"
grep memstats "$out/$sc.server.log" || true
