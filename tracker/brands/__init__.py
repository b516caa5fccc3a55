"""The brand's own settings: `GET/PATCH /api/v1/brand`."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView

from tracker import botrules, keys, money
from tracker.brands.model import click_shards, click_shards_ever, save_brand
from tracker.brands.schemas import BotPatternsSchema, BrandSchema, RateSchema, RatesSchema
from tracker.engagement import model as engagement
from tracker.errors import Blueprint, abort

blp = Blueprint("brand", __name__, url_prefix="/api/v1/brand", description="The brand of the API key")


@blp.route("")
class BrandView(MethodView):
    @blp.response(200, BrandSchema)
    def get(self) -> dict[str, Any]:
        return g.brand

    @blp.arguments(BrandSchema(partial=True))
    @blp.response(200, BrandSchema)
    def patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        from tracker.links.model import refresh_redirects

        if "engagement_ranges" in changes:
            changes["engagement_ranges"] = engagement.merge_ranges(g.brand, changes["engagement_ranges"])
        brand = {**g.brand, **changes}
        reshard = click_shards(brand) != click_shards(g.brand)
        if reshard:  # saved before the links' records: a shard is folded before any click lands in it
            brand["click_shards_max"] = max(click_shards_ever(g.brand), click_shards(brand))
        r = current_app.extensions["redis"]
        save_brand(r, brand)
        current_app.extensions["lookups"].forget("brand", brand["id"])
        if reshard or changes.get("click_param", g.brand["click_param"]) != g.brand["click_param"]:
            refresh_redirects(r, brand)
        return brand


@blp.route("/bot-patterns")
class BotPatterns(MethodView):
    @blp.response(200, BotPatternsSchema)
    def get(self) -> dict[str, Any]:
        """The brand's own patterns of user agents to exclude from clicks, or to count as clicks."""
        return botrules.get(current_app.extensions["redis"], g.brand["id"])

    @blp.arguments(BotPatternsSchema)
    @blp.response(200, BotPatternsSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the brand's patterns; clicks rolled up from now on follow them (counted ones stay)."""
        return botrules.put(current_app.extensions["redis"], g.brand["id"], data["exclude"], data["count"])


def _rates() -> dict[str, Any]:
    r = current_app.extensions["redis"]
    raw = r.hgetall(keys.rates(g.brand["id"]))
    return {
        "reporting_currency": g.brand["currency"],
        "rates": {k.decode(): v.decode() for k, v in sorted(raw.items())},
    }


@blp.route("/rates")
class Rates(MethodView):
    @blp.response(200, RatesSchema)
    def get(self) -> dict[str, Any]:
        """Exchange rates into the reporting currency, set by the brand."""
        return _rates()


@blp.route("/rates/<currency>")
class Rate(MethodView):
    @blp.arguments(RateSchema)
    @blp.response(200, RatesSchema)
    def put(self, data: dict[str, Any], currency: str) -> dict[str, Any]:
        """Set how many reporting-currency units one unit of `currency` is worth."""
        if not money.is_currency(currency) or currency == g.brand["currency"]:
            abort(404, message=f"{currency!r}: not an ISO 4217 code other than the reporting currency")
        current_app.extensions["redis"].hset(keys.rates(g.brand["id"]), currency, str(data["rate"]))
        return _rates()

    @blp.response(204)
    def delete(self, currency: str) -> None:
        if not current_app.extensions["redis"].hdel(keys.rates(g.brand["id"]), currency):
            abort(404, message=f"no rate for {currency}")
