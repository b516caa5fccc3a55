"""Fold the conversion streams into roll-ups: orders and refunds, each entry exactly once.

Attributed orders go to their promotion's hash: per hour of the order ('<yyyymmddhh>:…') and
per hour since the promotion was posted ('s<n>:…', exact, for the 24-hour share and the
curves). Revenue is net: a refund subtracts from the bucket of its order, and an order fully
refunded stops being a conversion. Unattributed orders go to the brand's own hash, by reason.
An order attributed by a click also adds to its link's all-time totals (reports by channel).
Attributed orders also count in the series of their local day (the brand's time zone of the run):
their link's, or their promotion's own ('p:<id>') when no click attributed them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis

from tracker import keys, localtime
from tracker.brands.model import get_brand
from tracker.db import scripts
from tracker.db.scripts import Target
from tracker.ttc import ttc_bin
from workers.streams import GROUP, Entries, PostedAt, Prepared, fold, hour_of, since_posting


def consume(
    r: redis.Redis, brand_id: str, consumer: str, cfg: dict[str, Any], batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Fold the brand's new orders and refunds into its roll-ups; returns how many were applied."""
    zone = localtime.zone_name(get_brand(r, brand_id))  # a change of zone applies from this run on

    def build(r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt) -> Prepared:
        return _prepare(r, brand_id, stream, entries, ttl, posted, zone)

    return fold(r, brand_id, keys.conversions_stream(brand_id), build, consumer, cfg, batch_size, progress)


def _targets(
    brand_id: str, f: dict[str, str], record: dict[str, Any] | None, posted: PostedAt, zone: str = localtime.DEFAULT
) -> list[Target]:
    """What one entry adds where: the operations of the apply script on each key."""
    hist: list[int] = []
    if f["kind"] == "order":
        status, promotion, reason = f["status"], f["promotion"], f.get("reason", "")
        link = f.get("link", "")  # absent from orders recorded before links had totals of their own
        at, currency, amount, refunded = int(f["at"]), f["currency"], int(f["amount"]), int(f.get("refunded", 0))
        counts = 0 if refunded >= amount > 0 else 1
        net = amount - refunded
        if status == "attributed" and f.get("click_at"):
            hist.append(ttc_bin((at - int(f["click_at"])) // 1000))
    else:  # a refund: its delta lands in the bucket of its order
        if record is None:
            return []
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
        link = (attribution.get("click") or {}).get("link_id") or ""
        net, refunded = -delta, delta
    hour = hour_of(at)
    day = hour[:8]
    if status != "attributed":
        metrics = [("orders", counts), (f"revenue:{currency}", net)]
        if f["kind"] == "order":
            metrics.append((f"reason:{reason}", 1))
        metrics = [(m, v) for m, v in metrics if v]
        return [
            Target(keys.unattributed_hours(brand_id), "h", [(f"{hour}:{m}", v) for m, v in metrics]),
            Target(keys.unattributed_days(brand_id), "h", [(f"{day}:{m}", v) for m, v in metrics]),
        ]
    if not promotion:
        return []
    metrics = [("conversions", counts), (f"revenue:{currency}", net), (f"refunds:{currency}", refunded)]
    metrics = [(m, v) for m, v in metrics if v]
    prefix = since_posting(at, posted(promotion))
    since = [(f"{prefix}:conversions", counts), (f"{prefix}:revenue:{currency}", net)] if prefix else []
    all_time = keys.promotion_all_time(brand_id, promotion)
    local = localtime.local_hour(at, zone)
    series = keys.day_series(brand_id, f"l:{link}" if link else f"p:{promotion}", local[:8])
    daily = [(f"{h}{m}", v) for h in ("", f"h{local[8:]}:") for m, v in metrics if not m.startswith("refunds:")]
    return [
        Target(keys.promotion_hours(brand_id, promotion), "h", [(f"{hour}:{m}", v) for m, v in metrics]),
        Target(keys.promotion_days(brand_id, promotion), "h", [(f"{day}:{m}", v) for m, v in metrics]),
        Target(keys.promotion_since(brand_id, promotion), "h", [(k, v) for k, v in since if v]),
        Target(all_time, "h", metrics),
        Target(all_time, "s", [day] if f["kind"] == "order" else []),
        Target(keys.ttc_histogram(brand_id, promotion), "h", [(f"{day}:{b}", 1) for b in hist]),
        Target(keys.ttc_all_time(brand_id, promotion), "b", hist),
        Target(keys.link_totals(brand_id, link), "h", metrics if link else []),  # what reports by channel sum
        Target(series, "h", daily),  # the day's and the local hour's: what series read
    ]


def _prepare(
    r: redis.Redis, brand_id: str, stream: str, entries: Entries, ttl: int, posted: PostedAt,
    zone: str = localtime.DEFAULT,
) -> Prepared:  # fmt: skip
    """One run of the apply script for a batch; None when none is needed."""
    decoded = [(eid, {k.decode(): v.decode() for k, v in raw.items()} if raw else None) for eid, raw in entries]
    refund_ids = sorted({f["id"] for _, f in decoded if f and f["kind"] == "refund"})
    records = {}
    if refund_ids:
        raws = r.hmget(keys.conversions(brand_id), refund_ids)
        records = {i: json.loads(raw) for i, raw in zip(refund_ids, raws, strict=True) if raw}
    events: list[scripts.ConversionEvent] = []
    for entry_id, f in decoded:
        if f is None:
            r.xack(stream, GROUP, entry_id)
            continue
        targets = [t for t in _targets(brand_id, f, records.get(f["id"]), posted, zone) if t.items]
        events.append(scripts.ConversionEvent(entry_id, targets))
    if not events:
        return None
    return scripts.apply_conversions(brand_id=brand_id, stream=stream, group=GROUP, marker_ttl=ttl, events=events)
