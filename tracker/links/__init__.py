"""Tracked short links: `/api/v1/links`. Rules in `tracker.links.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from tracker import api
from tracker.errors import Blueprint
from tracker.links import service
from tracker.links.schemas import Channel, LinkSchema, LinkUpdateSchema

blp = Blueprint("links", __name__, url_prefix="/api/v1/links", description="Tracked short links")


class LinkListArgs(api.PageArgs):
    promotion_id = fields.String(load_default=None, metadata={"description": "Only this promotion's links."})
    channel = Channel(load_default=None, metadata={"description": "Only links posted on this channel."})
    created_by = fields.String(load_default=None, validate=validate.OneOf(("brand", "influencer")))


@blp.route("")
class Links(MethodView):
    @blp.arguments(LinkListArgs, location="query")
    @blp.response(200, api.page_schema(LinkSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The brand's links in creation order; filter by promotion, channel or who made them."""
        return api.page_of(*service.get_page(api.scope(), args["page"], args["page_size"], args), args)

    @blp.arguments(LinkSchema)
    @blp.response(201, LinkSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return service.create(api.scope(), data)


@blp.route("/<link_id>")
class Link(MethodView):
    @blp.response(200, LinkSchema)
    def get(self, link_id: str) -> dict[str, Any]:
        return service.get(api.scope(), link_id)

    @blp.arguments(LinkUpdateSchema(partial=True))
    @blp.response(200, LinkSchema)
    def patch(self, changes: dict[str, Any], link_id: str) -> dict[str, Any]:
        return service.update(api.scope(), link_id, changes)
