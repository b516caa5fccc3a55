"""Reading a brand's stream through the consumer group, exactly once with the apply scripts,
and what both roll-ups share (hours, time since posting)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import redis

from tracker import keys
from tracker.rawredis import Raw

GROUP = "rollup"

Entries = list[tuple[bytes, dict[bytes, bytes]]]


def drain(
    r: redis.Redis,
    stream: str,
    consumer: str,
    claim_idle_ms: int,
    batch_size: int,
    apply: Callable[[Entries], int],
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Apply every entry nobody acknowledged: first those a crashed consumer left pending (idle
    longer than `claim_idle_ms`), then the new ones. Returns (entries read, entries applied)."""
    try:
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    read = applied = 0

    def step(entries: Entries) -> None:
        nonlocal read, applied
        read += len(entries)
        if progress:  # as soon as a batch is taken, before it is applied
            progress(read)
        applied += apply(entries)

    start: Any = "0-0"
    while True:
        reply = r.xautoclaim(stream, GROUP, consumer, claim_idle_ms, start, count=batch_size)
        start, entries = reply[0], reply[1]
        if entries:
            step(entries)
        if start in (b"0-0", "0-0"):
            break
    while True:
        reply = r.xreadgroup(GROUP, consumer, {stream: ">"}, count=batch_size)
        if not reply or not reply[0][1]:
            break
        step(reply[0][1])
    return read, applied


def fold(
    r: redis.Redis, brand_id: str, stream: str, script: str, build: Callable[..., int], consumer: str,
    cfg: dict[str, Any], batch_size: int, progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Drain `stream`, each batch turned by `build` into one run of the Lua `script` that applies
    and acknowledges it; then trim entries past the retention. Returns how many were applied."""
    raw = Raw(r)

    def run_script(keys: list[str], args: list[Any]) -> Any:
        return raw.script(script, keys, args)

    ttl = cfg["EVENT_RETENTION_DAYS"] * 86400
    posted = PostedAt(r, brand_id)

    def apply_batch(entries: Entries) -> int:
        return build(r, run_script, brand_id, stream, entries, ttl, posted)

    _, applied = drain(r, stream, consumer, cfg["CLAIM_IDLE_SECONDS"] * 1000, batch_size, apply_batch, progress)
    r.xtrim(stream, minid=int(time.time() * 1000) - ttl * 1000, approximate=True)
    return applied


class PostedAt:
    """Promotions' posting times (ms), loaded once per run: hour 0 since posting starts there."""

    def __init__(self, r: redis.Redis, brand_id: str):
        self.r, self.brand_id = r, brand_id
        self.cache: dict[str, int | None] = {}

    def __call__(self, promotion_id: str) -> int | None:
        if promotion_id not in self.cache:
            raw = self.r.hget(keys.entities(self.brand_id, "promotion"), promotion_id)
            posted = json.loads(raw).get("posted_at") if raw else None
            when = datetime.fromisoformat(posted.replace("Z", "+00:00")) if posted else None
            self.cache[promotion_id] = int(when.timestamp() * 1000) if when else None
        return self.cache[promotion_id]


def since_posting(ts_ms: int, posted_ms: int | None) -> str:
    """The field prefix of the time since posting: 's<n>' for hour n < 48 (exact first-24-hours
    share, half-life to the hour), then 'D<d>' for day d; '' when the promotion is not posted."""
    if posted_ms is None:
        return ""
    hours = max(0, (ts_ms - posted_ms) // 3_600_000)
    return f"s{hours}" if hours < 48 else f"D{hours // 24}"


@lru_cache(maxsize=4096)
def _hour(hour_index: int) -> str:
    return datetime.fromtimestamp(hour_index * 3600, UTC).strftime("%Y%m%d%H")


def hour_of(ts_ms: int) -> str:
    """The UTC hour of a time in ms, as 'yyyymmddhh'."""
    return _hour(ts_ms // 3_600_000)
