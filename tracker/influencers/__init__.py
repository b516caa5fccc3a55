"""Influencers: `/api/v1/influencers`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api
from tracker.errors import Blueprint, abort, field_error
from tracker.influencers.schemas import InfluencerSchema
from tracker.store import Conflict
from tracker.tiers import tier_for

KIND = "influencer"
blp = Blueprint("influencers", __name__, url_prefix="/api/v1/influencers", description="Influencers")


def with_tier(record: dict[str, Any]) -> dict[str, Any]:
    thresholds = api.brand()["tier_thresholds"]
    return {**record, "tier": tier_for(record["followers"], thresholds, record.get("tier_override"))}


def load(influencer_id: str) -> dict[str, Any]:
    record = api.store().get(KIND, influencer_id)
    if record is None:
        abort(404, message=f"influencer {influencer_id} not found")
    return record


def _save(record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    record["handle"] = record["handle"].lstrip("@")
    unique = {"influencer": [f"{record['platform']}:{record['handle'].lower()}"]}
    old_unique = {"influencer": [f"{old['platform']}:{old['handle'].lower()}"]} if old else None
    try:
        return api.store().save(KIND, record, unique, old_unique)
    except Conflict:
        field_error("handle", f"{record['platform']} handle @{record['handle']} already exists.", 409)


@blp.route("")
class Influencers(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(InfluencerSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        items, total = api.store().page(KIND, args["page"], args["page_size"])
        return api.page_of([with_tier(i) for i in items], total, args)

    @blp.arguments(InfluencerSchema)
    @blp.response(201, InfluencerSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        now = api.now_iso()
        return with_tier(_save({**data, "id": api.new_id(), "created_at": now, "updated_at": now}))


@blp.route("/<influencer_id>")
class Influencer(MethodView):
    @blp.response(200, InfluencerSchema)
    def get(self, influencer_id: str) -> dict[str, Any]:
        return with_tier(load(influencer_id))

    @blp.arguments(InfluencerSchema(partial=True))
    @blp.response(200, InfluencerSchema)
    def patch(self, changes: dict[str, Any], influencer_id: str) -> dict[str, Any]:
        old = load(influencer_id)
        return with_tier(_save({**old, **changes, "updated_at": api.now_iso()}, old))
