"""The influencer's page `/i/<token>` and its QR codes `/i/<token>/qr/<link id>.svg|.png`.

Server-rendered, no external resources (the CSP says so), never cached, no referrer (the token
is in the URL). An unknown or revoked token, or a link that is not the influencer's, is a 404 page.
"""

from __future__ import annotations

import io
from typing import Any

import segno
from flask import Response, current_app, render_template, request

from tracker.portal import bp, model

QR_SCALE = 8  # pixels per module: a 33-module code is 264 px with its border
QR_BORDER = 4  # the quiet zone the QR standard asks for
QR_ERROR = "m"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}
_MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_code(url: str, kind: str) -> bytes:
    """The QR code of a short URL as SVG or PNG (segno's own writers; no Pillow)."""
    out = io.BytesIO()
    segno.make(url, micro=False, error=QR_ERROR).save(out, kind=kind, scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


def _r():
    return current_app.extensions["redis"]


def _not_found() -> Response:
    return Response(render_template("portal/not_found.html"), 404, _HEADERS, mimetype="text/html")


@bp.get("/<token>")
def page(token: str) -> Response:
    ref = model.resolve(_r(), token)
    data = model.page(_r(), ref, current_app.config["BASE_URL"]) if ref else None
    if data is None:
        return _not_found()
    cur = data.brand["currency"]
    html = render_template(
        "portal/page.html", page=data, token=token, format_money=model.format_money,
        money=lambda amount: model.format_money(amount, cur),
    )  # fmt: skip
    return Response(html, 200, _HEADERS, mimetype="text/html")


@bp.get("/<token>/qr/<link_id>.<any(svg, png):kind>")
def qr(token: str, link_id: str, kind: str) -> Response:
    ref = model.resolve(_r(), token)
    link = model.find_link(_r(), ref, link_id) if ref else None
    if link is None:
        return _not_found()
    short_url = f"{current_app.config['BASE_URL'].rstrip('/')}/{link['code']}"
    headers: dict[str, Any] = {**_HEADERS, "Cache-Control": "private, max-age=3600"}
    if request.args.get("download") == "1":
        headers["Content-Disposition"] = f'attachment; filename="qr-{link["code"]}.{kind}"'
    return Response(qr_code(short_url, kind), 200, headers, mimetype=_MIMETYPES[kind])


@bp.get("/", defaults={"rest": ""})
@bp.get("/<path:rest>")
def elsewhere(rest: str) -> Response:
    """Any other path under /i/ is the same 404 page (not the API's JSON error)."""
    return _not_found()
