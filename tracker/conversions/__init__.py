"""Conversions: `POST /api/v1/conversions` (the generic format, with the API key), and reading
each conversion with the explanation of its attribution."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask.views import MethodView

from tracker import api
from tracker.conversions import model
from tracker.conversions.schemas import ConversionSchema, GenericEventSchema, IngestResultSchema
from tracker.errors import Blueprint, abort, field_error
from tracker.journal import Journal, JournalError
from tracker.lookups import Lookups

log = logging.getLogger(__name__)

blp = Blueprint("conversions", __name__, url_prefix="/api/v1/conversions", description="Orders and their attribution")
KIND = "conversion"


def ingest(
    look: Lookups,
    secrets: list[bytes],
    events: list[model.Order | model.Refund],
    brand: dict[str, Any],
    journal: Journal | None,
) -> dict[str, Any]:
    """Record parsed events (raises BadInput); the answer says what happened to each. They are in
    the journal, fsync'd, before Redis records them (JournalError if the disk refuses): whatever
    this answers can be replayed after Redis lost its last second. None: a replay of the journal."""
    if journal is not None and events:
        journal.append(journal_record(brand, events))
    outcomes: list[tuple[Any, str | None]] = [
        model.record_order(look, brand, event, secrets) if isinstance(event, model.Order)
        else model.record_refund(look, brand, event)
        for event in events
    ]  # fmt: skip
    return answer(events, outcomes)


def journal_record(brand: dict[str, Any], events: list[model.Order | model.Refund]) -> dict[str, Any]:
    """What the journal keeps of a delivery: its brand and its events."""
    return {"brand": brand["id"], "events": [_journaled(event) for event in events]}


def answer(events: list[model.Order | model.Refund], outcomes: list[tuple[Any, str | None]]) -> dict[str, Any]:
    """What `ingest` answers, from each event's recording: (created, id) of an order, (outcome, id)
    of a refund."""
    results = []
    for event, (outcome, cid) in zip(events, outcomes, strict=True):
        if isinstance(event, model.Order):
            outcome = "recorded" if outcome else "duplicate"
            results.append({"kind": "order", "order_id": event.order_id, "outcome": outcome, "conversion_id": cid})
        else:
            results.append({"kind": "refund", "order_id": event.order_id, "refund_id": event.refund_id,
                            "outcome": outcome, "conversion_id": cid})  # fmt: skip
    return {"status": "processed" if results else "ignored", "events": results}


def ingest_here(events: list[model.Order | model.Refund], brand: dict[str, Any]) -> dict[str, Any]:
    """`ingest` inside a Flask request: bad input becomes a 422 naming the field, a journal that
    cannot be written a 503 (the shop retries; nothing was acknowledged)."""
    ext = current_app.extensions
    try:
        return ingest(ext["lookups"], ext["signing_keys"].all(), events, brand, ext["journal"])
    except model.BadInput as exc:
        field_error(exc.field, exc.message)
    except JournalError as exc:
        current_app.logger.error("%s", exc)
        abort(503, message="storage unavailable; retry", headers={"Retry-After": "5"})


def _journaled(event: model.Order | model.Refund) -> dict[str, Any]:
    """An event as JSON: its dataclass fields (read, not deep-copied), times as ISO 8601, amounts as integers."""
    fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in vars(event).items()}
    return {"kind": "order" if isinstance(event, model.Order) else "refund", **fields}


def _from_journal(data: dict[str, Any]) -> model.Order | model.Refund:
    fields = {k: v for k, v in data.items() if k != "kind"}
    fields["occurred_at"] = datetime.fromisoformat(fields["occurred_at"])
    return model.Order(**fields) if data["kind"] == "order" else model.Refund(**fields)


def replay_journal(app: Flask) -> int:
    """Every journaled order and refund (any process's) through `ingest` again, then the old
    segments deleted; returns how many Redis did not have. Safe to repeat: orders are recorded once
    per brand, source and order id, refunds once per refund id. Raises RedisError if Redis is down."""
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
                    result = ingest(look, secrets, [_from_journal(data)], brand, None)
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
        record = api.store().get(KIND, conversion_id)
        if record is None:
            abort(404, message=f"conversion {conversion_id} not found")
        return model.present(current_app.extensions["redis"], api.brand(), [record])[0]
