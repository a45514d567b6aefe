#!/usr/bin/env bash
# run.sh — the signaling benchmark: peers joined per second and relay
# latency (offer/answer/candidate, p50/p99) with PEERS peers connected in
# PEERS/2 rooms, for Switchboard's /signal and /peerjs and, beside the
# latter, the stock npm `peer` server (test/node/node_modules/peer).
# Servers run one at a time on loopback; rounds alternate between them.
#
#   bench/signaling/run.sh            # PEERS=10000 RATE=2000 DURATION=20s ROUNDS=2
#   PEERS=2000 DURATION=5s ROUNDS=1 bench/signaling/run.sh
#
# Each server gets the CPU budget it takes; the load generator shares the
# machine, so compare server CPU per join / per frame (stable) more than
# latency (sensitive to the shared cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS=${PEERS:-10000}
RATE=${RATE:-2000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-2}
CONC=${CONC:-200}
NODE_MODULES=${NODE_MODULES:-$PWD/test/node/node_modules}
export NODE_MODULES
out=$(mktemp -d)
trap 'kill "${srv:-}" 2>/dev/null || true; rm -rf "$out"' EXIT

go build -o "$out/sigserve" ./bench/signaling/sigserve
go build -o "$out/sigload" ./bench/signaling/sigload

wait_listen() { # log file
  for _ in $(seq 100); do grep -q '^listening' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start:" >&2; cat "$1" >&2; return 1
}

# start NAME: starts the server on a fresh port, sets srv (pid), url, proto.
port=18090
start() {
  port=$((port + 1))
  case $1 in
    switchboard-signal|switchboard-peerjs)
      "$out/sigserve" -listen 127.0.0.1:$port >"$out/server-$port.log" 2>&1 &
      srv=$!
      if [[ $1 == switchboard-signal ]]; then url=ws://127.0.0.1:$port/signal; proto=signal
      else url=ws://127.0.0.1:$port/peerjs/peerjs; proto=peerjs; fi ;;
    node-peer)
      node bench/signaling/peer_server.mjs $port $((PEERS * 2)) >"$out/server-$port.log" 2>&1 &
      srv=$!
      url=ws://127.0.0.1:$port/peerjs; proto=peerjs ;;
  esac
  wait_listen "$out/server-$port.log"
}

stop() {
  kill "$srv" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  srv=
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, go $(go env GOVERSION), node $(node --version), peers $PEERS, rate $RATE/s, duration $DURATION"
for round in $(seq "$ROUNDS"); do
  for name in switchboard-signal switchboard-peerjs node-peer; do
    start $name
    echo "## round $round: $name (load average $(cut -d" " -f1-3 /proc/loadavg))"
    "$out/sigload" -proto $proto -url "$url" -peers "$PEERS" -conc "$CONC" -rate "$RATE" -duration "$DURATION" -pid "$srv" -label $name || echo "FAILED: $name"
    echo "server RSS after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$srv/status)"
    stop
  done
done
