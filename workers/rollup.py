"""The roll-up job: every brand's (or one brand's) new clicks and conversions, with progress.

A brand with several click shards has them folded in parallel: the job enqueues one
`run_shard` job per shard beyond the first (at most one waiting or running per shard), which
other workers take, and then folds every shard itself too, shard 0 first; the consumer group
splits a shard's entries between whoever reads it, so when the job ends every entry that was
there when it started has been taken by some worker.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from rq import get_current_job

from tracker import keys, metrics, migrations, queues
from tracker.brands.model import click_shards_ever, get_brand
from tracker.useragent import classify
from workers import clicks, conversions, data_redis, settings


def run(brand_id: str | None = None, batch_size: int | None = None) -> dict[str, int]:
    """Fold new events into the roll-ups; returns what was done (also kept in job.meta)."""
    return _timed(_run, brand_id, batch_size)


def run_shard(brand_id: str, shard: int, batch_size: int | None = None) -> dict[str, int]:
    """Fold one click shard of a brand; returns how many clicks were counted and events read."""
    return _timed(_run_shard, brand_id, shard, batch_size)


def _timed(job: Callable[..., dict[str, int]], *args: object) -> dict[str, int]:
    started, classified = time.monotonic(), classify.cache_info()
    try:
        return job(*args)
    finally:
        metrics.ROLLUP_SECONDS.observe(time.monotonic() - started)
        metrics.count_classifications(classified, classify.cache_info())


def _batch(batch_size: int | None) -> int:
    return batch_size or settings()["ROLLUP_BATCH_SIZE"]


def _consumer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_shard(brand_id: str, shard: int, batch_size: int | None) -> dict[str, int]:
    read = 0

    def progress(n: int) -> None:
        nonlocal read
        read = n

    applied = clicks.consume(data_redis(), brand_id, _consumer(), settings(), _batch(batch_size), progress, shard)
    return {"clicks": applied, "events_read": read}


def _run(brand_id: str | None, batch_size: int | None) -> dict[str, int]:
    r = data_redis()
    cfg = settings()
    batch_size = _batch(batch_size)
    brand_ids = [brand_id] if brand_id else sorted(b.decode() for b in r.smembers(keys.brands()))
    consumer = _consumer()
    job = get_current_job()
    totals = {"brands": len(brand_ids), "brands_done": 0, "clicks": 0, "conversions": 0, "events_read": 0}
    reading = 0  # events read so far from the stream being folded

    def progress(read: int) -> None:
        nonlocal reading
        reading = read
        if job is not None:
            job.meta["progress"] = {**totals, "events_read": totals["events_read"] + read}
            job.save_meta()

    def folded(consume: Callable[..., int], b: str) -> int:
        """Fold one stream of brand `b`; its events read join the totals."""
        nonlocal reading
        reading = 0
        applied = consume(r, b, consumer, cfg, batch_size, progress)
        totals["events_read"] += reading
        reading = 0
        return applied

    for b in brand_ids:
        migrations.ensure(r, b)  # roll-ups of an older layout first brought to this one
        shards = click_shards_ever(get_brand(r, b) or {})
        if job is not None:
            for shard in range(1, shards):  # other workers fold these meanwhile
                queues.enqueue_once(job.connection, f"rollup-shard-{b}-{shard}", queues.ROLLUP_SHARD, b, shard,
                                    batch_size, job_timeout=1800, result_ttl=3600)  # fmt: skip
        for shard in range(shards):
            totals["clicks"] += folded(partial(clicks.consume, shard=shard), b)
        totals["conversions"] += folded(conversions.consume, b)
        totals["brands_done"] += 1
        r.hset(keys.rollup_state(b), "rolled_up_at", datetime.now(UTC).isoformat(timespec="seconds"))
        progress(0)
    return totals
