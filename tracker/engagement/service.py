"""A promotion's post metrics, as the API, the dashboard and the influencer's page change them: the
brand's series (replaced, added to, imported from CSV), the influencer's reports (kept apart until
confirmed or rejected). Storage and date rules in `tracker.engagement.model`."""

from __future__ import annotations

import json
from typing import Any

from tracker import keys
from tracker.engagement import model
from tracker.errors import NotFound, Unreadable
from tracker.promotions import service as promotions
from tracker.records import now_iso
from tracker.scope import Scope


def _document(scope: Scope, promotion: dict[str, Any]) -> dict[str, Any]:
    snapshots = model.series(scope.r, scope.brand_id, promotion["id"])
    return {
        "promotion_id": promotion["id"],
        "followers": promotion.get("followers") or 0,
        "latest": snapshots[-1] if snapshots else None,
        "series": snapshots,
        "self_reported": model.self_reported(scope.r, scope.brand_id, promotion["id"]),
    }


def document(scope: Scope, promotion_id: str) -> dict[str, Any]:
    """A promotion's metrics: the brand's series, its latest snapshot, the self-reported ones."""
    return _document(scope, promotions.load(scope, promotion_id))


def replace_series(scope: Scope, promotion_id: str, snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace the brand's whole series of a promotion (all or nothing; an empty list clears it)."""
    promotion = promotions.load(scope, promotion_id)
    model.check_dates(promotion, snapshots, "series")
    add = {s["date"].isoformat(): model.as_stored(s, "brand") for s in snapshots}
    model.write_series(scope.r, keys.promotion_metrics(scope.brand_id, promotion["id"]), add, replace=True)
    return _document(scope, promotion)


def add(scope: Scope, promotion_id: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Add one snapshot to the brand's series (replacing the brand's snapshot of that date)."""
    promotion = promotions.load(scope, promotion_id)
    model.add_snapshots(scope.r, scope.brand_id, promotion, [snapshot])
    return _document(scope, promotion)


def import_csv(scope: Scope, promotion_id: str, body: bytes, load_row: Any) -> dict[str, Any]:
    """Add the snapshots of a CSV file (its rows loaded by `load_row`), all or nothing: the first
    problem names its line and column."""
    promotion = promotions.load(scope, promotion_id)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("body", "not UTF-8 text") from None
    rows = model.read_csv(text, load_row)
    model.check_rows(promotion, rows)
    snapshots = [{k: v for k, v in row.items() if k != "_line"} for row in rows]
    model.add_snapshots(scope.r, scope.brand_id, promotion, snapshots)
    return _document(scope, promotion)


def _no_report(promotion_id: str, day: str) -> NotFound:
    return NotFound("self-reported metrics", day, f"no self-reported metrics of {day} for promotion {promotion_id}")


def confirm(scope: Scope, promotion_id: str, day: str) -> dict[str, Any]:
    """Copy the influencer's report of `day` into the brand's series (replacing the brand's own
    snapshot of that day, if any): from then on it counts in reports."""
    promotion = promotions.load(scope, promotion_id)
    key = keys.promotion_self_metrics(scope.brand_id, promotion_id)
    raw = scope.r.hget(key, day) if model.DAY.fullmatch(day) else None
    if raw is None:
        raise _no_report(promotion_id, day)
    record = {**json.loads(raw), "confirmed_at": now_iso()}
    model.write_series(scope.r, keys.promotion_metrics(scope.brand_id, promotion_id), {day: record}, replace=False)
    scope.r.hdel(key, day)
    return _document(scope, promotion)


def reject(scope: Scope, promotion_id: str, day: str) -> None:
    """Drop what the influencer reported for a day (it never counts)."""
    promotions.load(scope, promotion_id)
    if not model.DAY.fullmatch(day) or not scope.r.hdel(keys.promotion_self_metrics(scope.brand_id, promotion_id), day):
        raise _no_report(promotion_id, day)


def self_report(scope: Scope, promotion: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, Any]:
    """The influencer's own figures for a day, for one of their promotions (`promotions.service.of_influencer`),
    kept apart until the brand confirms them (a later report of the same day replaces it)."""
    model.check_dates(promotion, [snapshot])
    record = model.as_stored(snapshot, "influencer")
    scope.r.hset(keys.promotion_self_metrics(scope.brand_id, promotion["id"]), record["date"], json.dumps(record))
    return record
