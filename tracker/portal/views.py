"""The influencer's page `/i/<token>`, its QR codes `/i/<token>/qr/<link id>.svg|.png`, the
form that makes a link `POST /i/<token>/links`, and the one that reports a post's metrics
`POST /i/<token>/metrics` (kept apart, self-reported, until the brand confirms them).

Server-rendered, no external resources (the CSP says so), never cached, no referrer (the token
is in the URL). An unknown or revoked token, or a link or promotion that is not the influencer's,
is a 404 page. The form carries a CSRF token (flask-wtf's, bound to the session cookie).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import segno
from flask import Response, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from marshmallow import ValidationError as MarshmallowError
from wtforms.validators import ValidationError

from tracker.brands.model import get_brand
from tracker.dashboard.charts import period_chart
from tracker.engagement import model as engagement
from tracker.engagement import service as metrics
from tracker.engagement.schemas import snapshot_schema
from tracker.errors import DomainError, FieldError, Invalid, NotFound
from tracker.links import channels
from tracker.links import service as links
from tracker.portal import bp, model
from tracker.promotions import service as promotions
from tracker.reports import series, service
from tracker.scope import Scope

QR_SCALE = 8  # pixels per module: a 33-module code is 264 px with its border
QR_BORDER = 4  # the quiet zone the QR standard asks for
QR_ERROR = "m"
REFERRERS_SHOWN = 5
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
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


def _page(
    token: str, ref: dict[str, str] | None, status: int = 200, metrics_form: dict[str, Any] | None = None, **form: Any
) -> Response:
    """The influencer's page (with the link or metrics form's message and values, after a refused form)."""
    data = model.page(_r(), ref, current_app.config["BASE_URL"]) if ref else None
    if data is None:
        return _not_found()
    cur = data.brand["currency"]
    reports = engagement.influencer_reports(_r(), data.brand["id"], [p.promotion_id for p in data.promotions])
    campaigns = {p.promotion_id: p.campaign for p in data.promotions}
    start, end = _dates(data.brand)
    daily = service.series(_r(), data.brand, "influencer", data.influencer["id"], start, end, "day")
    chart = period_chart("daily", "Your clicks and conversions per day", daily.rows, daily.time_zone)
    referrers = service.breakdown(_r(), data.brand, "influencer", data.influencer["id"], "referrer", start, end,
                                  REFERRERS_SHOWN)  # fmt: skip
    html = render_template(
        "portal/page.html", page=data, token=token, format_money=model.format_money,
        money=lambda amount: model.format_money(amount, cur), channels=channels.SUGGESTED,
        csrf_token=generate_csrf(), form=form, made=request.args.get("made"),
        cap_reached=channels.cap_reached(data.brand),
        reports=reports, campaign_of=campaigns, counts=engagement.COUNTS, metrics_form=metrics_form or {},
        reported=request.args.get("reported"), daily=daily, chart=chart, referrers=referrers,
    )  # fmt: skip
    return Response(html, status, _HEADERS, mimetype="text/html")


def _dates(brand: dict[str, Any]) -> tuple[date, date]:
    """The page's days: `from` and `to` when given and sane (at most a year), else the last 30 in the
    brand's time zone."""
    try:
        start, end = (date.fromisoformat(request.args[n]) if request.args.get(n) else None for n in ("from", "to"))
    except ValueError:
        start = end = None
    start, end = series.date_range(brand, start, end)
    if end < start or (end - start).days >= series.MAX_DAYS:
        start, end = series.date_range(brand, None, None)
    return start, end


@bp.get("/<token>")
def page(token: str) -> Response:
    return _page(token, model.resolve(_r(), token))


@bp.post("/<token>/links")
def make_link(token: str) -> Response:
    """A link of one of the influencer's promotions, for a channel: an ordinary tracked link."""
    r = _r()
    ref = model.resolve(r, token)
    brand = get_brand(r, ref["brand"]) if ref else None
    if brand is None:
        return _not_found()
    form = {name: request.form.get(name, "").strip() for name in ("promotion_id", "channel", "channel_other")}
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _page(token, ref, 400, error="This form expired or was not sent from your page; nothing was made. "
                     "Reload the page and try again.", **form)  # fmt: skip
    scope = Scope.of(current_app, brand)
    try:
        promotion = promotions.of_influencer(scope, ref["influencer"], form["promotion_id"])
    except NotFound:
        return _not_found()
    try:
        channel = channels.normalise(form["channel_other"] or form["channel"])
    except MarshmallowError as exc:
        return _page(token, ref, 422, error=f"Channel: {exc.messages[0]}", **form)
    try:
        link = links.create_for_influencer(scope, promotion, channel)
    except DomainError as exc:  # the cap reached, a channel they have a link for, no free code
        message = exc.problem if isinstance(exc, FieldError) else exc.message
        return _page(token, ref, exc.status, error=message, **form)
    return redirect(url_for("portal.page", token=token, made=link["id"], _anchor=f"link-{link['id']}"), 303)


@bp.post("/<token>/metrics")
def report_metrics(token: str) -> Response:
    """The influencer's own post metrics of a day, for one of their promotions: kept apart and shown
    to the brand as self-reported until it confirms them; never in reports before."""
    r = _r()
    ref = model.resolve(r, token)
    brand = get_brand(r, ref["brand"]) if ref else None
    if brand is None:
        return _not_found()
    names = ("promotion_id", "date", *engagement.COUNTS)
    form = {name: request.form.get(name, "").strip()[:100] for name in names}
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _page(token, ref, 400, metrics_form={**form, "error": "This form expired or was not sent from your "
                     "page; nothing was saved. Reload the page and try again."})  # fmt: skip
    scope = Scope.of(current_app, brand)
    try:
        promotion = promotions.of_influencer(scope, ref["influencer"], form["promotion_id"])
    except NotFound:
        return _not_found()
    payload: dict[str, Any] = {"date": form["date"]} if form["date"] else {}
    for name in engagement.COUNTS:
        if form[name]:
            payload[name] = engagement.as_number(form[name].replace(",", "").replace(" ", ""))
    try:
        snapshot = snapshot_schema.load(payload)
        metrics.self_report(scope, promotion, snapshot)
    except MarshmallowError as exc:
        name, problems = next(iter(exc.messages.items()))
        label = "Metrics" if name == "_schema" else name.capitalize()
        return _page(token, ref, 422, metrics_form={**form, "error": f"{label}: {problems[0]}"})
    except Invalid as exc:  # a date outside the promotion
        return _page(token, ref, 422, metrics_form={**form, "error": f"Date: {exc.problem}"})
    return redirect(url_for("portal.page", token=token, reported=promotion["id"], _anchor="metrics"), 303)


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
