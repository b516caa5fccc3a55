"""Influencers: a handle on a platform (unique per brand), followers, and the tier they give."""

from __future__ import annotations

from typing import Any

from tracker.errors import Conflict
from tracker.records import new_id, now_iso
from tracker.scope import Scope
from tracker.store import Taken
from tracker.tiers import tier_for

KIND = "influencer"


def with_tier(record: dict[str, Any], brand: dict[str, Any]) -> dict[str, Any]:
    """The record with its tier, from its followers and the brand's thresholds (or pinned)."""
    return {**record, "tier": tier_for(record["followers"], brand["tier_thresholds"], record.get("tier_override"))}


def load(scope: Scope, influencer_id: str) -> dict[str, Any]:
    """The stored record (NotFound if it is not this brand's)."""
    return scope.store.load(KIND, influencer_id)


def _unique(record: dict[str, Any]) -> dict[str, list[str]]:
    return {"influencer": [f"{record['platform']}:{record['handle'].lower()}"]}


def _save(scope: Scope, record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    record["handle"] = record["handle"].lstrip("@")
    try:
        scope.store.save(KIND, record, _unique(record), _unique(old) if old else None)
    except Taken:
        raise Conflict("handle", f"{record['platform']} handle @{record['handle']} already exists.") from None
    return with_tier(record, scope.brand)


def get(scope: Scope, influencer_id: str) -> dict[str, Any]:
    return with_tier(load(scope, influencer_id), scope.brand)


def get_page(scope: Scope, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the brand's influencers in creation order, and their total."""
    items, total = scope.store.page(KIND, page, page_size)
    return [with_tier(i, scope.brand) for i in items], total


def create(scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    """A new influencer; Conflict on `handle` if the brand has that handle on that platform."""
    now = now_iso()
    return _save(scope, {**data, "id": new_id(), "created_at": now, "updated_at": now})


def update(scope: Scope, influencer_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    old = load(scope, influencer_id)
    return _save(scope, {**old, **changes, "updated_at": now_iso()}, old)
