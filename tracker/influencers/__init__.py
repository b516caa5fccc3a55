"""Influencers: `/api/v1/influencers`. Rules in `tracker.influencers.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api
from tracker.errors import Blueprint
from tracker.influencers import service
from tracker.influencers.schemas import InfluencerSchema

blp = Blueprint("influencers", __name__, url_prefix="/api/v1/influencers", description="Influencers")


@blp.route("")
class Influencers(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(InfluencerSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        return api.page_of(*service.get_page(api.scope(), args["page"], args["page_size"]), args)

    @blp.arguments(InfluencerSchema)
    @blp.response(201, InfluencerSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return service.create(api.scope(), data)


@blp.route("/<influencer_id>")
class Influencer(MethodView):
    @blp.response(200, InfluencerSchema)
    def get(self, influencer_id: str) -> dict[str, Any]:
        return service.get(api.scope(), influencer_id)

    @blp.arguments(InfluencerSchema(partial=True))
    @blp.response(200, InfluencerSchema)
    def patch(self, changes: dict[str, Any], influencer_id: str) -> dict[str, Any]:
        return service.update(api.scope(), influencer_id, changes)
