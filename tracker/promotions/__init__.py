"""Promotions, one influencer's placement in a campaign: `/api/v1/promotions`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api, campaigns, discounts, influencers
from tracker.errors import Blueprint, abort, field_error
from tracker.promotions.schemas import PromotionSchema, PromotionUpdateSchema
from tracker.store import Conflict
from tracker.tiers import tier_for

KIND = "promotion"
blp = Blueprint("promotions", __name__, url_prefix="/api/v1/promotions", description="Promotions")


def load(promotion_id: str) -> dict[str, Any]:
    record = api.store().get(KIND, promotion_id)
    if record is None:
        abort(404, message=f"promotion {promotion_id} not found")
    return record


def with_tier(record: dict[str, Any], influencer: dict[str, Any] | None) -> dict[str, Any]:
    pinned = influencer.get("tier_override") if influencer else None
    return {**record, "tier": tier_for(record["followers"], api.brand()["tier_thresholds"], pinned)}


def _normalise(record: dict[str, Any]) -> dict[str, Any]:
    if record["style"] == "timeboxed" and not record.get("window_hours"):
        record["window_hours"] = 24
    if record["style"] == "long_running":
        record["window_hours"] = None
    cost = dict(record.get("cost") or {})
    cost.setdefault("currency", api.brand()["currency"])
    cost.setdefault("flat_fee", 0)
    cost.setdefault("cost_per_click", 0)
    cost["commission_percent"] = str(cost.get("commission_percent", "0"))
    record["cost"] = cost
    record["posted_at"] = api.iso(record.get("posted_at"))
    return record


def _save(record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    unique = {discounts.INDEX: discounts.index_values(record["discount_codes"])}
    old_unique = {discounts.INDEX: discounts.index_values(old["discount_codes"])} if old else None
    try:
        return api.store().save(KIND, _normalise(record), unique, old_unique)
    except Conflict as exc:
        field_error("discount_codes", discounts.conflict_message(exc), 409)
    finally:
        api.forget(record, old, kind=KIND)


@blp.route("")
class Promotions(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(PromotionSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        items, total = api.store().page(KIND, args["page"], args["page_size"])
        people = {
            i["id"]: i for i in api.store().get_many(influencers.KIND, sorted({p["influencer_id"] for p in items}))
        }
        return api.page_of([with_tier(p, people.get(p["influencer_id"])) for p in items], total, args)

    @blp.arguments(PromotionSchema)
    @blp.response(201, PromotionSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        s = api.store()
        if s.get(campaigns.KIND, data["campaign_id"]) is None:
            field_error("campaign_id", f"No campaign {data['campaign_id']} in this brand.")
        influencer = s.get(influencers.KIND, data["influencer_id"])
        if influencer is None:
            field_error("influencer_id", f"No influencer {data['influencer_id']} in this brand.")
        data.setdefault("platform", influencer["platform"])
        data.setdefault("followers", influencer["followers"])
        now = api.now_iso()
        return with_tier(_save({**data, "id": api.new_id(), "created_at": now, "updated_at": now}), influencer)


@blp.route("/<promotion_id>")
class Promotion(MethodView):
    @blp.response(200, PromotionSchema)
    def get(self, promotion_id: str) -> dict[str, Any]:
        record = load(promotion_id)
        return with_tier(record, api.store().get(influencers.KIND, record["influencer_id"]))

    @blp.arguments(PromotionUpdateSchema(partial=True))
    @blp.response(200, PromotionSchema)
    def patch(self, changes: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        old = load(promotion_id)
        if "cost" in changes:
            changes["cost"] = {**old["cost"], **changes["cost"]}
        merged = {**old, **changes, "updated_at": api.now_iso()}
        if merged["style"] == "long_running" and changes.get("window_hours"):
            field_error("window_hours", "Only timeboxed promotions have a window.")
        record = _save(merged, old)
        return with_tier(record, api.store().get(influencers.KIND, record["influencer_id"]))
