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

from tracker import botrules, keys, localtime, useragent
from tracker.brands.model import get_brand
from tracker.db import scripts
from tracker.useragent import classify
from workers.archive import Writer
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_at, since_posting

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
    known = Known(RULES.of(brand_id), zone)

    def build(r: redis.Redis, brand_id: str, stream: str, entries: Entries, _ttl: int, posted: PostedAt) -> Prepared:
        return _prepare(r, brand_id, stream, entries, marker_ttl, posted, shard=shard, archive=archive, zone=zone,
                        cap=cap, known=known)  # fmt: skip

    try:
        return fold(r, brand_id, keys.clicks_stream(brand_id, shard), build, consumer, cfg, batch_size, progress)
    finally:
        archive.close()


Agent = tuple[str, str, str, str, str, str, str]  # family, browser, OS, device; breakdown device type, browser, OS
HEAD_AGENT: Agent = (botrules.HEAD, "", "", "", scripts.UNKNOWN, scripts.UNKNOWN, scripts.UNKNOWN)


class Known:
    """What one run works out once: per user agent what it is (classified, then the brand's
    patterns), per quarter hour its UTC hour, the hour before and its local hour."""

    def __init__(self, rules: botrules.Rules, zone: str):
        self.rules, self.zone = rules, zone
        self.agents: dict[str, Agent] = {}
        self.quarters: dict[int, tuple[str, str, str]] = {}

    def agent(self, ua: str, a: useragent.Agent) -> Agent:
        family, browser, os_ = self.rules.family(ua, a.family), a.browser, a.os
        known = (family, browser, os_, a.device, device_type(ua, os_, a.device) or scripts.UNKNOWN,
                 *(v if v and v != "Other" else scripts.UNKNOWN for v in (browser, os_)))  # fmt: skip
        self.agents[ua] = known
        return known

    def hours(self, quarter: int) -> tuple[str, str, str]:
        hour, local = quarter // 4, localtime.local_hour(quarter * QUARTER, self.zone)
        known = self.quarters[quarter] = (hour_at(hour), hour_at(hour - 1), local)
        return known


QUARTER = localtime.QUARTER_MS  # hours of every zone start on a quarter hour


def _prepare(
    r: redis.Redis, brand_id: str, stream: str, entries: Entries, marker_ttl: int, posted: PostedAt, *,
    shard: int, archive: Writer, zone: str = localtime.DEFAULT, cap: int = scripts.DEFAULT_BREAKDOWN_CAP,
    known: Known | None = None,
) -> Prepared:  # fmt: skip
    """Archive a batch, and say the run of the apply script that counts it; None when none is needed."""
    known = known or Known(RULES.of(brand_id), zone)
    agents, quarters = known.agents, known.quarters
    batch = scripts.ClickBatch(brand_id=brand_id, shard=shard, stream=stream, group=GROUP, marker_ttl=marker_ttl,
                               cap=cap)  # fmt: skip
    add, events = batch.add, []
    click_digest, visitor_digest = scripts.click_digest, scripts.visitor_digest
    for entry_id, raw in entries:
        if not raw:  # deleted (trimmed) while pending: acknowledge, nothing to count
            r.xack(stream, GROUP, entry_id)
            continue
        f = {k.decode(): v.decode() for k, v in raw.items()}
        if f.get("m") == "HEAD":  # a bot hit by rule: not worth classifying
            agent = HEAD_AGENT
        else:
            ua = f.get("ua", "")
            classified = classify(ua)  # cached: what the classifier's metrics count, hit or miss
            agent = agents.get(ua) or known.agent(ua, classified)
        family = agent[0]
        link, promotion, ts = f["l"], f["p"], int(f["t"])
        quarter = ts // QUARTER
        hour, before, local_hour = quarters.get(quarter) or known.hours(quarter)
        dims = scripts.NO_DIMS if family else (
            f.get("r", "").lower().strip() or scripts.DIRECT, f.get("cc", "").upper().strip() or scripts.UNKNOWN,
            *agent[4:])  # fmt: skip
        add(entry_id, click_digest(f["id"]), link, promotion, ts, hour, before, visitor_digest(f.get("v", "")), family,
            since_posting(ts, posted(promotion)), local_hour, dims)  # fmt: skip
        f["e"], f["bot"], f["browser"], f["os"], f["device"] = entry_id.decode(), *agent[:4]
        events.append(f)
    if not events:
        return None
    archive.write(events)  # before the script deletes them from the stream
    return batch.call()


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
