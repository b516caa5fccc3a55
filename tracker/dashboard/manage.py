"""Manage influencers, campaigns, promotions and links from the dashboard: lists, create and edit forms.

A form is turned into the API's JSON body (`forms.to_payload`), loaded with the API's schema and
handed to the area's service functions (`tracker/<area>/service.py`), so the dashboard validates,
stores and answers conflicts exactly like `/api/v1`: the same domain errors, their messages shown
next to the fields. Another brand's ids are 404 (`domain_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import default_exceptions

from tracker import api
from tracker.campaigns import service as campaigns
from tracker.campaigns.schemas import CampaignSchema
from tracker.dashboard import bp, fmt
from tracker.dashboard.forms import Field, FormError, to_form, to_payload
from tracker.dashboard.signin import http_error
from tracker.dashboard.views import every, flatten
from tracker.engagement import model as engagement_model
from tracker.engagement import service as engagement
from tracker.engagement.schemas import snapshot_schema
from tracker.errors import DomainError, NotFound
from tracker.influencers import service as influencers
from tracker.influencers.schemas import PLATFORMS, InfluencerSchema
from tracker.links import service as links
from tracker.links.schemas import LinkSchema, LinkUpdateSchema
from tracker.promotions import service as promotions
from tracker.promotions.schemas import STYLES, PromotionSchema, PromotionUpdateSchema
from tracker.tiers import TIERS

PAGE_SIZE = 50


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError) -> Any:
    """A domain error no page shows next to its field (another brand's id: NotFound) is the
    dashboard's error page, with the API's message."""
    http = default_exceptions[exc.status]()
    http.data = {"message": exc.message}
    return http_error(http)


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    title: str
    service: ModuleType  # the area's service functions: get, get_page, create, update
    create_schema: type[Schema]
    update_schema: type[Schema]
    fields: Callable[[], list[Field]]
    label: Callable[[dict[str, Any]], str]


def _options(kind: str, label: Callable[[dict[str, Any]], str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(((r["id"], label(r)) for r in every(kind)), key=lambda o: o[1].casefold()))


def _influencer_label(i: dict[str, Any]) -> str:
    return f"@{i['handle']} ({i['platform']})"


def _promotion_label(p: dict[str, Any]) -> str:
    people = _lookup("influencer")
    camps = _lookup("campaign")
    who = people.get(p["influencer_id"], {}).get("handle", "?")
    return f"@{who} in {camps.get(p['campaign_id'], {}).get('name', '?')} ({p['style'].replace('_', '-')})"


def _lookup(kind: str) -> dict[str, dict[str, Any]]:
    """All records of a kind by id, once per request."""
    cache = g.setdefault("dashboard_lookup", {})
    if kind not in cache:
        cache[kind] = {r["id"]: r for r in every(kind)}
    return cache[kind]


def influencer_fields() -> list[Field]:
    return [
        Field("handle", "Handle", required=True, help="Without or with the @."),
        Field("platform", "Platform", "select", required=True, options=tuple((p, p) for p in PLATFORMS)),
        Field("followers", "Followers", "number", required=True),
        Field("email", "Email", "email", nullable=True),
        Field(
            "tier_override",
            "Pinned tier",
            "select",
            nullable=True,
            options=(("", "by followers"), *((t, t) for t in TIERS)),
            help="Pin the influencer to a tier, whatever the followers.",
        ),
    ]


def campaign_fields() -> list[Field]:
    return [
        Field("name", "Name", required=True),
        Field("slug", "Slug", required=True, help="Lowercase letters and digits joined by '-'; used as utm_campaign."),
        Field("destination_url", "Destination URL", "url", required=True),
        Field("starts_on", "Starts on", "date", required=True),
        Field("ends_on", "Ends on", "date", nullable=True),
        Field("discount_codes", "Discount codes", "codes", help="Campaign-wide codes, separated by commas."),
    ]


def promotion_fields() -> list[Field]:
    currency = g.brand["currency"]
    return [
        Field("campaign_id", "Campaign", "select", required=True, create_only=True,
              options=_options("campaign", lambda c: c["name"])),
        Field("influencer_id", "Influencer", "select", required=True, create_only=True,
              options=_options("influencer", _influencer_label)),
        Field("style", "Style", "select", required=True, options=tuple((s, s.replace("_", "-")) for s in STYLES),
              help="long-running: a post promoted for weeks; timeboxed: a story (24 hours by default)."),
        Field("window_hours", "Window (hours)", "number", nullable=True, help="Timeboxed only; default 24."),
        Field("posted_at", "Posted at (UTC)", "datetime", nullable=True, help="Day 0 starts here."),
        Field("followers", "Followers at the time", "number", help="Default: the influencer's followers now."),
        Field("engagements", "Engagements", "number", nullable=True),
        Field("cost.currency", "Cost currency", help=f"Default {currency}."),
        Field("cost.flat_fee", "Flat fee", "money", help="In the cost currency, e.g. 250.00."),
        Field("cost.commission_percent", "Commission (%)", help="Percent of attributed revenue, e.g. 12.5."),
        Field("cost.cost_per_click", "Cost per click", "money"),
        Field("discount_codes", "Discount codes", "codes", help="This influencer's codes, separated by commas."),
    ]  # fmt: skip


def link_fields() -> list[Field]:
    return [
        Field("promotion_id", "Promotion", "select", required=True, create_only=True,
              options=_options("promotion", _promotion_label)),
        Field("code", "Custom code", create_only=True, help="Optional alias; an 8-character code is generated."),
        Field("channel", "Channel", create_only=True, help="Optional: where it is posted, e.g. instagram-bio."),
        Field("destination_url", "Destination URL", "url", nullable=True, help="Default: the campaign's destination."),
        Field("disabled", "Disabled", "checkbox"),
        Field("expires_at", "Expires at (UTC)", "datetime", nullable=True),
    ]  # fmt: skip


RESOURCES = {
    r.plural: r
    for r in (
        Resource("influencer", "influencers", "Influencers", influencers,
                 InfluencerSchema, InfluencerSchema, influencer_fields, _influencer_label),
        Resource("campaign", "campaigns", "Campaigns", campaigns,
                 CampaignSchema, CampaignSchema, campaign_fields, lambda c: c["name"]),
        Resource("promotion", "promotions", "Promotions", promotions,
                 PromotionSchema, PromotionUpdateSchema, promotion_fields, _promotion_label),
        Resource("link", "links", "Links", links,
                 LinkSchema, LinkUpdateSchema, link_fields, lambda link: link["code"]),
    )
}  # fmt: skip


def _resource(plural: str) -> Resource:
    if plural not in RESOURCES:
        abort(404)
    return RESOURCES[plural]


@bp.get("/manage")
def manage() -> Any:
    counts = {name: api.store().page(res.kind, 1, 1)[1] for name, res in RESOURCES.items()}
    return render_template("dashboard/manage/index.html", resources=RESOURCES, counts=counts)


@bp.get("/manage/<plural>")
def manage_list(plural: str) -> Any:
    res = _resource(plural)
    page = min(max(1, request.args.get("page", 1, type=int) or 1), api.MAX_PAGE)
    items, total = res.service.get_page(api.scope(), page, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        f"dashboard/manage/{plural}.html",
        res=res,
        items=items,
        total=total,
        page=page,
        pages=pages,
        lookup=_lookup,
        promotion_label=_promotion_label,
        fmt=fmt,
    )


def _form(res: Resource, record: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, list[str]]) -> str:
    fields = [f for f in res.fields() if record is None or not f.create_only]
    return render_template(
        "dashboard/manage/form.html", res=res, record=record, fields=fields, values=values, errors=errors
    )


def _submit(res: Resource, record: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, list[str]], int]:
    """Validate the posted form with the API's schema and save it with the area's service:
    (saved, errors, status)."""
    creating = record is None
    fields = res.fields()
    try:
        payload = to_payload(fields, request.form.to_dict(), creating, g.brand["currency"])
        if creating:
            return res.service.create(api.scope(), res.create_schema().load(payload)), {}, 201
        changes = res.update_schema(partial=True).load(payload)
        return res.service.update(api.scope(), record["id"], changes), {}, 200
    except FormError as exc:
        return None, {exc.field: [exc.message]}, 422
    except ValidationError as exc:
        return None, flatten(exc.messages), 422
    except NotFound:
        raise
    except DomainError as exc:
        return None, _field_errors(exc), exc.status


def _field_errors(exc: DomainError) -> dict[str, list[str]]:
    """A domain error as the form shows it: next to its field, else above the form."""
    return flatten((exc.errors or {}).get("json") or {}) or {"_schema": [exc.message]}


@bp.route("/manage/<plural>/new", methods=["GET", "POST"])
def manage_new(plural: str) -> Any:
    res = _resource(plural)
    if request.method == "GET":
        values = {k: v for k, v in request.args.items() if k in {f.name for f in res.fields()}}
        return _form(res, None, values, {})
    saved, errors, status = _submit(res, None)
    if saved is None:
        return _form(res, None, request.form.to_dict(), errors), status
    flash(f"Created {res.kind} {res.label(saved)}.")
    return redirect(url_for(".manage_list", plural=plural), 303)


@bp.route("/manage/<plural>/<record_id>", methods=["GET", "POST"])
def manage_edit(plural: str, record_id: str) -> Any:
    res = _resource(plural)
    record = res.service.get(api.scope(), record_id)
    if request.method == "GET":
        return _form(res, record, to_form(res.fields(), record), {})
    saved, errors, status = _submit(res, record)
    if saved is None:
        return _form(res, record, request.form.to_dict(), errors), status
    flash(f"Saved {res.kind} {res.label(saved)}.")
    return redirect(url_for(".manage_list", plural=plural), 303)


# -- a promotion's post metrics -------------------------------------------------------------
def _metrics_page(promotion: dict[str, Any], values: dict[str, str], errors: dict[str, list[str]]) -> str:
    return render_template(
        "dashboard/manage/metrics.html", promotion=promotion, label=_promotion_label(promotion),
        doc=engagement.document(api.scope(), promotion["id"]), counts=engagement_model.COUNTS, values=values,
        errors=errors, fmt=fmt,
    )  # fmt: skip


@bp.route("/manage/promotions/<promotion_id>/metrics", methods=["GET", "POST"])
def promotion_metrics(promotion_id: str) -> Any:
    """The promotion's post metrics: the brand's series, an entry form, and the influencer's
    self-reported figures to confirm (through the engagement service, as the API)."""
    promotion = promotions.load(api.scope(), promotion_id)
    if request.method == "GET":
        return _metrics_page(promotion, {}, {})
    names = ("date", *engagement_model.COUNTS)
    values = {name: (request.form.get(name) or "").strip() for name in names}
    payload: dict[str, Any] = {"date": values["date"]} if values["date"] else {}
    for name in engagement_model.COUNTS:
        if values[name]:
            payload[name] = engagement_model.as_number(values[name].replace(",", "").replace(" ", ""))
    try:
        engagement.add(api.scope(), promotion_id, snapshot_schema.load(payload))
    except ValidationError as exc:
        return _metrics_page(promotion, values, flatten(exc.messages)), 422
    except NotFound:
        raise
    except DomainError as exc:
        return _metrics_page(promotion, values, _field_errors(exc)), exc.status
    flash(f"Saved the post metrics of {values['date']}.")
    return redirect(url_for(".promotion_metrics", promotion_id=promotion_id), 303)


@bp.post("/manage/promotions/<promotion_id>/metrics/confirm/<day>")
def confirm_metrics(promotion_id: str, day: str) -> Any:
    """Confirm the influencer's figures of a day: they join the series and count in reports."""
    engagement.confirm(api.scope(), promotion_id, day)
    flash(f"Confirmed the influencer's post metrics of {day}; they now count in reports.")
    return redirect(url_for(".promotion_metrics", promotion_id=promotion_id), 303)
