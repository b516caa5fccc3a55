"""The webhook fast path: a valid delivery, served without Flask's request machinery.

Same steps and same functions as the Flask view (`tracker.webhooks.receive`): brand, signature,
delivery ids, parse, record; then 200. Whatever is not a plainly valid delivery (unknown brand or
source, no secret, bad signature, a ping, malformed or too deeply nested JSON, bad fields, a Redis
or journal error) is handed, body rewound, to the Flask view, which answers it with the one error
implementation. Under ASGI (`tracker.asgi`), `ingest_async` serves the plainest deliveries on
the event loop itself: every lookup from the process's caches, the journal and the scripts awaited.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import redis
from marshmallow import ValidationError
from werkzeug.datastructures import EnvironHeaders

from tracker import metrics
from tracker.conversions import answer, ingest, journal_record
from tracker.conversions.model import BadInput, Order, order_call
from tracker.db.aio import Pipes
from tracker.journal import JournalError
from tracker.lookups import CacheOnly, Lookups, NotCached
from tracker.webhooks import DELIVERY_HEADERS, DELIVERY_TTL, SIGNATURE_HEADERS, delivery_keys, parse, verify

MAX_BODY = 2 * 1024 * 1024
# What sends a delivery to the Flask view, which answers it (4xx, or 503 for Redis or the journal).
DECLINED = (BadInput, ValidationError, redis.RedisError, JournalError, ValueError, UnicodeDecodeError, RecursionError)
WEBHOOKS_200 = {source: metrics.WEBHOOKS.labels(source, "200") for source in SIGNATURE_HEADERS}


class WebhookFront:
    def __init__(self, flask_app: Any):
        self.app = flask_app
        self.look = flask_app.extensions["lookups"]
        self.cached = CacheOnly(self.look)  # the same caches, never asking Redis: for the event loop
        self.signing = flask_app.extensions["signing_keys"]
        self.journal = flask_app.extensions["journal"]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] != "POST" or not path.startswith("/webhooks/"):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            result = self.ingest(path, environ, body)
        except DECLINED:
            result = None
        if result is None:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return self.app(environ, start_response)
        headers, payload = self.ok(path, result)
        start_response("200 OK", headers)
        return [payload]

    def ok(self, path: str, result: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes]:
        """The 200 of a delivery handled here (counted): its headers and body."""
        payload = json.dumps(result, separators=(",", ":")).encode()
        WEBHOOKS_200[path.rsplit("/", 1)[1]].inc()
        return [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload

    def ingest(self, path: str, environ: dict[str, Any], body: bytes) -> dict[str, Any] | None:
        signed = self.signed(path, environ, body, self.look)
        if signed is None:
            return None
        brand, source, headers = signed
        deliveries = delivery_keys(brand["id"], source, headers)
        if deliveries and self.look.r.exists(*deliveries):
            return {"status": "duplicate", "events": []}
        events = parse(source, json.loads(body), brand, headers, self.look)
        result = ingest(self.look, self.signing.all(), events, brand, self.journal)
        for key in deliveries:
            self.look.r.set(key, 1, ex=DELIVERY_TTL)
        return result

    async def ingest_async(
        self, path: str, environ: dict[str, Any], body: bytes, pipes: Pipes
    ) -> dict[str, Any] | None:
        """`ingest` on the event loop, for a delivery of orders whose every lookup is in this
        process's caches: the journal's fsync, then each order's script, awaited (in that order)
        while the loop serves other requests. None for anything else (a lookup Redis must answer,
        a delivery id to check, a refund, any error): `ingest` or the Flask view takes it on a thread."""
        try:
            signed = self.signed(path, environ, body, self.cached)
            if signed is None or signed[1] in DELIVERY_HEADERS:
                return None
            brand, source, headers = signed
            events = parse(source, json.loads(body), brand, headers, self.cached)
            if not all(isinstance(event, Order) for event in events):
                return None
            secrets = self.signing.all()
            calls = [order_call(self.cached, brand, event, secrets) for event in events]
        except (NotCached, *DECLINED):
            return None
        try:
            if events:
                await self.journal.append_async(journal_record(brand, events))
            return answer(events, [await pipes.run(call) for call in calls])
        except (JournalError, redis.RedisError):
            return None

    def signed(
        self, path: str, environ: dict[str, Any], body: bytes, look: Lookups
    ) -> tuple[dict[str, Any], str, EnvironHeaders] | None:
        """A delivery's brand, source and headers when its signature verifies; else None."""
        parts = path.split("/")
        if len(parts) != 4 or parts[3] not in SIGNATURE_HEADERS:
            return None
        brand_id, source = parts[2], parts[3]
        brand = look.brand(brand_id)
        secrets = look.secrets(brand_id, source) if brand else None
        if not secrets:
            return None
        headers = EnvironHeaders(environ)
        if verify(source, headers, body, secrets) is not None:
            return None
        return brand, source, headers
