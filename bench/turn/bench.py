#!/usr/bin/env python3
"""Benchmark the turn package's server beside coturn with turnutils_uclient.

Both servers run on 127.0.0.1 with the same user, realm, relay address and
port range, no quotas and no bandwidth cap; coturn is Debian's turnserver.
For every scenario the servers alternate (ours, coturn, ours, coturn ...),
each started fresh, with turnutils_peer as the echoing peer. Per run:

  relayed round trips   tot_recv_msgs summed over the uclient processes
  loss                  uclient's "Total lost packets" / messages sent
  rt/s                  round trips / uclient's "Total transmit time"
  server CPU per rt     CPU time of all the server's threads, from
                        /proc/PID/task/*/schedstat (nanoseconds), / round trips
  RSS                   peak VmRSS sampled every 50 ms during the run
  load                  /proc/loadavg (1 min) at the end of the run: other
                        jobs on the machine inflate every CPU figure

Usage: bench/turn/bench.py [--rounds N] [--quick] [--only NAME[,NAME...]] [--json FILE]
(--only @ runs the fixed-rate scenarios.) Run from the repository root; it
builds bench/turn/turnserve itself.
"""
import argparse, json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

HOST = "127.0.0.1"
OURS_FLAGS = os.environ.get("TURNSERVE_FLAGS", "").split()
USER, PASS, REALM = "alice", "secret", "bench"
CLK = os.sysconf("SC_CLK_TCK")

# name, transport flags, processes, clients per process, messages per client, size, interval ms
# The 1-allocation fixed-rate rows run 20,000 round trips (uclient reaches
# ~500/s with -z 1, so ~40 s each) so that setup is a small share of them.
SCENARIOS = [
    ("1x160 @1k",        [],     1, 1,   20000, 160,  1),
    ("1x1000 @1k",       [],     1, 1,   20000, 1000, 1),
    ("1x1000 sat",       [],     1, 1,   20000, 1000, 0),
    ("100x160 @10k",     [],     4, 25,  500,  160,  10),
    ("100x1000 @10k",    [],     4, 25,  500,  1000, 10),
    ("100x1000 sat",     [],     4, 25,  400,  1000, 0),
    ("tcp 100x1000 @10k", ["-t"], 4, 25, 500,  1000, 10),
    ("tcp 100x1000 sat", ["-t"], 4, 25,  400,  1000, 0),
]
RSS_SCENARIO = ("1000 allocations", [], 4, 250, 20, 160, 100)


def free_port():
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((HOST, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def cpu_ns(pid):
    """CPU time of pid's live threads in ns (sum_exec_runtime, the first field
    of /proc/PID/task/TID/schedstat). /proc/PID/stat counts in clock ticks
    (10 ms), too coarse for a few thousand round trips; a thread that exits
    between two samples takes its time with it, which is why cpu_ticks is
    kept beside it as a check."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_binding(port, timeout=10):
    req = bytes([0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42]) + os.urandom(12)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.1)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            s.sendto(req, (HOST, port))
            try:
                data, _ = s.recvfrom(1500)
                if data[:2] == b"\x01\x01":
                    return
            except socket.timeout:
                pass
        raise RuntimeError(f"no STUN server on {port}")
    finally:
        s.close()


def start_ours(binary, port, tmp):
    cmd = [binary, "-listen", f"{HOST}:{port}", "-relay-ip", HOST, "-realm", REALM,
           "-user", f"{USER}={PASS}", "-allow-peer", "127.0.0.0/8", "-quota", "-1", "-bitrate", "-1"] + OURS_FLAGS
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "ours.log"), "w"))


def start_coturn(port, tmp):
    cmd = ["turnserver", "-n", f"--listening-ip={HOST}", f"--listening-port={port}", f"--relay-ip={HOST}",
           f"--realm={REALM}", f"--user={USER}:{PASS}", "--lt-cred-mech", "--allow-loopback-peers",
           "--no-tls", "--no-dtls", "--no-cli", "--min-port=49152", "--max-port=65535",
           f"--log-file={os.path.join(tmp, 'coturn.log')}", "--simple-log", "--no-stdout-log",
           f"--pidfile={os.path.join(tmp, 'coturn.pid')}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_peer(port):
    p = subprocess.Popen(["turnutils_peer", "-L", HOST, "-p", str(port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.1)
    for _ in range(100):
        s.sendto(b"ping", (HOST, port))
        try:
            if s.recvfrom(64)[0] == b"ping":
                s.close()
                return p
        except socket.timeout:
            pass
    raise RuntimeError("turnutils_peer does not echo")


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


TOT = re.compile(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", re.M)
LOST = re.compile(r"Total lost packets (\d+)")
TIME = re.compile(r"Total transmit time is (\d+)")


def run_once(server, scenario, binary, peer_port, tmp):
    name, flags, procs, clients, msgs, size, interval = scenario
    port = free_port()
    p = start_ours(binary, port, tmp) if server == "ours" else start_coturn(port, tmp)
    try:
        wait_binding(port)
        time.sleep(0.2)
        pid = p.pid
        peak = [rss_kb(pid)]
        done = threading.Event()

        def sample():
            while not done.wait(0.05):
                try:
                    peak[0] = max(peak[0], rss_kb(pid))
                except OSError:
                    return
        th = threading.Thread(target=sample)
        th.start()
        c0, n0, t0 = cpu_ticks(pid), cpu_ns(pid), time.time()
        ucs = [subprocess.Popen(["turnutils_uclient", "-c", *flags, "-n", str(msgs), "-m", str(clients),
                                 "-l", str(size), "-z", str(interval), "-p", str(port), "-e", HOST,
                                 "-r", str(peer_port), "-u", USER, "-w", PASS, HOST],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(procs)]
        outs = [u.communicate(timeout=600)[0] for u in ucs]
        wall = time.time() - t0
        c1, n1 = cpu_ticks(pid), cpu_ns(pid)
        done.set()
        th.join()
        sent = recv = lost = 0
        ttime = 0
        for o in outs:
            m = TOT.findall(o)
            if not m:
                raise RuntimeError(f"{server} {name}: no totals from uclient:\n{o[-2000:]}")
            sent += int(m[-1][0])
            recv += int(m[-1][1])
            lm = LOST.search(o)
            lost += int(lm.group(1)) if lm else 0
            tm = TIME.search(o)
            ttime = max(ttime, int(tm.group(1)) if tm else 0)
        cpu = (n1 - n0) / 1e9
        ticks = (c1 - c0) / CLK
        return {
            "server": server, "scenario": name, "sent": sent, "recv": recv,
            "loss_pct": 100.0 * lost / sent if sent else 0.0,
            "rt_per_s": recv / max(ttime, 1), "wall_s": wall, "cpu_s": cpu, "cpu_ticks_s": ticks,
            "cpu_us_per_rt": 1e6 * cpu / recv if recv else float("nan"),
            "rss_mb": peak[0] / 1024.0, "load1": loadavg(),
        }
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one round, fewer messages")
    ap.add_argument("--only", help="run scenarios whose name contains this (comma-separated: any of these)")
    ap.add_argument("--json", help="write raw results here")
    args = ap.parse_args()
    for tool in ("turnserver", "turnutils_uclient", "turnutils_peer"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (Debian package coturn)")
    tmp = tempfile.mkdtemp(prefix="turnbench-")
    binary = os.path.join(tmp, "turnserve")
    subprocess.run(["go", "build", "-o", binary, "./bench/turn/turnserve"], check=True)
    scenarios = SCENARIOS + [RSS_SCENARIO]
    if args.only:
        scenarios = [s for s in scenarios if any(o in s[0] for o in args.only.split(","))]
    rounds = 1 if args.quick else args.rounds
    if args.quick:
        scenarios = [(n, f, p, c, max(50, m // 4), sz, iv) for (n, f, p, c, m, sz, iv) in scenarios]
    peer_port = free_port()
    peer = start_peer(peer_port)
    results = []
    try:
        for sc in scenarios:
            for r in range(rounds):
                order = ["ours", "coturn"] if r % 2 == 0 else ["coturn", "ours"]
                for server in order:
                    res = None
                    for attempt in range(2):
                        try:
                            res = run_once(server, sc, binary, peer_port, tmp)
                            break
                        except RuntimeError as e:
                            # uclient sometimes fails a run on its own (e.g. it picks a
                            # channel number twice and coturn refuses the second bind).
                            print(f"{sc[0]:20s} {server:6s} run failed, {'retrying' if attempt == 0 else 'skipped'}: "
                                  f"{str(e).splitlines()[-1]}", flush=True)
                    if res is None:
                        continue
                    results.append(res)
                    print(f"{res['scenario']:20s} {server:6s} recv={res['recv']:7d} loss={res['loss_pct']:6.2f}% "
                          f"rt/s={res['rt_per_s']:8.0f} cpu/rt={res['cpu_us_per_rt']:6.2f}us "
                          f"(ticks {1e6 * res['cpu_ticks_s'] / max(res['recv'], 1):6.1f}) rss={res['rss_mb']:5.1f}MB "
                          f"load={res['load1']:.2f}",
                          flush=True)
    finally:
        stop(peer)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print()
    print("| scenario | server | round trips | loss | rt/s | server CPU µs/rt (median) | peak RSS MB | load (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for sc in scenarios:
        for server in ("ours", "coturn"):
            rs = [r for r in results if r["scenario"] == sc[0] and r["server"] == server]
            if not rs:
                continue
            label = "switchboard" if server == "ours" else "coturn 4.6"
            print(f"| {sc[0]} | {label} | {statistics.median(r['recv'] for r in rs):.0f} "
                  f"| {statistics.median(r['loss_pct'] for r in rs):.2f}% "
                  f"| {statistics.median(r['rt_per_s'] for r in rs):.0f} "
                  f"| {statistics.median(r['cpu_us_per_rt'] for r in rs):.2f} "
                  f"| {max(r['rss_mb'] for r in rs):.1f} "
                  f"| {statistics.median(r['load1'] for r in rs):.1f} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
