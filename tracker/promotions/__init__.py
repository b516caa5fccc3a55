"""Promotions, one influencer's placement in a campaign: `/api/v1/promotions`. Rules in
`tracker.promotions.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api
from tracker.errors import Blueprint
from tracker.promotions import service
from tracker.promotions.schemas import PromotionSchema, PromotionUpdateSchema

blp = Blueprint("promotions", __name__, url_prefix="/api/v1/promotions", description="Promotions")


@blp.route("")
class Promotions(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(PromotionSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        return api.page_of(*service.get_page(api.scope(), args["page"], args["page_size"]), args)

    @blp.arguments(PromotionSchema)
    @blp.response(201, PromotionSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return service.create(api.scope(), data)


@blp.route("/<promotion_id>")
class Promotion(MethodView):
    @blp.response(200, PromotionSchema)
    def get(self, promotion_id: str) -> dict[str, Any]:
        return service.get(api.scope(), promotion_id)

    @blp.arguments(PromotionUpdateSchema(partial=True))
    @blp.response(200, PromotionSchema)
    def patch(self, changes: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        return service.update(api.scope(), promotion_id, changes)
