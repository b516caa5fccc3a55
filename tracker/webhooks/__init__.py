"""Conversion webhooks: `POST /webhooks/<brand>/<source>` and `GET /postback`.

Order of work: find the brand, verify the signature on the raw body (401, nothing stored), parse
(400/422, nothing stored), record (idempotent), and only then answer 2xx. If Redis fails the
answer is 503, so the shop retries. Valid deliveries are served by the lean handler in
`tracker.webhooks.fast`; everything it declines (errors, pings) comes here, so every error has
one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from tracker import keys, metrics
from tracker.conversions import ingest_here
from tracker.conversions.model import BadInput
from tracker.conversions.schemas import GenericEventSchema, load_generic_fast
from tracker.errors import abort, json_body
from tracker.integrations import model as integrations
from tracker.lookups import Lookups
from tracker.webhooks import platforms, signatures

bp = Blueprint("webhooks", __name__)
generic_schema = GenericEventSchema()
DELIVERY_TTL = 7 * 86400
SIGNATURE_HEADERS = {
    "generic": "X-Signature",
    "stripe": "Stripe-Signature",
    "shopify": "X-Shopify-Hmac-Sha256",
    "woocommerce": "X-WC-Webhook-Signature",
}
# Deliveries already handled: Shopify's webhook id (a retry) and event id (the same event sent to
# several subscriptions). Order and refund ids remain the real guard.
DELIVERY_HEADERS = {"shopify": ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id")}


def verify(source: str, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str | None:
    """What is wrong with the delivery's signature, or None."""
    header = headers.get(SIGNATURE_HEADERS[source])
    if source in ("generic", "stripe"):
        return signatures.timestamped(header, body, secrets)
    return signatures.base64_body(header, body, secrets)


def delivery_keys(brand_id: str, source: str, headers: Mapping[str, str]) -> list[str]:
    return [
        keys.delivery(brand_id, source, f"{name}:{headers[name][:200]}")
        for name in DELIVERY_HEADERS.get(source, ())
        if headers.get(name)
    ]


def parse(source: str, payload: Any, brand: dict[str, Any], headers: Mapping[str, str], look: Lookups) -> list[Any]:
    """A delivery's orders and refunds; raises BadInput or ValidationError."""
    if not isinstance(payload, dict):
        raise BadInput("body", "Must be a JSON object.")
    if source == "generic":
        return platforms.generic(load_generic_fast(payload) or generic_schema.load(payload))
    if source == "shopify":
        topic = headers.get("X-Shopify-Topic", "")
        if topic == "refunds/create":
            refund = platforms.shopify_refund(payload)
            return [refund] if refund else []
        order_topics = integrations.load(look.r, brand["id"], "shopify")["order_topics"]
        return [platforms.shopify_order(payload, brand)] if topic in order_topics else []
    if source == "woocommerce":
        topic = headers.get("X-WC-Webhook-Topic", "")
        return platforms.woocommerce(payload, brand) if topic.startswith("order.") else []
    return platforms.stripe(payload, brand)


def _bad(exc: BadInput, location: str = "json") -> None:
    abort(422, message=f"{exc.field}: {exc.message}", errors={location: {exc.field: [exc.message]}})


@bp.after_request
def _count(response: Response) -> Response:
    """Every delivery (and postback) the Flask views answer, by source and status; the fast path
    counts its own 200s."""
    source = "postback" if request.endpoint == "webhooks.postback" else (request.view_args or {}).get("source")
    if source in SIGNATURE_HEADERS or source == "postback":
        metrics.WEBHOOKS.labels(source, str(response.status_code)).inc()
    return response


@bp.post("/webhooks/<brand_id>/<source>")
def receive(brand_id: str, source: str) -> tuple[dict[str, Any], int]:
    r = current_app.extensions["redis"]
    look: Lookups = current_app.extensions["lookups"]
    if source not in SIGNATURE_HEADERS:
        abort(404, message=f"unknown source {source!r}; one of {', '.join(SIGNATURE_HEADERS)}")
    brand = look.brand(brand_id)
    if brand is None:
        abort(404, message=f"unknown brand {brand_id}")
    body = request.get_data(cache=False)
    if source == "woocommerce" and platforms.is_woo_ping(body, request.content_type or ""):
        return {"status": "ping"}, 200
    secrets = look.secrets(brand_id, source)
    header = SIGNATURE_HEADERS[source]
    if not secrets:
        abort(401, message=f"{header}: no {source} secret is configured for this brand")
    problem = verify(source, request.headers, body, secrets)
    if problem:
        metrics.SIGNATURE_FAILURES.labels(source).inc()
        abort(401, message=f"{header}: {problem}")
    deliveries = delivery_keys(brand_id, source, request.headers)
    if deliveries and r.exists(*deliveries):
        return {"status": "duplicate", "events": []}, 200
    try:
        events = parse(source, json_body(body), brand, request.headers, look)
    except BadInput as exc:
        _bad(exc)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    result = ingest_here(events, brand)
    for key in deliveries:
        r.set(key, 1, ex=DELIVERY_TTL)
    return result, 200


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
        _bad(exc, "query")
    return ingest_here([order], brand), 200
