"""Baseline app of the webhook benchmark (see bench/webhook.py).

`hello_app`: a hello-world Flask app whose only route, `POST /webhooks/<brand>/<source>`, reads the
body and answers `{"status": "ok"}` with 200. It is served the way ours is (granian, the service's
settings) and loaded with the same wrk script and signed requests, which it neither checks nor stores.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

hello_app = Flask(__name__)


@hello_app.post("/webhooks/<brand>/<source>")
def receive(brand: str, source: str) -> tuple[dict[str, Any], int]:
    request.get_data(cache=False)
    return {"status": "ok"}, 200
