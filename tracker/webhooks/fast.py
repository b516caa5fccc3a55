"""The lean adapter of the webhook intake: deliveries served without Flask's request machinery.

It runs the same `intake.receive` as the Flask view, and answers what it accepts (a 200). What it
does not (an unknown brand or source, a bad signature, bad fields, a body that is not JSON, a
journal or Redis error, any other exception) goes, body rewound, to the Flask view with the
exception the intake raised (`REFUSED` in the environ), which words it in the one error shape
without running the intake again. Under ASGI (`tracker.asgi`), `ingest_async` runs the intake on
the event loop itself: every lookup from the process's caches, the journal and the scripts awaited.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import redis
from werkzeug.datastructures import EnvironHeaders

from tracker import metrics
from tracker.conversions.recording import Steps, run, run_async
from tracker.db.aio import Pipes
from tracker.journal import JournalError
from tracker.lookups import CacheOnly, Lookups, NotCached
from tracker.webhooks import REFUSED, intake

MAX_BODY = 2 * 1024 * 1024
WEBHOOKS_200 = {source: metrics.WEBHOOKS.labels(source, "200") for source in intake.SIGNATURE_HEADERS}


class WebhookFront:
    def __init__(self, flask_app: Any):
        self.app = flask_app
        self.look = flask_app.extensions["lookups"]
        self.cached = CacheOnly(self.look)  # the same caches, never asking Redis: for the event loop
        self.signing = flask_app.extensions["signing_keys"]
        self.journal = flask_app.extensions["journal"]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] != "POST" or REFUSED in environ or _route(path) is None:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            result = run(self.steps(self.look, path, environ, body), self.look.db, self.journal)
        except Exception as exc:  # noqa: BLE001 - every refusal is worded by the Flask view
            environ[REFUSED] = exc
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return self.app(environ, start_response)
        headers, payload = self.ok(path, result)
        start_response("200 OK", headers)
        return [payload]

    async def ingest_async(
        self, path: str, environ: dict[str, Any], body: bytes, pipes: Pipes
    ) -> dict[str, Any] | None:
        """The intake on the event loop, every lookup from this process's caches, the journal's
        fsync and the commands awaited; None when the delivery is to be taken on a thread: a
        lookup Redis must answer, Shopify's (it reads Redis while parsing), a Redis or journal
        error there (tried again blocking: recording is idempotent), or a refusal (in the environ)."""
        route = _route(path)
        if route is None or route[1] in intake.DELIVERY_HEADERS:
            return None
        try:
            return await run_async(self.steps(self.cached, path, environ, body), pipes, self.journal)
        except (NotCached, JournalError, redis.RedisError):
            return None
        except Exception as exc:  # noqa: BLE001 - worded by the Flask view, on a thread
            environ[REFUSED] = exc
            return None

    def steps(self, look: Lookups, path: str, environ: dict[str, Any], body: bytes) -> Steps[dict[str, Any]]:
        brand_id, source = path.split("/")[2:]
        content_type = environ.get("CONTENT_TYPE", "")
        return intake.receive(look, self.signing.all(), brand_id, source, EnvironHeaders(environ), body, content_type)

    def ok(self, path: str, result: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes]:
        """The 200 of a delivery handled here (counted): its headers and body."""
        payload = json.dumps(result, separators=(",", ":")).encode()
        WEBHOOKS_200[path.rsplit("/", 1)[1]].inc()
        return [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload


def _route(path: str) -> tuple[str, str] | None:
    """(brand id, source) of a known source's webhook path, as the Flask route reads it; else None
    (the Flask app answers: 404)."""
    parts = path.split("/")
    if len(parts) != 4 or parts[1] != "webhooks" or not parts[2] or parts[3] not in intake.SIGNATURE_HEADERS:
        return None
    return parts[2], parts[3]
