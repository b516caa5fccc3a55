"""A promotion's post metrics: `/api/v1/promotions/<id>/metrics` (the series, a CSV import, and the
influencer's self-reported figures to confirm or reject). Rules in `tracker.engagement.service`."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from tracker import api
from tracker.engagement import service
from tracker.engagement.schemas import MetricsSchema, SeriesSchema, SnapshotSchema, snapshot_schema
from tracker.errors import Blueprint

blp = Blueprint(
    "engagement", __name__, url_prefix="/api/v1/promotions",
    description="Post metrics of a promotion (impressions, reach, views, likes, comments, shares, saves)",
)  # fmt: skip
CSV_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string", "maxLength": 2 * 1024 * 1024},
            "example": "date,impressions,reach,views,likes,comments,shares,saves\n"
            "2026-06-03,52000,40100,0,1710,96,40,88\n",
        }
    },
}


@blp.route("/<promotion_id>/metrics")
class Metrics(MethodView):
    @blp.response(200, MetricsSchema)
    def get(self, promotion_id: str) -> dict[str, Any]:
        """The promotion's post metrics: the brand's dated series (cumulative snapshots), and what
        the influencer reported, labelled self-reported, until the brand confirms it."""
        return service.document(api.scope(), promotion_id)

    @blp.arguments(SeriesSchema)
    @blp.response(200, MetricsSchema)
    def put(self, data: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        """Replace the brand's whole series (all or nothing; an empty list clears it)."""
        return service.replace_series(api.scope(), promotion_id, data["series"])

    @blp.arguments(SnapshotSchema)
    @blp.response(200, MetricsSchema)
    def post(self, data: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        """Add one dated snapshot (replacing the brand's snapshot of that date, if any)."""
        return service.add(api.scope(), promotion_id, data)


@blp.route("/<promotion_id>/metrics/import")
class MetricsImport(MethodView):
    @blp.doc(requestBody=CSV_BODY)
    @blp.response(200, MetricsSchema)
    def post(self, promotion_id: str) -> dict[str, Any]:
        """Add snapshots from CSV (columns date, impressions, reach, views, likes, comments, shares,
        saves; a header line first; empty cells are not reported). All or nothing: the first bad
        row is a 422 naming its line and column, and nothing is stored."""
        return service.import_csv(api.scope(), promotion_id, request.get_data(), snapshot_schema.load)


@blp.route("/<promotion_id>/metrics/self-reported/<day>/confirm")
class ConfirmSelfReported(MethodView):
    @blp.response(200, MetricsSchema)
    def post(self, promotion_id: str, day: str) -> dict[str, Any]:
        """Confirm what the influencer reported for a day: it joins the brand's series (replacing the
        brand's own snapshot of that day) and from then on counts in reports."""
        return service.confirm(api.scope(), promotion_id, day)


@blp.route("/<promotion_id>/metrics/self-reported/<day>")
class SelfReported(MethodView):
    @blp.response(204)
    def delete(self, promotion_id: str, day: str) -> None:
        """Reject what the influencer reported for a day (it never counts)."""
        service.reject(api.scope(), promotion_id, day)
