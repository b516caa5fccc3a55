"""A promotion's post metrics: `/api/v1/promotions/<id>/metrics` (the series, a CSV import, and the
influencer's self-reported figures to confirm or reject). Rules in `tracker.engagement.model`."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request
from flask.views import MethodView

from tracker import api, promotions
from tracker.engagement import model
from tracker.engagement.schemas import MetricsSchema, SeriesSchema, SnapshotSchema, snapshot_schema
from tracker.errors import Blueprint, abort, body_error

blp = Blueprint(
    "engagement", __name__, url_prefix="/api/v1/promotions",
    description="Post metrics of a promotion (impressions, reach, views, likes, comments, shares, saves)",
)  # fmt: skip
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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


def _r():
    return current_app.extensions["redis"]


def document(promotion: dict[str, Any]) -> dict[str, Any]:
    """What GET .../metrics answers: the brand's series, its latest snapshot, the self-reported ones."""
    brand_id = api.brand()["id"]
    series = model.series(_r(), brand_id, promotion["id"])
    return {
        "promotion_id": promotion["id"],
        "followers": promotion.get("followers") or 0,
        "latest": series[-1] if series else None,
        "series": series,
        "self_reported": model.self_reported(_r(), brand_id, promotion["id"]),
    }


def _invalid(exc: model.Invalid, location: str = "json") -> None:
    errors = exc.errors if location == "csv" else {location: exc.errors}
    abort(422, message=exc.message, errors=errors)


def add(promotion_id: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Add one snapshot to the brand's series (the API's POST and the dashboard's form)."""
    promotion = promotions.load(promotion_id)
    try:
        model.add_snapshots(_r(), api.brand()["id"], promotion, [snapshot])
    except model.Invalid as exc:
        _invalid(exc)
    return document(promotion)


def confirm(promotion_id: str, day: str) -> dict[str, Any]:
    """Copy the influencer's report of a day into the brand's series (API and dashboard)."""
    promotion = promotions.load(promotion_id)
    if not DAY.fullmatch(day) or model.confirm(_r(), api.brand()["id"], promotion, day) is None:
        abort(404, message=f"no self-reported metrics of {day} for promotion {promotion_id}")
    return document(promotion)


@blp.route("/<promotion_id>/metrics")
class Metrics(MethodView):
    @blp.response(200, MetricsSchema)
    def get(self, promotion_id: str) -> dict[str, Any]:
        """The promotion's post metrics: the brand's dated series (cumulative snapshots), and what
        the influencer reported, labelled self-reported, until the brand confirms it."""
        return document(promotions.load(promotion_id))

    @blp.arguments(SeriesSchema)
    @blp.response(200, MetricsSchema)
    def put(self, data: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        """Replace the brand's whole series (all or nothing; an empty list clears it)."""
        promotion = promotions.load(promotion_id)
        try:
            model.put_series(_r(), api.brand()["id"], promotion, data["series"])
        except model.Invalid as exc:
            _invalid(exc)
        return document(promotion)

    @blp.arguments(SnapshotSchema)
    @blp.response(200, MetricsSchema)
    def post(self, data: dict[str, Any], promotion_id: str) -> dict[str, Any]:
        """Add one dated snapshot (replacing the brand's snapshot of that date, if any)."""
        return add(promotion_id, data)


@blp.route("/<promotion_id>/metrics/import")
class MetricsImport(MethodView):
    @blp.doc(requestBody=CSV_BODY)
    @blp.response(200, MetricsSchema)
    def post(self, promotion_id: str) -> dict[str, Any]:
        """Add snapshots from CSV (columns date, impressions, reach, views, likes, comments, shares,
        saves; a header line first; empty cells are not reported). All or nothing: the first bad
        row is a 422 naming its line and column, and nothing is stored."""
        promotion = promotions.load(promotion_id)
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            body_error("not UTF-8 text")
        try:
            rows = model.read_csv(text, snapshot_schema.load)
            model.import_rows(_r(), api.brand()["id"], promotion, rows)
        except model.Invalid as exc:
            _invalid(exc, "csv")
        return document(promotion)


@blp.route("/<promotion_id>/metrics/self-reported/<day>/confirm")
class ConfirmSelfReported(MethodView):
    @blp.response(200, MetricsSchema)
    def post(self, promotion_id: str, day: str) -> dict[str, Any]:
        """Confirm what the influencer reported for a day: it joins the brand's series (replacing the
        brand's own snapshot of that day) and from then on counts in reports."""
        return confirm(promotion_id, day)


@blp.route("/<promotion_id>/metrics/self-reported/<day>")
class SelfReported(MethodView):
    @blp.response(204)
    def delete(self, promotion_id: str, day: str) -> None:
        """Reject what the influencer reported for a day (it never counts)."""
        promotions.load(promotion_id)
        if not DAY.fullmatch(day) or not model.reject(_r(), api.brand()["id"], promotion_id, day):
            abort(404, message=f"no self-reported metrics of {day} for promotion {promotion_id}")
