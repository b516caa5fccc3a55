"""Conversions: `POST /api/v1/conversions` (the generic format, with the API key), and reading
each conversion with the explanation of its attribution."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from tracker import api
from tracker.conversions import model
from tracker.conversions.schemas import ConversionSchema, GenericEventSchema, IngestResultSchema
from tracker.errors import Blueprint, abort, field_error
from tracker.lookups import Lookups

blp = Blueprint("conversions", __name__, url_prefix="/api/v1/conversions", description="Orders and their attribution")
KIND = "conversion"


def ingest(
    look: Lookups, secrets: list[bytes], events: list[model.Order | model.Refund], brand: dict[str, Any]
) -> dict[str, Any]:
    """Record parsed events (raises BadInput); the answer says what happened to each."""
    results = []
    for event in events:
        if isinstance(event, model.Order):
            created, cid = model.record_order(look, brand, event, secrets)
            outcome = "recorded" if created else "duplicate"
            results.append({"kind": "order", "order_id": event.order_id, "outcome": outcome, "conversion_id": cid})
        else:
            outcome, cid = model.record_refund(look, brand, event)
            results.append({"kind": "refund", "order_id": event.order_id, "refund_id": event.refund_id,
                            "outcome": outcome, "conversion_id": cid})  # fmt: skip
    return {"status": "processed" if results else "ignored", "events": results}


def ingest_here(events: list[model.Order | model.Refund], brand: dict[str, Any]) -> dict[str, Any]:
    """`ingest` inside a Flask request: bad input becomes a 422 naming the field."""
    try:
        return ingest(current_app.extensions["lookups"], current_app.extensions["signing_keys"].all(), events, brand)
    except model.BadInput as exc:
        field_error(exc.field, exc.message)


@blp.route("")
class Conversions(MethodView):
    @blp.arguments(api.PageArgs, location="query")
    @blp.response(200, api.page_schema(ConversionSchema))
    def get(self, args: dict[str, int]) -> dict[str, Any]:
        items, total = api.store().page(KIND, args["page"], args["page_size"])
        return api.page_of(model.present(current_app.extensions["redis"], api.brand(), items), total, args)

    @blp.arguments(GenericEventSchema)
    @blp.response(200, IngestResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Report an order or a refund (idempotent per order id and refund id)."""
        from tracker.webhooks.platforms import generic

        return ingest_here(generic(data), api.brand())


@blp.route("/<conversion_id>")
class Conversion(MethodView):
    @blp.response(200, ConversionSchema)
    def get(self, conversion_id: str) -> dict[str, Any]:
        """A conversion, with the attribution decision: the key matched, the click, or why nothing matched."""
        record = api.store().get(KIND, conversion_id)
        if record is None:
            abort(404, message=f"conversion {conversion_id} not found")
        return model.present(current_app.extensions["redis"], api.brand(), [record])[0]
