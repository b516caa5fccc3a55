"""The roll-up job: every brand's (or one brand's) new clicks and conversions, with progress."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rq import get_current_job

from tracker import keys, metrics, migrations
from tracker.useragent import classify
from workers import clicks, conversions, data_redis, settings


def run(brand_id: str | None = None, batch_size: int | None = None) -> dict[str, int]:
    """Fold new events into the roll-ups; returns what was done (also kept in job.meta)."""
    started, classified = time.monotonic(), classify.cache_info()
    try:
        return _run(brand_id, batch_size)
    finally:
        metrics.ROLLUP_SECONDS.observe(time.monotonic() - started)
        metrics.count_classifications(classified, classify.cache_info())


def _run(brand_id: str | None, batch_size: int | None) -> dict[str, int]:
    r = data_redis()
    cfg = settings()
    batch_size = batch_size or int(os.environ.get("ROLLUP_BATCH_SIZE", 500))
    brand_ids = [brand_id] if brand_id else sorted(b.decode() for b in r.smembers(keys.brands()))
    consumer = f"{socket.gethostname()}:{os.getpid()}"
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
        totals["clicks"] += folded(clicks.consume, b)
        totals["conversions"] += folded(conversions.consume, b)
        totals["brands_done"] += 1
        r.hset(keys.rollup_state(b), "rolled_up_at", datetime.now(UTC).isoformat(timespec="seconds"))
        progress(0)
    return totals
