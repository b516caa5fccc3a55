"""Campaigns: a slug (the utm_campaign, unique per brand), a destination, dates, discount codes
(unique per brand with the promotions' codes)."""

from __future__ import annotations

from typing import Any

from tracker import discounts
from tracker.errors import Conflict, Invalid
from tracker.records import iso, new_id, now_iso
from tracker.scope import Scope
from tracker.store import Taken

KIND = "campaign"


def load(scope: Scope, campaign_id: str) -> dict[str, Any]:
    """The stored record (NotFound if it is not this brand's)."""
    return scope.store.load(KIND, campaign_id)


def get(scope: Scope, campaign_id: str) -> dict[str, Any]:
    return load(scope, campaign_id)


def get_page(scope: Scope, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the brand's campaigns in creation order, and their total."""
    return scope.store.page(KIND, page, page_size)


def forget_codes(scope: Scope, *records: dict[str, Any] | None) -> None:
    """Drop this process's cached owners of the records' discount codes (after a change)."""
    for record in records:
        for code in (record or {}).get("discount_codes") or []:
            scope.lookups.forget("discount", scope.brand_id, code.upper())


def _unique(record: dict[str, Any]) -> dict[str, list[str]]:
    return {"campaign_slug": [record["slug"]], discounts.INDEX: discounts.index_values(record["discount_codes"])}


def _save(scope: Scope, record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    for name in ("starts_on", "ends_on"):
        record[name] = iso(record.get(name))
    forget_codes(scope, record, old)
    try:
        return scope.store.save(KIND, record, _unique(record), _unique(old) if old else None)
    except Taken as exc:
        if exc.field == "campaign_slug":
            raise Conflict("slug", f"slug {exc.value!r} is already used by another campaign.") from None
        raise Conflict("discount_codes", discounts.conflict_message(exc)) from None


def create(scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    """A new campaign; Conflict on `slug` or `discount_codes` when another record holds them."""
    now = now_iso()
    return _save(scope, {**data, "id": new_id(), "created_at": now, "updated_at": now})


def update(scope: Scope, campaign_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a campaign; Invalid on `ends_on` if the dates end up out of order."""
    old = load(scope, campaign_id)
    merged = {**old, **changes, "updated_at": now_iso()}
    if merged.get("ends_on") and str(merged["ends_on"]) < str(merged["starts_on"]):
        raise Invalid("ends_on", "Must not be before starts_on.")
    return _save(scope, merged, old)
