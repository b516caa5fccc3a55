"""Promotions: one influencer's placement in one campaign, its style (long-running or timeboxed),
its cost terms and its discount codes (unique per brand with the campaigns' codes)."""

from __future__ import annotations

from typing import Any

from tracker import discounts
from tracker.campaigns import service as campaigns
from tracker.campaigns.service import forget_codes
from tracker.errors import Conflict, Invalid, NotFound
from tracker.influencers import service as influencers
from tracker.records import iso, new_id, now_iso
from tracker.scope import Scope
from tracker.store import Taken
from tracker.tiers import tier_for

KIND = "promotion"


def load(scope: Scope, promotion_id: str) -> dict[str, Any]:
    """The stored record (NotFound if it is not this brand's)."""
    return scope.store.load(KIND, promotion_id)


def of_influencer(scope: Scope, influencer_id: str, promotion_id: str) -> dict[str, Any]:
    """One of the influencer's own promotions (NotFound for any other: what their page may touch)."""
    record = scope.store.get(KIND, promotion_id)
    if record is None or record["influencer_id"] != influencer_id:
        raise NotFound(KIND, promotion_id)
    return record


def with_tier(record: dict[str, Any], influencer: dict[str, Any] | None, brand: dict[str, Any]) -> dict[str, Any]:
    """The record with its tier, from the followers at the time (or the influencer's pinned tier)."""
    pinned = influencer.get("tier_override") if influencer else None
    return {**record, "tier": tier_for(record["followers"], brand["tier_thresholds"], pinned)}


def _normalise(record: dict[str, Any], brand: dict[str, Any]) -> dict[str, Any]:
    if record["style"] == "timeboxed" and not record.get("window_hours"):
        record["window_hours"] = 24
    if record["style"] == "long_running":
        record["window_hours"] = None
    cost = dict(record.get("cost") or {})
    cost.setdefault("currency", brand["currency"])
    cost.setdefault("flat_fee", 0)
    cost.setdefault("cost_per_click", 0)
    cost["commission_percent"] = str(cost.get("commission_percent", "0"))
    record["cost"] = cost
    record["posted_at"] = iso(record.get("posted_at"))
    return record


def _save(scope: Scope, record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    unique = {discounts.INDEX: discounts.index_values(record["discount_codes"])}
    old_unique = {discounts.INDEX: discounts.index_values(old["discount_codes"])} if old else None
    try:
        return scope.store.save(KIND, _normalise(record, scope.brand), unique, old_unique)
    except Taken as exc:
        raise Conflict("discount_codes", discounts.conflict_message(exc)) from None
    finally:
        scope.lookups.forget("entity", scope.brand_id, KIND, record["id"])
        forget_codes(scope, record, old)


def _shown(scope: Scope, record: dict[str, Any]) -> dict[str, Any]:
    return with_tier(record, scope.store.get(influencers.KIND, record["influencer_id"]), scope.brand)


def get(scope: Scope, promotion_id: str) -> dict[str, Any]:
    return _shown(scope, load(scope, promotion_id))


def get_page(scope: Scope, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the brand's promotions in creation order (with their tiers), and their total."""
    items, total = scope.store.page(KIND, page, page_size)
    people = {i["id"]: i for i in scope.store.get_many(influencers.KIND, sorted({p["influencer_id"] for p in items}))}
    return [with_tier(p, people.get(p["influencer_id"]), scope.brand) for p in items], total


def create(scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    """A new promotion of one of the brand's campaigns and influencers (Invalid naming the id
    otherwise); platform and followers default to the influencer's now."""
    if scope.store.get(campaigns.KIND, data["campaign_id"]) is None:
        raise Invalid("campaign_id", f"No campaign {data['campaign_id']} in this brand.")
    influencer = scope.store.get(influencers.KIND, data["influencer_id"])
    if influencer is None:
        raise Invalid("influencer_id", f"No influencer {data['influencer_id']} in this brand.")
    data = {"platform": influencer["platform"], "followers": influencer["followers"], **data}
    now = now_iso()
    record = _save(scope, {**data, "id": new_id(), "created_at": now, "updated_at": now})
    return with_tier(record, influencer, scope.brand)


def update(scope: Scope, promotion_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a promotion (cost terms merge with the stored ones); only timeboxed ones have a window."""
    old = load(scope, promotion_id)
    if "cost" in changes:
        changes = {**changes, "cost": {**old["cost"], **changes["cost"]}}
    merged = {**old, **changes, "updated_at": now_iso()}
    if merged["style"] == "long_running" and changes.get("window_hours"):
        raise Invalid("window_hours", "Only timeboxed promotions have a window.")
    return _shown(scope, _save(scope, merged, old))
