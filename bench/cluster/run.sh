#!/bin/bash
# Broadcast to N receivers through a Redis-joined Socket.IO cluster of 1, 2 or
# 3 nodes: Switchboard (sbnode) or Node.js socket.io 4.8 with
# @socket.io/redis-adapter 8.3 (jsnode.mjs), on one redis-server.
#
#   bench/cluster/run.sh IMPL NODES [CONNS] [MSGS] [WINDOW]
#
# IMPL is go or js. Receivers are spread round-robin over the nodes and the
# publisher sits on the first node, so with 2 and 3 nodes most deliveries
# cross Redis. Prints bcast's JSON line (see bcast/main.go); server CPU sums
# the nodes and redis-server. Everything listens on free 127.0.0.1 ports;
# processes are stopped by their PIDs.
set -eu
impl=$1 nodes=$2 conns=${3:-10000} msgs=${4:-20} window=${5:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
# SBNODE and BCAST name prebuilt binaries; otherwise both are built here.
if [ -n "${SBNODE:-}" ] && [ -n "${BCAST:-}" ]; then
	cp "$SBNODE" "$work/sbnode" && cp "$BCAST" "$work/bcast"
else
	(cd "$root" && go build -o "$work/sbnode" ./bench/cluster/sbnode && go build -o "$work/bcast" ./bench/cluster/bcast)
fi

wait_port() {
	for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
	echo "nothing listens on $1" >&2; exit 1
}
wait_ready() { # log file
	for _ in $(seq 100); do grep -q ready "$1" && return 0; sleep 0.1; done
	echo "node not ready: $(cat "$1")" >&2; exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"
addrs=()
for i in $(seq 0 $((nodes - 1))); do
	port=$(free_port)
	if [ "$impl" = go ]; then
		"$work/sbnode" -listen 127.0.0.1:"$port" -redis 127.0.0.1:"$rport" 2>"$work/node$i.log" &
	else
		node "$here/jsnode.mjs" 127.0.0.1:"$port" "$rport" 2>"$work/node$i.log" &
	fi
	pids+=($!)
	wait_ready "$work/node$i.log"
	addrs+=(127.0.0.1:$port)
done
IFS=,
"$work/bcast" -addrs "${addrs[*]}" -pids "${pids[*]}" -conns "$conns" -msgs "$msgs" -window "$window" -label "$impl/$nodes"
