"""Fold the click streams into counters: each click counted exactly once.

A worker reads each brand's stream through a consumer group, classifies user agents (bots,
browser, OS, device; cached), and applies a batch with one Lua script that counts and
acknowledges together, skipping any click id already counted. Entries a killed worker left
pending are claimed after CLAIM_IDLE_SECONDS by whichever worker runs next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from tracker import keys, scripts
from tracker.useragent import classify
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new clicks into its counters; returns how many were counted."""
    return fold(r, brand_id, keys.clicks_stream(brand_id), scripts.APPLY_CLICKS, _prepare, consumer, cfg, batch_size,
                progress)  # fmt: skip


def _prepare(r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> Prepared:
    """The keys and arguments of one run of the apply script for a batch; None when none is needed."""
    pairs: list[str] = []  # per event: click record key, last-unique key
    shared: dict[str, int] = {}  # link totals and promotions' 4 keys, passed once per batch
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
        first = keys.promotion_hours(brand_id, promotion)
        if first not in shared:
            for key in (first, keys.promotion_days(brand_id, promotion), keys.promotion_since(brand_id, promotion),
                        keys.promotion_all_time(brand_id, promotion)):  # fmt: skip
                shared[key] = len(shared)
        bot = agent.bot or head
        # The click's record: link|promotion|ms|visitor|bot|head|browser|os|device|referrer|country
        record = (
            f"{link}|{promotion}|{ts}|{visitor}|{bot:d}|{head:d}|{agent.browser}|{agent.os}|{agent.device}|"
            f"{f.get(b'r', b'').decode()}|{f.get(b'cc', b'').decode()}"
        )
        argv += [entry_id, ts, hour_of(ts), b"1" if bot else b"0", record, since_posting(ts, posted(promotion)),
                 totals, shared[first]]  # fmt: skip
    if not pairs:
        return None
    return [stream, *pairs, *shared], argv
