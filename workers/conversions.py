"""Fold the conversion streams into roll-ups: orders and refunds, each entry exactly once.

Attributed orders go to their promotion's hash: per hour of the order ('<yyyymmddhh>:…') and
per hour since the promotion was posted ('s<n>:…', exact, for the 24-hour share and the
curves). Revenue is net: a refund subtracts from the bucket of its order, and an order fully
refunded stops being a conversion. Unattributed orders go to the brand's own hash, by reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from tracker import keys, scripts
from tracker.rawredis import Raw
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting

TTC_BASE = 1.04  # time-to-conversion histogram bins grow 4% each: medians to within ~2%
TTC_ALL_TIME = "ttc-all-time"  # the migration that added the all-time histograms (2026-11)


TTC_MAX_BIN = 441  # 366 days: attribution windows are at most 365


def ttc_bin(seconds: int) -> int:
    return min(int(math.log(max(seconds, 1), TTC_BASE)), TTC_MAX_BIN)


def ttc_value(bin_: int) -> int:
    """The representative time (seconds) of a bin: its geometric middle."""
    return round(TTC_BASE ** (bin_ + 0.5))


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new orders and refunds into its roll-ups; returns how many were applied."""
    migrate(r, brand_id)
    return fold(r, brand_id, keys.conversions_stream(brand_id), scripts.APPLY_CONVERSIONS, _prepare, consumer, cfg,
                batch_size, progress)  # fmt: skip


def migrate(r: redis.Redis, brand_id: str) -> None:
    """Roll-ups made before a change of their layout are brought up to it, once per brand."""
    if r.hexists(keys.schema(brand_id), TTC_ALL_TIME):
        return
    promotions = sorted(p.decode() for p in r.hkeys(keys.entities(brand_id, "promotion")))
    ttc_keys = [k for p in promotions for k in (keys.ttc_histogram(brand_id, p), keys.ttc_all_time(brand_id, p))]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    Raw(r).script(scripts.MIGRATE_TTC_ALL_TIME, [keys.schema(brand_id), *ttc_keys], [TTC_ALL_TIME, when])


def _increments(f: dict[str, str], record: dict[str, Any] | None, posted: PostedAt) -> tuple[str, list, list, list]:
    """(target, hourly [(field, delta)], daily [(field, delta)], [(day histogram field, bin)]) for one entry."""
    if f["kind"] == "order":
        status, promotion, reason = f["status"], f["promotion"], f.get("reason", "")
        at, currency, amount, refunded = int(f["at"]), f["currency"], int(f["amount"]), int(f.get("refunded", 0))
        counts = 0 if refunded >= amount > 0 else 1
        net, hist = amount - refunded, []
        if status == "attributed" and f.get("click_at"):
            ttc = (at - int(f["click_at"])) // 1000
            bin_ = ttc_bin(ttc)
            hist.append((f"{hour_of(at)[:8]}:{bin_}", bin_))
    else:  # a refund: its delta lands in the bucket of its order
        if record is None:
            return "", [], [], []
        attribution = record["attribution"]
        status, promotion, reason = (
            attribution["status"],
            attribution.get("promotion_id") or "",
            attribution.get("reason", ""),
        )
        at = int(datetime.fromisoformat(record["occurred_at"].replace("Z", "+00:00")).timestamp() * 1000)
        currency, delta = record["currency"], int(f["amount"])
        total, cap = int(f["total"]), int(f["cap"])
        counts = -1 if total >= cap > total - delta else 0
        net, refunded, hist = -delta, delta, []
    hour = hour_of(at)
    if status != "attributed":
        metrics = [("orders", counts), (f"revenue:{currency}", net)]
        if f["kind"] == "order":
            metrics.append((f"reason:{reason}", 1))
        since = []
    else:
        metrics = [("conversions", counts), (f"revenue:{currency}", net), (f"refunds:{currency}", refunded)]
        prefix = since_posting(at, posted(promotion))
        since = [(f"{prefix}:conversions", counts), (f"{prefix}:revenue:{currency}", net)] if prefix else []
        hist = hist if promotion else []
    hourly = [(f"{hour}:{m}", v) for m, v in metrics if v]
    daily = [(f"{hour[:8]}:{m}", v) for m, v in metrics if v] + [(k, v) for k, v in since if v]
    return ("unattributed" if status != "attributed" else promotion), hourly, daily, hist


def _prepare(r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> Prepared:
    """The keys and arguments of one run of the apply script for a batch; None when none is needed."""
    decoded = [(eid, {k.decode(): v.decode() for k, v in raw.items()} if raw else None) for eid, raw in entries]
    refund_ids = sorted({f["id"] for _, f in decoded if f and f["kind"] == "refund"})
    records = {}
    if refund_ids:
        raws = r.hmget(keys.conversions(brand_id), refund_ids)
        records = {i: json.loads(raw) for i, raw in zip(refund_ids, raws, strict=True) if raw}
    keys_: list[str] = [stream]
    argv: list[Any] = [GROUP, ttl]
    for entry_id, f in decoded:
        if f is None:
            r.xack(stream, GROUP, entry_id)
            continue
        target, hourly, daily, hist = _increments(f, records.get(f["id"]), posted)
        marker = keys.applied_event(brand_id, entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
        if not target:
            keys_ += [marker, marker, marker, marker, marker]
        elif target == "unattributed":
            keys_ += [marker, keys.unattributed_hours(brand_id), keys.unattributed_days(brand_id), marker, marker]
        else:
            keys_ += [
                marker,
                keys.promotion_hours(brand_id, target),
                keys.promotion_days(brand_id, target),
                keys.ttc_histogram(brand_id, target),
                keys.ttc_all_time(brand_id, target),
            ]
        argv += [entry_id, len(hourly), *[x for pair in hourly for x in pair]]
        argv += [len(daily), *[x for pair in daily for x in pair], len(hist), *[x for pair in hist for x in pair]]
    if len(keys_) == 1:
        return None
    return keys_, argv
