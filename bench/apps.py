"""Baseline apps of the redirect benchmark (see bench/redirect.py).

`flask_app`: a hello-world Flask app whose only route answers 302 (baseline A, gunicorn sync).
`xadd_app`: a bare WSGI callable doing exactly one Redis XADD per request, then 302 (baseline B,
granian with the service's own settings). Its Redis and stream key come from BENCH_REDIS_URL and
BENCH_STREAM; the client is built on the first request, so each worker process owns its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import Flask, redirect
from werkzeug.wrappers import Response as WerkzeugResponse

DESTINATION = "https://shop.example/"

flask_app = Flask(__name__)


@flask_app.get("/<code>")
def go(code: str) -> WerkzeugResponse:
    return redirect(DESTINATION, 302)


StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    return _client


def xadd_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """One click event per request, shaped like a real one, then the redirect."""
    _redis().xadd(
        os.environ["BENCH_STREAM"],
        {
            "code": environ.get("PATH_INFO", "/")[1:],
            "ts": str(int(time.time() * 1000)),
            "ip": environ.get("REMOTE_ADDR", ""),
            "ua": environ.get("HTTP_USER_AGENT", ""),
            "ref": environ.get("HTTP_REFERER", ""),
        },
    )
    start_response("302 Found", [("Location", DESTINATION), ("Content-Length", "0")])
    return [b""]
