"""Fold the click streams into counters: each click counted exactly once.

A worker reads each brand's stream through a consumer group, classifies user agents (bots,
browser, OS, device; cached), and applies a batch with one Lua script that counts and
acknowledges together, skipping any click id already counted. Entries a killed worker left
pending are claimed after CLAIM_IDLE_SECONDS by whichever worker runs next.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import redis
from rq import get_current_job

from tracker import keys, scripts
from tracker.useragent import classify
from workers import data_redis, settings

GROUP = "rollup"


def process_clicks(brand_id: str | None = None, batch_size: int = 500) -> dict[str, int]:
    """Roll up every brand's new clicks (or one brand's); returns counts for the job result."""
    r = data_redis()
    cfg = settings()
    brand_ids = [brand_id] if brand_id else sorted(b.decode() for b in r.smembers(keys.brands()))
    consumer = f"{socket.gethostname()}:{os.getpid()}"
    job = get_current_job()
    totals = {"brands": len(brand_ids), "events": 0, "counted": 0}
    for n, b in enumerate(brand_ids, 1):
        events, counted = consume(r, b, consumer, cfg, batch_size)
        totals["events"] += events
        totals["counted"] += counted
        if job is not None:
            job.meta["progress"] = {"brands_done": n, "brands": len(brand_ids), **totals}
            job.save_meta()
    return totals


def consume(r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int) -> tuple[int, int]:
    stream = keys.clicks_stream(brand_id)
    try:
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    apply = r.register_script(scripts.APPLY_CLICKS)
    ttl = cfg["EVENT_RETENTION_DAYS"] * 86400
    events = counted = 0
    # First what a crashed consumer left unacknowledged, then what nobody has read yet.
    start = "0-0"
    while True:
        reply = r.xautoclaim(stream, GROUP, consumer, cfg["CLAIM_IDLE_SECONDS"] * 1000, start, count=batch_size)
        start, entries = reply[0], reply[1]
        events += len(entries)
        counted += _apply(r, apply, brand_id, stream, entries, ttl)
        if start in (b"0-0", "0-0"):
            break
    while True:
        reply = r.xreadgroup(GROUP, consumer, {stream: ">"}, count=batch_size)
        if not reply or not reply[0][1]:
            break
        entries = reply[0][1]
        events += len(entries)
        counted += _apply(r, apply, brand_id, stream, entries, ttl)
    now_ms = int(time.time() * 1000)
    r.xtrim(stream, minid=now_ms - ttl * 1000, approximate=True)
    with r.pipeline(transaction=True) as p:
        p.hset(keys.rollup_state(brand_id), "clicks_at", datetime.now(UTC).isoformat(timespec="seconds"))
        p.hincrby(keys.rollup_state(brand_id), "clicks_counted", counted)
        p.execute()
    return events, counted


def _apply(r: redis.Redis, apply: Any, brand_id: str, stream: str, entries: list, ttl: int) -> int:
    if not entries:
        return 0
    keys_: list[str] = [stream]
    argv: list[Any] = [GROUP, ttl]
    for entry_id, raw in entries:
        if not raw:  # deleted (trimmed) while pending: acknowledge, nothing to count
            r.xack(stream, GROUP, entry_id)
            continue
        f = {k.decode(): v.decode() for k, v in raw.items()}
        agent = classify(f.get("ua", ""))
        bot = agent.bot or f.get("m") == "HEAD"
        ts = int(f["t"])
        record = {
            "link": f["l"],
            "promotion": f["p"],
            "ts": ts,
            "visitor": f.get("v", ""),
            "bot": bot,
            "head": f.get("m") == "HEAD",
            "browser": agent.browser,
            "os": agent.os,
            "device": agent.device,
            "referrer": f.get("r", ""),
            "country": f.get("cc", ""),
        }
        click_key = keys.click(brand_id, f["id"])
        visitor_key = keys.last_unique(brand_id, f["l"], f["v"]) if f.get("v") else click_key
        keys_ += [click_key, visitor_key, keys.link_totals(brand_id, f["l"]), keys.promotion_hours(brand_id, f["p"])]
        hour = datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y%m%d%H")
        argv += [entry_id, f["id"], ts, hour, "1" if bot else "0", json.dumps(record, separators=(",", ":"))]
    if len(keys_) == 1:
        return 0
    return int(apply(keys=keys_, args=argv))
