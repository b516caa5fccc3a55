"""The one webhook intake: `receive` takes a delivery to `POST /webhooks/<brand>/<source>` and
gives its answer, or raises why it is refused. Both ways in call it: the Flask view
(`tracker.webhooks`) and the lean adapter (`tracker.webhooks.fast`: WSGI, and ASGI on the loop).

Order of work: the source, the brand, WooCommerce's unsigned ping, the signature on the raw body
(401, nothing stored), a delivery id already seen (200 duplicate), the body parsed (400/422,
nothing stored), its events recorded (journaled, then Redis; idempotent), the delivery id marked;
only then is the answer a 200. Refusals: `Refused` (404, 401), `BadInput` (a field; 400 for a
body that is not JSON), marshmallow's ValidationError (the generic format), JournalError and redis
errors (503: the shop retries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tracker import keys
from tracker.conversions.model import BadInput
from tracker.conversions.recording import Command, Event, Steps, record
from tracker.conversions.schemas import GenericEventSchema, load_generic_fast
from tracker.integrations import model as integrations
from tracker.lookups import Lookups
from tracker.webhooks import platforms, signatures

SIGNATURE_HEADERS = {
    "generic": "X-Signature",
    "stripe": "Stripe-Signature",
    "shopify": "X-Shopify-Hmac-Sha256",
    "woocommerce": "X-WC-Webhook-Signature",
}
# Deliveries already handled: Shopify's webhook id (a retry) and event id (the same event sent to
# several subscriptions). Order and refund ids remain the real guard.
DELIVERY_HEADERS = {"shopify": ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id")}
DELIVERY_TTL = 7 * 86400
generic_schema = GenericEventSchema()


class Refused(Exception):
    """A delivery refused before anything is parsed: its HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class BadSignature(Refused):
    """A signature that does not verify (counted per source)."""


def receive(
    look: Lookups,
    click_keys: list[bytes],
    brand_id: str,
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str,
) -> Steps[dict[str, Any]]:
    """A delivery's answer (the 200's body), as steps for `recording.run` or `run_async`."""
    if source not in SIGNATURE_HEADERS:
        raise Refused(404, f"unknown source {source!r}; one of {', '.join(SIGNATURE_HEADERS)}")
    brand = look.brand(brand_id)
    if brand is None:
        raise Refused(404, f"unknown brand {brand_id}")
    if source == "woocommerce" and platforms.is_woo_ping(body, content_type):
        return {"status": "ping"}
    secrets = look.secrets(brand_id, source)
    header = SIGNATURE_HEADERS[source]
    if not secrets:
        raise Refused(401, f"{header}: no {source} secret is configured for this brand")
    problem = verify(source, headers, body, secrets)
    if problem:
        raise BadSignature(401, f"{header}: {problem}")
    deliveries = delivery_keys(brand_id, source, headers)
    if deliveries and (yield Command(deliveries[0], (b"EXISTS", *deliveries))):
        return {"status": "duplicate", "events": []}
    events = parse(source, json_document(body), brand, headers, look)
    result = yield from record(look, click_keys, brand, events)
    for key in deliveries:
        yield Command(key, (b"SET", key, b"1", b"EX", DELIVERY_TTL))
    return result


def verify(source: str, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str | None:
    """What is wrong with the delivery's signature, or None."""
    header = headers.get(SIGNATURE_HEADERS[source])
    if source in ("generic", "stripe"):
        return signatures.timestamped(header, body, secrets)
    return signatures.base64_body(header, body, secrets)


def delivery_keys(brand_id: str, source: str, headers: Mapping[str, str]) -> list[str]:
    """The delivery ids a delivery carries, as keys (one brand's: one slot)."""
    return [
        keys.delivery(brand_id, source, f"{name}:{headers[name][:200]}")
        for name in DELIVERY_HEADERS.get(source, ())
        if headers.get(name)
    ]


def json_document(body: bytes) -> Any:
    """The JSON document in a body, or BadInput naming `body` (400), worded as `tracker.errors.json_body`."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadInput("body", f"not valid JSON ({exc})", 400) from None
    except RecursionError:
        raise BadInput("body", "JSON nested too deeply", 400) from None


def parse(source: str, payload: Any, brand: dict[str, Any], headers: Mapping[str, str], look: Lookups) -> list[Event]:
    """A delivery's orders and refunds; raises BadInput or ValidationError. Shopify's reads its
    brand's order topics from Redis (so the event loop does not take Shopify's deliveries)."""
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
