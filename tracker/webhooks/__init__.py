"""Conversion webhooks: `POST /webhooks/<brand>/<source>` and `GET /postback`.

The delivery's rules are `tracker.webhooks.intake.receive`, one implementation; this view is its
Flask adapter, and `tracker.webhooks.fast` its lean one (which answers valid deliveries itself and
hands everything else here, with what the intake raised, so every error is worded here once).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from tracker import metrics
from tracker.conversions import http_error, ingest_here
from tracker.conversions.model import BadInput
from tracker.conversions.recording import run
from tracker.errors import abort
from tracker.integrations import model as integrations
from tracker.journal import JournalError
from tracker.webhooks import intake, platforms

bp = Blueprint("webhooks", __name__)
# What the lean adapter could not accept (the exception the intake raised): this view words it.
REFUSED = "tracker.webhooks.refused"


@bp.after_request
def _count(response: Response) -> Response:
    """Every delivery (and postback) the Flask views answer, by source and status; the lean
    adapter counts its own 200s."""
    source = "postback" if request.endpoint == "webhooks.postback" else (request.view_args or {}).get("source")
    if source in intake.SIGNATURE_HEADERS or source == "postback":
        metrics.WEBHOOKS.labels(source, str(response.status_code)).inc()
    return response


@bp.post("/webhooks/<brand_id>/<source>")
def receive(brand_id: str, source: str) -> tuple[dict[str, Any], int]:
    ext = current_app.extensions
    try:
        if (refused := request.environ.pop(REFUSED, None)) is not None:
            raise refused
        body = request.get_data(cache=False)
        steps = intake.receive(ext["lookups"], ext["signing_keys"].all(), brand_id, source, request.headers, body,
                               request.content_type or "")  # fmt: skip
        return run(steps, ext["lookups"].db, ext["journal"]), 200
    except intake.Refused as exc:
        if isinstance(exc, intake.BadSignature):
            metrics.SIGNATURE_FAILURES.labels(source).inc()
        abort(exc.status, message=exc.message)
    except (BadInput, ValidationError, JournalError) as exc:
        http_error(exc)


@bp.get("/postback")
def postback() -> tuple[dict[str, Any], int]:
    """Server-to-server postback: `?tid=&order_id=&amount=49.90&currency=USD&token=`."""
    r = current_app.extensions["redis"]
    token = request.args.get("token", "")
    brand_id = integrations.brand_for_postback_token(r, token) if token else None
    brand = current_app.extensions["lookups"].brand(brand_id) if brand_id else None
    if brand is None:
        abort(401, message="token: missing, unknown or revoked postback token")
    try:
        order = platforms.postback(request.args.to_dict())
    except BadInput as exc:
        http_error(exc, "query")
    return ingest_here([order], brand), 200
