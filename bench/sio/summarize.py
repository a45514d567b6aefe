#!/usr/bin/env python3
"""Summary tables for docs/benchmarks-sio.md from the Socket.IO kit's results.

    python3 bench/sio/summarize.py RESULTS_DIR RUN_ID[,RUN_ID...] [--ref node]

Reads RESULTS_DIR/<scenario>.jsonl as written by the kit's bench.py and prints,
per scenario and figure, each server's median over rounds and, in brackets,
the median over rounds of its value / the reference's value in the same round
(the kit's own convention). Unlike `bench.py report` it keeps a figure that a
run measured before it failed, when the failure came after that figure was
sampled: idle10k's RSS samples precede its alive check, so a run whose only
error is "connections answered the alive check" still gives them; such runs
are counted in the `flagged` column. Runs with any other error or a timeout
are left out of every figure.
"""
import argparse, json, os, statistics

FIGS = [
    ("idle10k", "idle_bytes_per_conn", "server RSS per idle connection, B"),
    ("idle10k", "after_ping_bytes_per_conn", "same, after a ping round, B"),
    ("idle10k", "connect_cpu_us_per_conn", "server CPU per connection set up, µs"),
    ("bcast1k", "server_cpu_us_per_delivered", "server CPU per delivered msg, µs"),
    ("bcast1k", "delivered_per_sec", "delivered msgs/s"),
    ("bcast1k", "connect_cpu_us_per_conn", "server CPU per connection set up (room of 1,000), µs"),
    ("bcast10k", "server_cpu_us_per_delivered", "server CPU per delivered msg, µs"),
    ("bcast10k", "delivered_per_sec", "delivered msgs/s"),
    ("bcast10k", "connect_cpu_us_per_conn", "server CPU per connection set up (room of 10,000), µs"),
    ("echoack", "server_cpu_us_per_ack", "server CPU per ack, µs"),
    ("echoack", "acks_per_sec", "acks/s"),
    ("bcast1kapi", "server_cpu_us_per_delivered", "server CPU per delivered msg, µs"),
    ("bcast1kapi", "delivered_per_sec", "delivered msgs/s"),
    ("bcast1kw16", "server_cpu_us_per_delivered", "server CPU per delivered msg, µs"),
    ("bcast1kw16", "delivered_per_sec", "delivered msgs/s"),
    ("bcast1kw16", "hwm_kib", "RSS high-water, KiB"),
]
LATE = "answered the alive check"  # idle10k's last step; its RSS figures were sampled before


def usable(r, metric):
    if r.get("timed_out"):
        return False
    if not r.get("errors"):
        return True
    return r.get("scenario") == "idle10k" and r.get("errors") == 1 \
        and LATE in (r.get("first_error") or "")


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("runs")
    ap.add_argument("--ref", default="node")
    a = ap.parse_args()
    runs = set(a.runs.split(","))
    rows = {}
    for sc in {f[0] for f in FIGS}:
        p = os.path.join(a.results, f"{sc}.jsonl")
        if os.path.exists(p):
            rows[sc] = [r for r in map(json.loads, filter(str.strip, open(p))) if r["run_id"] in runs]
    servers = list(dict.fromkeys(r["server"] for rs in rows.values() for r in rs))
    servers.sort(key=lambda s: (s != a.ref, s))
    print("| scenario | figure | " + " | ".join(servers) + " |")
    print("|---|---|" + "---:|" * len(servers))
    for sc, m, label in FIGS:
        rs = rows.get(sc, [])
        if not rs:
            continue
        cells = []
        for s in servers:
            mine = [r for r in rs if r["server"] == s]
            ok = [r for r in mine if usable(r, m) and isinstance(r.get(m), (int, float))]
            if not ok:
                cells.append(f"fails ({len(mine)}/{len(mine)})" if mine else "")
                continue
            med = statistics.median(r[m] for r in ok)
            ratios = []
            for r in ok:
                ref = [q for q in rs if q["server"] == a.ref and q["run_id"] == r["run_id"] and q["round"] == r["round"]
                       and usable(q, m) and q.get(m)]
                if ref and s != a.ref:
                    ratios.append(r[m] / ref[0][m])
            flagged = sum(1 for r in ok if r.get("errors"))
            c = fmt(med)
            if ratios:
                c += f" ({statistics.median(ratios):.2f}×)"
            if len(ok) < len(mine) or flagged:
                c += f" [{len(ok)}/{len(mine)} runs" + (f", {flagged} flagged" if flagged else "") + "]"
            cells.append(c)
        print(f"| {sc} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
