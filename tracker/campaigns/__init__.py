"""Campaigns: `/api/v1/campaigns`. Rules in `tracker.campaigns.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api
from tracker.campaigns import service
from tracker.campaigns.schemas import CampaignSchema
from tracker.errors import Blueprint

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns")


@blp.route("")
class Campaigns(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(CampaignSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        return api.page_of(*service.get_page(api.scope(), args["page"], args["page_size"]), args)

    @blp.arguments(CampaignSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return service.create(api.scope(), data)


@blp.route("/<campaign_id>")
class Campaign(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: str) -> dict[str, Any]:
        return service.get(api.scope(), campaign_id)

    @blp.arguments(CampaignSchema(partial=True))
    @blp.response(200, CampaignSchema)
    def patch(self, changes: dict[str, Any], campaign_id: str) -> dict[str, Any]:
        return service.update(api.scope(), campaign_id, changes)
