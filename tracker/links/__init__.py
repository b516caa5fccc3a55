"""Tracked short links: `/api/v1/links`."""

from __future__ import annotations

from typing import Any

import shortuuid
from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate

from tracker import api, campaigns, influencers, keys, promotions
from tracker.errors import Blueprint, abort, field_error
from tracker.links import channels
from tracker.links.model import KIND, redirect_record, totals, tracked_url
from tracker.links.schemas import Channel, LinkSchema, LinkUpdateSchema
from tracker.store import Conflict

blp = Blueprint("links", __name__, url_prefix="/api/v1/links", description="Tracked short links")
_codes = shortuuid.ShortUUID()


def _r():
    return current_app.extensions["redis"]


def load(link_id: str) -> dict[str, Any]:
    record = api.store().get(KIND, link_id)
    if record is None:
        abort(404, message=f"link {link_id} not found")
    return record


def present(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = current_app.config["BASE_URL"].rstrip("/")
    stats = totals(_r(), api.brand(), [link["id"] for link in links])
    return [{**link, "short_url": f"{base}/{link['code']}", "stats": s} for link, s in zip(links, stats, strict=True)]


def _with_urls(link: dict[str, Any]) -> dict[str, Any]:
    s = api.store()
    promotion = s.get(promotions.KIND, link["promotion_id"])
    campaign = s.get(campaigns.KIND, promotion["campaign_id"])
    influencer = s.get(influencers.KIND, promotion["influencer_id"])
    destination = link.get("destination_url") or campaign["destination_url"]
    link["tracked_url"] = tracked_url(destination, influencer["handle"], campaign["slug"], api.brand()["click_param"])
    expires = api.parse_iso(api.iso(link.get("expires_at")))
    link["expires_at"] = api.iso(expires)
    link["expires_at_ms"] = int(expires.timestamp() * 1000) if expires else None
    return link


class LinkListArgs(api.PageArgs):
    promotion_id = fields.String(load_default=None, metadata={"description": "Only this promotion's links."})
    channel = Channel(load_default=None, metadata={"description": "Only links posted on this channel."})
    created_by = fields.String(load_default=None, validate=validate.OneOf(("brand", "influencer")))


def _matches(link: dict[str, Any], args: dict[str, Any]) -> bool:
    return all(
        args[name] is None or (link.get(name) or default) == args[name]
        for name, default in (("promotion_id", None), ("channel", None), ("created_by", "brand"))
    )


def create(data: dict[str, Any], created_by: str = "brand") -> dict[str, Any]:
    """A new tracked link of one of the brand's promotions (the API's and the influencer page's).
    An influencer has at most one link per channel in a promotion (409 otherwise)."""
    if api.store().get(promotions.KIND, data["promotion_id"]) is None:
        field_error("promotion_id", f"No promotion {data['promotion_id']} in this brand.")
    now = api.now_iso()
    link = _with_urls({**data, "created_by": created_by, "id": api.new_id(), "created_at": now, "updated_at": now})
    custom = "code" in data
    r = _r()
    for _ in range(10):
        if not custom:
            link["code"] = _codes.random(length=8)
        # Claim the code first (it is global); the brand's record follows.
        if r.set(keys.link_code(link["code"]), redirect_record(link, api.brand()), nx=True):
            break
        if custom:
            field_error("code", f"The code {link['code']!r} is taken.", 409)
    else:
        abort(503, message="Could not find a free code; try again.")
    one_per_channel = {"influencer_channel": [f"{link['promotion_id']}:{link.get('channel')}"]}
    try:
        api.store().save(KIND, link, one_per_channel if created_by == "influencer" else None)
    except Conflict:
        r.delete(keys.link_code(link["code"]))
        field_error("channel", f"You already have a link for {channels.label(link['channel'])} in this promotion.", 409)
    except Exception:
        r.delete(keys.link_code(link["code"]))
        raise
    finally:
        current_app.extensions["lookups"].forget("link", link["code"])  # a miss of its code cached here
    return present([link])[0]


@blp.route("")
class Links(MethodView):
    @blp.arguments(LinkListArgs, location="query")
    @blp.response(200, api.page_schema(LinkSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The brand's links in creation order; filter by promotion, channel or who made them."""
        if all(args[name] is None for name in ("promotion_id", "channel", "created_by")):
            items, total = api.store().page(KIND, args["page"], args["page_size"])
            return api.page_of(present(items), total, args)
        ids = [i.decode() for i in _r().zrange(keys.entity_order(api.brand()["id"], KIND), 0, -1)]
        found = [link for link in api.store().get_many(KIND, ids) if _matches(link, args)]
        start = (args["page"] - 1) * args["page_size"]
        return api.page_of(present(found[start : start + args["page_size"]]), len(found), args)

    @blp.arguments(LinkSchema)
    @blp.response(201, LinkSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return create(data)


@blp.route("/<link_id>")
class Link(MethodView):
    @blp.response(200, LinkSchema)
    def get(self, link_id: str) -> dict[str, Any]:
        return present([load(link_id)])[0]

    @blp.arguments(LinkUpdateSchema(partial=True))
    @blp.response(200, LinkSchema)
    def patch(self, changes: dict[str, Any], link_id: str) -> dict[str, Any]:
        link = _with_urls({**load(link_id), **changes, "updated_at": api.now_iso()})
        api.store().save(KIND, link)
        _r().set(keys.link_code(link["code"]), redirect_record(link, api.brand()))
        current_app.extensions["lookups"].forget("link", link["code"].lower())
        return present([link])[0]
