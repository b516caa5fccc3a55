"""The shop's click-id snippet: `GET /snippet/<brand id>.js`.

A few KB of dependency-free JavaScript a shop adds to its pages. It reads the brand's click
parameter from the landing URL, keeps the id for the brand's attribution window in a first-party
cookie (`il_click`) and localStorage, exposes `window.influenceLedger.clickId()`, and on Shopify
writes the id into the cart's attributes (the order's `note_attributes`, which attribution reads).
The brand's parameter and window are baked in; the answer is cacheable (ETag, 5 minutes).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from flask import Blueprint, Response, current_app, request

from tracker.errors import abort

bp = Blueprint("snippet", __name__)
MAX_AGE = 300  # a changed click parameter or window reaches shops within five minutes
_SOURCE = resources.files(__name__).joinpath("snippet.js").read_text(encoding="utf-8")


def render(click_param: str, window_days: int) -> str:
    """The script for a brand: its click parameter and attribution window filled in."""
    return _SOURCE.replace("__PARAM__", json.dumps(click_param)).replace("__DAYS__", str(int(window_days)))


@bp.get("/snippet/<brand_id>.js")
def script(brand_id: str) -> Response:
    brand = current_app.extensions["lookups"].brand(brand_id)
    if brand is None:
        abort(404, message=f"brand {brand_id} not found")
    body = render(brand["click_param"], brand["attribution_window_days"]).encode()
    resp = Response(body, 200, mimetype="text/javascript")
    resp.set_etag(hashlib.sha256(body).hexdigest()[:32])
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # loaded by the shop's pages
    return resp.make_conditional(request)
