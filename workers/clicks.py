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

from tracker import botrules, keys, scripts
from tracker.useragent import classify
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting

RULES = botrules.Cache()  # brands' own patterns, per worker process


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new clicks into its counters; returns how many were counted."""
    RULES.load(r, brand_id)  # a change of the brand's patterns applies from this run on
    return fold(r, brand_id, keys.clicks_stream(brand_id), scripts.APPLY_CLICKS, _prepare, consumer, cfg, batch_size,
                progress)  # fmt: skip


def _prepare(r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> Prepared:
    """The keys and arguments of one run of the apply script for a batch; None when none is needed."""
    pairs: list[str] = []  # per event: click record key, last-unique key
    shared: dict[str, int] = {}  # link totals and promotions' 4 keys, passed once per batch
    argv: list[Any] = [GROUP, ttl]
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
        click_key = keys.click(brand_id, f[b"id"].decode())
        pairs += [click_key, keys.last_unique(brand_id, link, visitor) if visitor else click_key]
        totals = shared.setdefault(keys.link_totals(brand_id, link), len(shared))
        first = keys.promotion_hours(brand_id, promotion)
        if first not in shared:
            for key in (first, keys.promotion_days(brand_id, promotion), keys.promotion_since(brand_id, promotion),
                        keys.promotion_all_time(brand_id, promotion)):  # fmt: skip
                shared[key] = len(shared)
        # The click's record: link|promotion|ms|visitor|bot|head|browser|os|device|referrer|country
        record = (
            f"{link}|{promotion}|{ts}|{visitor}|{bool(family):d}|{head:d}|{browser}|{os_}|{device}|"
            f"{f.get(b'r', b'').decode()}|{f.get(b'cc', b'').decode()}"
        )
        argv += [entry_id, ts, hour_of(ts), family, record, since_posting(ts, posted(promotion)), totals,
                 shared[first]]  # fmt: skip
    if not pairs:
        return None
    return [stream, *pairs, *shared], argv
