"""The redirect on a 3-primary Redis Cluster against the same redirect on a standalone Redis, in one run
(`make bench-cluster` -> bench/run.sh cluster -> this).

Both are `tracker.asgi:app` as `tracker web` serves it (granian, BENCH_WORKERS workers), each with
a brand and a real short link, loaded with wrk for the same time (bench/redirect.py's measurement and
settings: BENCH_SECONDS, BENCH_WARMUP, BENCH_THREADS, BENCH_CONNECTIONS, BENCH_WORKERS,
BENCH_APPENDFSYNC). The cluster's nodes are the same redis-server binary (cluster mode, slots split in
thirds, as tests/conftest.py and `tracker run --cluster` do), the queue on the standalone one.
BENCH_ROUNDS (2) alternates standalone and cluster that many times; the best of each is compared
(target: cluster >= 0.9 of standalone). Every redirect's click must be in the brand's stream.

What one shard sustains: the brand's clicks all go to one stream, so one node takes them; its CPU
time over the run (from /proc) gives clicks per CPU-second of one node, the figure to size a
cluster with (a Redis node runs commands on one core).
Writes bench/results/cluster.json. Exit 0 measured, 1 clicks missing, 2 harness failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import redis
from harness import HarnessError, Procs, env_int, free_port, main, ratio, ratio_line, start_redis, write_results
from redirect import Outcome, Settings, clicks_line, measure, target_c

from tracker import embedded

TARGET = 0.9


def start_cluster(procs: Procs) -> tuple[str, redis.RedisCluster, dict[int, int]]:
    """Three cluster nodes (AOF as BENCH_APPENDFSYNC), formed; the URL, a client, port -> pid."""
    nodes = dict(procs.redis(cluster=True) for _ in range(3))
    try:
        embedded.form_cluster(list(nodes))
    except RuntimeError as exc:
        raise HarnessError(str(exc)) from exc
    first = next(iter(nodes))
    client = redis.RedisCluster(host="127.0.0.1", port=first, socket_timeout=5)
    return f"redis+cluster://127.0.0.1:{first}", client, {port: proc.popen.pid for port, proc in nodes.items()}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(settings: Settings, procs: Procs) -> int:
    rounds = env_int("BENCH_ROUNDS", 2)
    standalone_url, standalone = start_redis(procs)
    cluster_url, cluster, pids = start_cluster(procs)
    runs: dict[str, list[Outcome]] = {"standalone": [], "cluster": []}
    shard: list[dict[str, Any]] = []
    for n in range(rounds):
        for name in ("standalone", "cluster"):
            port = free_port()
            print(f"bench: round {n + 1}, {name} on port {port} ...", flush=True)
            tmp = procs.tmp / f"{name}-{n}"
            tmp.mkdir()
            if name == "standalone":
                target, client = target_c(settings, port, standalone_url, tmp), standalone
            else:
                target, client = target_c(settings, port, cluster_url, tmp), cluster
                target.env["QUEUE_REDIS_URL"] = standalone_url  # RQ stays on a standalone Redis
                pid = pids[cluster.get_node_from_key(target.stream).port]
                cpu = cpu_seconds(pid)
            outcome = measure(settings, procs, name[0], target, port, client)
            outcome.label = f"{name}, round {n + 1}"
            runs[name].append(outcome)
            if name == "cluster" and outcome.clicks:
                used = cpu_seconds(pid) - cpu
                per_cpu = round(outcome.clicks.logged / used) if used else None
                shard.append({"clicks": outcome.clicks.logged, "node_cpu_seconds": round(used, 3),
                              "clicks_per_node_cpu_second": per_cpu})  # fmt: skip
    best = {name: max(outcomes, key=lambda o: o.result.rps if o.result else 0) for name, outcomes in runs.items()}
    versus = ratio(best["cluster"].result.rps / best["standalone"].result.rps, TARGET)
    per_cpu = max((s["clicks_per_node_cpu_second"] or 0) for s in shard) if shard else None
    print()
    print(f"redirect on standalone vs 3-primary cluster: wrk -t{settings.threads} -c{settings.connections} "
          f"-d{settings.seconds}s, granian x{settings.workers}, {rounds} rounds, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'run':<24} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for outcomes in zip(*runs.values(), strict=True):
        for o in outcomes:
            r = o.result
            print(f"{o.label:<24} {r.rps:>10.1f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f}")
    print("\n" + ratio_line("cluster/standalone (best of each)", versus))
    print(f"one shard: {per_cpu} clicks per CPU-second of its node (the brand's node: {shard})")
    ok = True
    for outcomes in runs.values():
        for o in outcomes:
            print(f"{o.label}: {clicks_line(o.clicks)}")
            ok = ok and o.clicks.ok
    write_results("cluster", {
        "settings": {"seconds": settings.seconds, "warmup": settings.warmup, "threads": settings.threads,
                     "connections": settings.connections, "workers": settings.workers, "rounds": rounds,
                     "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "runs": {name: [{"rps": o.result.rps, "p50_ms": o.result.p50_ms, "p99_ms": o.result.p99_ms,
                         "clicks_logged": o.clicks.logged, "redirects": o.clicks.redirects, "clicks_ok": o.clicks.ok}
                        for o in outcomes] for name, outcomes in runs.items()},
        "ratio": versus,
        "shard": shard,
        "clicks_per_node_cpu_second": per_cpu,
    })  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(lambda procs: run(Settings.from_env(), procs)))
