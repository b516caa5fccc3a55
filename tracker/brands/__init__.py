"""The brand's own settings: `GET/PATCH /api/v1/brand`."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from tracker.brands.model import save_brand
from tracker.brands.schemas import BrandSchema

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

        brand = {**g.brand, **changes}
        r = current_app.extensions["redis"]
        save_brand(r, brand)
        if changes.get("click_param", g.brand["click_param"]) != g.brand["click_param"]:
            refresh_redirects(r, brand)
        return brand
