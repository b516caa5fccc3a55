"""The brand's own settings: `GET/PATCH /api/v1/brand`. Rules in `tracker.brands.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from tracker import api, botrules
from tracker.brands import service
from tracker.brands.schemas import BotPatternsSchema, BrandSchema, RateSchema, RatesSchema
from tracker.errors import Blueprint

blp = Blueprint("brand", __name__, url_prefix="/api/v1/brand", description="The brand of the API key")


@blp.route("")
class BrandView(MethodView):
    @blp.response(200, BrandSchema)
    def get(self) -> dict[str, Any]:
        return api.brand()

    @blp.arguments(BrandSchema(partial=True))
    @blp.response(200, BrandSchema)
    def patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        return service.update(api.scope(), changes)


@blp.route("/bot-patterns")
class BotPatterns(MethodView):
    @blp.response(200, BotPatternsSchema)
    def get(self) -> dict[str, Any]:
        """The brand's own patterns of user agents to exclude from clicks, or to count as clicks."""
        scope = api.scope()
        return botrules.get(scope.r, scope.brand_id)

    @blp.arguments(BotPatternsSchema)
    @blp.response(200, BotPatternsSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the brand's patterns; clicks rolled up from now on follow them (counted ones stay)."""
        scope = api.scope()
        return botrules.put(scope.r, scope.brand_id, data["exclude"], data["count"])


@blp.route("/rates")
class Rates(MethodView):
    @blp.response(200, RatesSchema)
    def get(self) -> dict[str, Any]:
        """Exchange rates into the reporting currency, set by the brand."""
        return service.rates(api.scope())


@blp.route("/rates/<currency>")
class Rate(MethodView):
    @blp.arguments(RateSchema)
    @blp.response(200, RatesSchema)
    def put(self, data: dict[str, Any], currency: str) -> dict[str, Any]:
        """Set how many reporting-currency units one unit of `currency` is worth."""
        return service.set_rate(api.scope(), currency, data["rate"])

    @blp.response(204)
    def delete(self, currency: str) -> None:
        service.delete_rate(api.scope(), currency)
