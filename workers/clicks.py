"""Fold the click streams into counters: each click counted exactly once.

A brand's clicks are spread over its click shards (tracker.keys); each shard is folded on its own
(`consume(..., shard=i)`, one RQ job per shard when there are several, see workers.rollup). A
worker reads a shard's stream through a consumer group, classifies user agents (bots and their
family, browser, OS, device; cached), applies the brand's own patterns on top (loaded once per
run, compiled again only when they changed), archives the batch (workers.archive, fsync'd) and
applies it with one Lua script that counts, acknowledges and deletes its entries together,
skipping any click id already counted (its digest in the shard's marker set of its hour, kept
CLICK_DEDUPE_DAYS). A HEAD request is a bot hit by rule (family "head"), never classified.
Entries a killed worker left pending are claimed after CLAIM_IDLE_SECONDS by whichever worker
runs next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from tracker import botrules, keys, localtime
from tracker.brands.model import get_brand
from tracker.db import scripts
from tracker.useragent import classify
from workers.archive import Writer
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting

RULES = botrules.Cache()  # brands' own patterns, per worker process


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None, shard: int = 0,
) -> int:  # fmt: skip
    """Fold one click shard's new clicks into its counters; returns how many were counted."""
    RULES.load(r, brand_id)  # a change of the brand's patterns applies from this run on
    archive = Writer(cfg["ARCHIVE_DIR"], brand_id, shard)
    marker_ttl = cfg["CLICK_DEDUPE_DAYS"] * 86400
    zone = localtime.zone_name(get_brand(r, brand_id))  # a change of zone applies from this run on
    cap = cfg["BREAKDOWN_VALUES_PER_DAY"]

    def build(r: redis.Redis, brand_id: str, stream: str, entries: Entries, _ttl: int, posted: PostedAt) -> Prepared:
        return _prepare(r, brand_id, stream, entries, marker_ttl, posted, shard=shard, archive=archive, zone=zone,
                        cap=cap)  # fmt: skip

    try:
        return fold(r, brand_id, keys.clicks_stream(brand_id, shard), build, consumer, cfg, batch_size, progress)
    finally:
        archive.close()


def _prepare(
    r: redis.Redis, brand_id: str, stream: str, entries: Entries, marker_ttl: int, posted: PostedAt, *,
    shard: int, archive: Writer, zone: str = localtime.DEFAULT, cap: int = scripts.DEFAULT_BREAKDOWN_CAP,
) -> Prepared:  # fmt: skip
    """Archive a batch, and say the run of the apply script that counts it; None when none is needed."""
    batch: list[scripts.Click] = []
    events: list[dict[str, Any]] = []
    rules = RULES.of(brand_id)
    for entry_id, raw in entries:
        if not raw:  # deleted (trimmed) while pending: acknowledge, nothing to count
            r.xack(stream, GROUP, entry_id)
            continue
        f = {k.decode(): v.decode() for k, v in raw.items()}
        head = f.get("m") == "HEAD"
        if head:  # a bot hit by rule: not worth classifying
            ua, family, browser, os_, device = "", botrules.HEAD, "", "", ""
        else:
            ua = f.get("ua", "")
            agent = classify(ua)
            family, browser, os_, device = rules.family(ua, agent.family), agent.browser, agent.os, agent.device
        link, promotion, ts, visitor = f["l"], f["p"], int(f["t"]), f.get("v", "")
        events.append({**f, "e": entry_id.decode(), "bot": family, "browser": browser, "os": os_, "device": device})
        batch.append(scripts.Click(entry_id, scripts.click_digest(f["id"]), link, promotion, ts, hour_of(ts),
                                   hour_of(ts - 3_600_000), scripts.visitor_digest(visitor), family,
                                   since_posting(ts, posted(promotion)), localtime.local_hour(ts, zone),
                                   _dims(f, device_type(ua, os_, device), browser, os_)))  # fmt: skip
    if not batch:
        return None
    archive.write(events)  # before the script deletes them from the stream
    return scripts.apply_clicks(brand_id=brand_id, shard=shard, stream=stream, group=GROUP, marker_ttl=marker_ttl,
                                clicks=batch, cap=cap)  # fmt: skip


DESKTOP_OS = ("Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "OpenBSD")


def device_type(ua: str, os_: str, device: str) -> str:
    """'mobile', 'tablet', 'desktop' or '' (not known), from the user agent, its OS and device."""
    if device == "iPad" or "Tablet" in ua or (os_ == "Android" and "Mobile" not in ua):
        return "tablet"
    if "Mobi" in ua or device == "iPhone" or os_ in ("iOS", "Android"):
        return "mobile"
    if os_ in DESKTOP_OS:
        return "desktop"
    return ""


def _dims(f: dict[str, str], device: str, browser: str, os_: str) -> tuple[str, str, str, str, str]:
    """A click's breakdown values: referrer host, country, device type, browser, OS (never '')."""
    host, country = f.get("r", "").lower().strip(), f.get("cc", "").upper().strip()
    browser, os_ = (v if v and v != "Other" else scripts.UNKNOWN for v in (browser, os_))
    return host or scripts.DIRECT, country or scripts.UNKNOWN, device or scripts.UNKNOWN, browser, os_
