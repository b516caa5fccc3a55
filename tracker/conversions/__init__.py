"""Conversions: `POST /api/v1/conversions` (the generic format, with the API key), and reading
each conversion with the explanation of its attribution."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Flask, current_app
from flask.views import MethodView
from marshmallow import ValidationError

from tracker import api
from tracker.conversions import model, recording
from tracker.conversions.schemas import ConversionSchema, GenericEventSchema, IngestResultSchema
from tracker.errors import Blueprint, abort, field_error
from tracker.journal import Journal, JournalError
from tracker.lookups import Lookups

log = logging.getLogger(__name__)

blp = Blueprint("conversions", __name__, url_prefix="/api/v1/conversions", description="Orders and their attribution")
KIND = "conversion"


def ingest_here(events: list[recording.Event], brand: dict[str, Any]) -> dict[str, Any]:
    """Record events inside a Flask request (`recording.record`, blocking); a refusal is answered
    in the one error shape (`http_error`)."""
    ext = current_app.extensions
    look: Lookups = ext["lookups"]
    try:
        return recording.run(recording.record(look, ext["signing_keys"].all(), brand, events), look.db, ext["journal"])
    except (model.BadInput, JournalError) as exc:
        http_error(exc)


def http_error(exc: model.BadInput | ValidationError | JournalError, location: str = "json") -> NoReturn:
    """Why orders were not recorded, as the one error shape: bad input is a 422 naming the field (a
    body that is not JSON a 400), a journal that cannot be written a 503 (the shop retries;
    nothing was acknowledged)."""
    if isinstance(exc, model.BadInput):
        field_error(exc.field, exc.message, exc.status, location)
    if isinstance(exc, ValidationError):
        abort(422, errors={location: exc.messages})
    current_app.logger.error("%s", exc)
    abort(503, message="storage unavailable; retry", headers={"Retry-After": "5"})
    raise AssertionError("unreachable")


def replay_journal(app: Flask) -> int:
    """Every journaled order and refund (any process's) recorded again, then the old segments
    deleted; returns how many Redis did not have. Safe to repeat: orders are recorded once per
    brand, source and order id, refunds once per refund id. Raises RedisError if Redis is down."""
    ext = app.extensions
    journal: Journal = ext["journal"]
    look: Lookups = ext["lookups"]
    secrets = ext["signing_keys"].all()
    missing = 0
    for path in journal.segments():
        for record in journal.read(path):
            brand = look.brand(record["brand"])
            if brand is None:
                continue  # the brand was deleted since
            for data in record["events"]:
                try:
                    steps = recording.record(look, secrets, brand, [recording.from_journal(data)], journaled=False)
                    result = recording.run(steps, look.db, None)
                except (model.BadInput, KeyError, TypeError, ValueError) as exc:
                    log.warning("order journal %s: an event not recorded again: %s", path.name, exc)
                    continue
                missing += result["events"][0]["outcome"] == "recorded"
    if missing:
        log.warning("order journal: %d orders or refunds were missing from Redis and are recorded again", missing)
    journal.prune()
    return missing


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
        record = api.store().load(KIND, conversion_id)
        return model.present(current_app.extensions["redis"], api.brand(), [record])[0]
