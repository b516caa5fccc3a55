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
from tracker.db import Call, Conn

GROUP = "rollup"

Entries = list[tuple[bytes, dict[bytes, bytes]]]


Prepared = Call[int] | None  # one run of an apply script (tracker.db.scripts); None: nothing to run


def fold(
    r: redis.Redis, brand_id: str, stream: str, build: Callable[..., Prepared], consumer: str,
    cfg: dict[str, Any], batch_size: int, progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Apply every entry of `stream` nobody acknowledged, each batch turned by `build` into one run
    of an apply script that applies and acknowledges it; then trim entries past the retention.
    Returns how many were applied.

    First the entries a crashed consumer left pending (idle longer than CLAIM_IDLE_SECONDS), then
    the new ones, read ahead: while Redis runs batch k's script, this process already builds batch
    k+1 (read with the script, on the same connection). An entry read but not yet applied stays
    pending in the group, so a crash anywhere loses nothing and counts nothing twice: the next
    roll-up claims it, and the script skips events it already counted.
    """
    try:
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    ttl = cfg["EVENT_RETENTION_DAYS"] * 86400
    posted = PostedAt(r, brand_id)
    read = applied = 0

    def take(entries: Entries) -> Prepared:
        nonlocal read
        read += len(entries)
        if progress:  # as soon as a batch is taken, before it is applied
            progress(read)
        return build(r, brand_id, stream, entries, ttl, posted)

    conn = Conn(r, stream)
    try:
        start: Any = "0-0"
        while True:  # pending entries of crashed consumers: rare, one batch at a time
            reply = r.xautoclaim(stream, GROUP, consumer, cfg["CLAIM_IDLE_SECONDS"] * 1000, start, count=batch_size)
            start, entries = reply[0], reply[1]
            if entries and (prepared := take(entries)):
                applied += conn.run(prepared)
            if start in (b"0-0", "0-0"):
                break
        new = (b"XREADGROUP", b"GROUP", GROUP, consumer, b"COUNT", batch_size, b"STREAMS", stream, b">")
        conn.send(new)
        entries = _entries(conn.read())
        if entries:
            conn.send(new)  # batch k+1 is read while batch k is built
        prepared = take(entries) if entries else None
        while entries:
            if prepared:
                conn.send_call(prepared)
            entries = _entries(conn.read())  # batch k+1
            if entries:
                conn.send(new)  # batch k+2, behind batch k's script
            following = take(entries) if entries else None  # while Redis runs batch k's script
            if prepared:
                applied += conn.call_reply(prepared, pending_read=bool(entries))
            prepared = following
    finally:
        conn.close()
    r.xtrim(stream, minid=int(time.time() * 1000) - ttl * 1000, approximate=True)
    return applied


def _entries(reply: Any) -> Entries:
    """XREADGROUP's raw reply (RESP3: {stream: entries}; RESP2: [[stream, entries]]) as
    [(id, {field: value})]; no reply (nil) when nothing is new."""
    if not reply:
        return []
    entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
    return [(eid, dict(zip(flat[::2], flat[1::2], strict=True)) if flat else {}) for eid, flat in entries]


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
def hour_at(hour_index: int) -> str:
    """The UTC hour `hour_index` hours after the epoch, as 'yyyymmddhh'."""
    return datetime.fromtimestamp(hour_index * 3600, UTC).strftime("%Y%m%d%H")


def hour_of(ts_ms: int) -> str:
    """The UTC hour of a time in ms, as 'yyyymmddhh'."""
    return hour_at(ts_ms // 3_600_000)
