"""Fold the click streams into counters: each click counted exactly once.

A worker reads each brand's stream through a consumer group, classifies user agents (bots and
their family, browser, OS, device; cached), applies the brand's own patterns on top (loaded once
per run, compiled again only when they changed), and applies a batch with one Lua script that
counts and acknowledges together, skipping any click id already counted. A HEAD request is a bot
hit by rule (family "head"), never classified. Entries a killed worker left pending are claimed
after CLAIM_IDLE_SECONDS by whichever worker runs next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from tracker import botrules, keys
from tracker.db import scripts
from tracker.useragent import classify
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting

RULES = botrules.Cache()  # brands' own patterns, per worker process


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new clicks into its counters; returns how many were counted."""
    RULES.load(r, brand_id)  # a change of the brand's patterns applies from this run on
    return fold(r, brand_id, keys.clicks_stream(brand_id), _prepare, consumer, cfg, batch_size, progress)


def _prepare(r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> Prepared:
    """One run of the apply script for a batch; None when none is needed."""
    batch: list[scripts.Click] = []
    rules = RULES.of(brand_id)
    for entry_id, f in entries:
        if not f:  # deleted (trimmed) while pending: acknowledge, nothing to count
            r.xack(stream, GROUP, entry_id)
            continue
        head = f.get(b"m") == b"HEAD"
        if head:  # a bot hit by rule: not worth classifying
            family, browser, os_, device = botrules.HEAD, "", "", ""
        else:
            ua = f.get(b"ua", b"").decode()
            agent = classify(ua)
            family, browser, os_, device = rules.family(ua, agent.family), agent.browser, agent.os, agent.device
        link, promotion, ts = f[b"l"].decode(), f[b"p"].decode(), int(f[b"t"])
        visitor = f.get(b"v", b"").decode()
        # The click's record: link|promotion|ms|visitor|bot|head|browser|os|device|referrer|country
        record = (
            f"{link}|{promotion}|{ts}|{visitor}|{bool(family):d}|{head:d}|{browser}|{os_}|{device}|"
            f"{f.get(b'r', b'').decode()}|{f.get(b'cc', b'').decode()}"
        )
        batch.append(scripts.Click(entry_id, f[b"id"].decode(), link, promotion, ts, hour_of(ts), visitor, family,
                                   record, since_posting(ts, posted(promotion))))  # fmt: skip
    if not batch:
        return None
    return scripts.apply_clicks(brand_id=brand_id, stream=stream, group=GROUP, record_ttl=ttl, clicks=batch)
