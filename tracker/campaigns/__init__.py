"""Campaigns: `/api/v1/campaigns`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api, discounts
from tracker.campaigns.schemas import CampaignSchema
from tracker.errors import Blueprint, abort, field_error
from tracker.store import Conflict

KIND = "campaign"
blp = Blueprint("campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns")


def load(campaign_id: str) -> dict[str, Any]:
    record = api.store().get(KIND, campaign_id)
    if record is None:
        abort(404, message=f"campaign {campaign_id} not found")
    return record


def _unique(record: dict[str, Any]) -> dict[str, list[str]]:
    return {"campaign_slug": [record["slug"]], discounts.INDEX: discounts.index_values(record["discount_codes"])}


def _save(record: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    for name in ("starts_on", "ends_on"):
        record[name] = api.iso(record.get(name))
    api.forget(record, old)
    try:
        return api.store().save(KIND, record, _unique(record), _unique(old) if old else None)
    except Conflict as exc:
        if exc.field == "campaign_slug":
            field_error("slug", f"slug {exc.value!r} is already used by another campaign.", 409)
        field_error("discount_codes", discounts.conflict_message(exc), 409)


@blp.route("")
class Campaigns(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(CampaignSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        items, total = api.store().page(KIND, args["page"], args["page_size"])
        return api.page_of(items, total, args)

    @blp.arguments(CampaignSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        now = api.now_iso()
        return _save({**data, "id": api.new_id(), "created_at": now, "updated_at": now})


@blp.route("/<campaign_id>")
class Campaign(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: str) -> dict[str, Any]:
        return load(campaign_id)

    @blp.arguments(CampaignSchema(partial=True))
    @blp.response(200, CampaignSchema)
    def patch(self, changes: dict[str, Any], campaign_id: str) -> dict[str, Any]:
        old = load(campaign_id)
        merged = {**old, **changes, "updated_at": api.now_iso()}
        if merged.get("ends_on") and str(merged["ends_on"]) < str(merged["starts_on"]):
            field_error("ends_on", "Must not be before starts_on.")
        return _save(merged, old)
