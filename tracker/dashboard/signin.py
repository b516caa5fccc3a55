"""Signing in with an API key, the session, and CSRF protection of every dashboard form.

The session (Flask's signed cookie, HttpOnly, SameSite=Lax) holds the brand id, the SHA-256 of the
key it was opened with, the id of its sign-in and a CSRF token. The sign-in is also kept in Redis
for DASHBOARD_SESSION_HOURS; signing out deletes it, so a copy of the cookie is worth nothing
after. Every request checks both that the sign-in exists and that the key still belongs to the
brand, so revoking the key ends its dashboard sessions too. Every POST must echo the token (form
field `csrf_token` or header `X-CSRF-Token`), or it is refused with a 400 page and changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, Unauthorized

from tracker import auth, keys
from tracker.brands.model import get_brand
from tracker.dashboard import bp
from tracker.errors import error_body

PUBLIC = frozenset({"dashboard.login"})
NOTICES = {"ended": "Your session has ended; sign in again.", "signed_out": "Signed out."}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _signed_in_brand() -> dict[str, Any] | None:
    """The session's brand, if its sign-in is still open and its key still opens the brand."""
    brand_id, key_hash, sid = session.get("brand_id"), session.get("key_hash"), session.get("sid")
    if not brand_id or not key_hash or not sid:
        return None
    r = current_app.extensions["redis"]
    with r.pipeline(transaction=False) as p:  # two slots (a cluster's pipeline asks each node)
        p.get(keys.dashboard_session(brand_id, sid))
        p.get(keys.api_key(key_hash))
        opened, owner = p.execute()
    if opened is None or not hmac.compare_digest(opened, key_hash.encode()):
        return None
    if owner is None or owner.decode() != brand_id:
        return None
    return get_brand(r, brand_id)


def _forget_sign_in() -> None:
    """Drop the session's sign-in (its CSRF token stays, for the sign-in form)."""
    for name in ("brand_id", "key_hash", "sid"):
        session.pop(name, None)


@bp.before_request
def _guard() -> Any:
    """Before every dashboard request: the CSRF check on POSTs, then the signed-in brand."""
    if request.endpoint == "dashboard.static":
        return None
    if request.method == "POST" and not _csrf_ok():
        return _csrf_failed()
    if request.endpoint in PUBLIC:
        return None
    brand = _signed_in_brand()
    if brand is None:
        had_session = "brand_id" in session
        _forget_sign_in()
        if wants_json():
            return json_error(Unauthorized("Not signed in."))
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("dashboard.login", next=back, notice="ended" if had_session else None), 303)
    g.brand = brand
    return None


def _csrf_failed() -> tuple[str, int]:
    return (
        render_template(
            "dashboard/error.html",
            code=400,
            title="Form expired or forged",
            message="This form was sent without its security token, or with a wrong one, so nothing was changed. "
            "Go back, reload the page and try again.",
        ),
        400,
    )


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "dashboard.static":
        resp.headers["Cache-Control"] = "no-store"
    return resp


def json_error(exc: HTTPException) -> tuple[Response, int]:
    """An error for the dashboard's scripts (the refresh, its job's status) in the API's one error
    shape, {code, status, message}."""
    data = getattr(exc, "data", None) or {}
    code = exc.code or 500
    return jsonify(error_body(code, data.get("message") or exc.description)), code


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    """Errors inside the dashboard, an unknown address under /dashboard/ included, are pages (to a
    script that asks for JSON, the one error shape)."""
    if wants_json():
        return json_error(exc)
    data = getattr(exc, "data", None) or {}
    message = data.get("message") or exc.description
    return render_template("dashboard/error.html", code=exc.code, title=exc.name, message=message), exc.code


@bp.app_template_global()
def csrf_field() -> Any:
    from markupsafe import Markup, escape

    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">')


@bp.context_processor
def _globals() -> dict[str, Any]:
    return {"brand": g.get("brand"), "csrf_token": csrf_token}


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (never another host) may follow a sign-in."""
    if target:
        try:
            parts = urlsplit(target)
        except ValueError:  # e.g. an unclosed '[' in what would be a host
            return url_for("dashboard.overview")
        if not parts.scheme and not parts.netloc and parts.path.startswith("/dashboard") and "\\" not in target:
            return target
    return url_for("dashboard.overview")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with one of the brand's API keys."""
    next_url = request.values.get("next")
    if request.method == "GET":
        if _signed_in_brand() is not None:
            return redirect(_safe_next(next_url))
        return render_template(
            "dashboard/login.html", next=next_url, notice=NOTICES.get(request.args.get("notice", ""))
        )
    key = request.form.get("api_key", "").strip()
    r = current_app.extensions["redis"]
    client, limit = auth.client_address(), int(current_app.config["AUTH_FAILURES_PER_MINUTE"])
    try:
        brand_id = auth.brand_for_key(r, key, client, limit) if key else None
    except auth.TooManyFailures as exc:
        _forget_sign_in()
        error = f"Too many wrong API keys from your address. Try again in {exc.retry_after} seconds."
        page = render_template("dashboard/login.html", next=next_url, error=error)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    if brand_id is None or get_brand(r, brand_id) is None:
        _forget_sign_in()
        if key:
            auth.count_failure(r, client, limit, "dashboard sign-in")
        error = "Enter your API key." if not key else "Unknown or revoked API key."
        return render_template("dashboard/login.html", next=next_url, error=error), 401
    session.clear()  # a fresh session (and CSRF token) for the signed-in brand
    sid, key_hash = secrets.token_urlsafe(24), auth.hash_key(key)
    hours = float(current_app.config["DASHBOARD_SESSION_HOURS"])
    r.set(keys.dashboard_session(brand_id, sid), key_hash, ex=max(1, round(hours * 3600)))
    session.update(brand_id=brand_id, key_hash=key_hash, sid=sid)
    csrf_token()
    return redirect(_safe_next(next_url), 303)


@bp.post("/logout")
def logout() -> Any:
    current_app.extensions["redis"].delete(keys.dashboard_session(g.brand["id"], session["sid"]))
    session.clear()
    return redirect(url_for("dashboard.login", notice="signed_out"), 303)
