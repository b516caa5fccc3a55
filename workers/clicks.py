"""Fold the click streams into counters: each click counted exactly once.

A worker reads each brand's stream through a consumer group, classifies user agents (bots,
browser, OS, device; cached), and applies a batch with one Lua script that counts and
acknowledges together, skipping any click id already counted. Entries a killed worker left
pending are claimed after CLAIM_IDLE_SECONDS by whichever worker runs next.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import redis

from tracker import keys, scripts
from tracker.rawredis import Raw
from tracker.useragent import classify
from workers.streams import GROUP, Entries, drain


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


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new clicks into its counters; returns how many were counted."""
    stream = keys.clicks_stream(brand_id)
    raw = Raw(r)

    def apply(keys: list[str], args: list[Any]) -> Any:
        return raw.script(scripts.APPLY_CLICKS, keys, args)

    ttl = cfg["EVENT_RETENTION_DAYS"] * 86400
    posted = PostedAt(r, brand_id)

    def apply_batch(entries: Entries) -> int:
        return _apply(r, apply, brand_id, stream, entries, ttl, posted)

    _, counted = drain(r, stream, consumer, cfg["CLAIM_IDLE_SECONDS"] * 1000, batch_size, apply_batch, progress)
    r.xtrim(stream, minid=int(time.time() * 1000) - ttl * 1000, approximate=True)
    return counted


def _apply(r: redis.Redis, apply: Any, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> int:
    pairs: list[str] = []  # per event: click record key, last-unique key
    shared: dict[str, int] = {}  # link totals and promotion hours keys, passed once per batch
    argv: list[Any] = [GROUP, ttl]
    for entry_id, f in entries:
        if not f:  # deleted (trimmed) while pending: acknowledge, nothing to count
            r.xack(stream, GROUP, entry_id)
            continue
        agent = classify(f.get(b"ua", b"").decode())
        head = f.get(b"m") == b"HEAD"
        link, promotion, ts = f[b"l"].decode(), f[b"p"].decode(), int(f[b"t"])
        visitor = f.get(b"v", b"").decode()
        click_key = keys.click(brand_id, f[b"id"].decode())
        pairs += [click_key, keys.last_unique(brand_id, link, visitor) if visitor else click_key]
        totals = shared.setdefault(keys.link_totals(brand_id, link), len(shared))
        hours = shared.setdefault(keys.promotion_hours(brand_id, promotion), len(shared))
        days = shared.setdefault(keys.promotion_days(brand_id, promotion), len(shared))
        bot = agent.bot or head
        # The click's record: link|promotion|ms|visitor|bot|head|browser|os|device|referrer|country
        record = (
            f"{link}|{promotion}|{ts}|{visitor}|{bot:d}|{head:d}|{agent.browser}|{agent.os}|{agent.device}|"
            f"{f.get(b'r', b'').decode()}|{f.get(b'cc', b'').decode()}"
        )
        argv += [entry_id, ts, hour_of(ts), b"1" if bot else b"0", record, since_posting(ts, posted(promotion)),
                 totals, hours, days]  # fmt: skip
    if not pairs:
        return 0
    return int(apply(keys=[stream, *pairs, *shared], args=argv))
