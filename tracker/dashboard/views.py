"""The report pages: overview, influencers (sortable, CSV), the comparison, per-link and
per-promotion pages, and the roll-up refresh.

Every figure comes from the report service (`tracker.reports.service`), the same typed results
the API renders as JSON; this module only chooses, sorts and formats (see `fmt`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from tracker import api, csvsafe
from tracker.dashboard import bp, fmt
from tracker.dashboard.charts import Series, line_chart, period_chart
from tracker.dashboard.signin import wants_json
from tracker.influencers.service import with_tier
from tracker.links.service import present
from tracker.reports import results, series, service
from tracker.reports.schemas import ComparisonArgs, RangeArgs
from tracker.tiers import TIERS

STYLES = ("long_running", "timeboxed")


def _r() -> Any:
    return current_app.extensions["redis"]


def every(kind: str) -> list[dict[str, Any]]:
    """All records of one kind of the signed-in brand, in creation order."""
    return api.store().page(kind, 1, 10**9)[0]


def rolled_up_at() -> str | None:
    return service.rolled_up_at(_r(), g.brand["id"])


def flatten(messages: Any, path: str = "") -> dict[str, list[str]]:
    """A marshmallow error tree as {'field.sub': [messages]} (list indexes dropped)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.setdefault(path or "_schema", []).extend(messages)
    elif isinstance(messages, dict):
        for key, value in messages.items():
            sub = path if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            for name, found in flatten(value, sub).items():
                out.setdefault(name, []).extend(found)
    elif isinstance(messages, str):
        out.setdefault(path or "_schema", []).append(messages)
    return out


# -- filters --------------------------------------------------------------------------------
@dataclass
class Filters:
    """The date range and campaign of a report page (the API's own query schema checks them)."""

    values: dict[str, str]
    args: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def start(self) -> date | None:
        return self.args.get("start")

    @property
    def end(self) -> date | None:
        return self.args.get("end")

    @property
    def campaign(self) -> str | None:
        return self.args.get("campaign")

    def query(self, **extra: Any) -> dict[str, Any]:
        """These filters (and `extra`) as URL query arguments."""
        return {**{k: v for k, v in self.values.items() if v}, **extra}


def read_filters(schema: Any = None, names: tuple[str, ...] = ("from", "to", "campaign")) -> Filters:
    values = {name: request.args.get(name, "").strip() for name in names}
    f = Filters(values)
    try:
        f.args = (schema or RangeArgs()).load({k: v for k, v in values.items() if v})
    except ValidationError as exc:
        f.errors = flatten(exc.messages)
    return f  # an unknown campaign: the service says not found


def page_context(**extra: Any) -> dict[str, Any]:
    """What every report page shows: the campaigns to filter by, the last roll-up."""
    camps = sorted(every("campaign"), key=lambda c: c["name"].casefold())
    return {"campaigns": camps, "rolled_up_at": rolled_up_at(), "fmt": fmt, **extra}


# -- overview -------------------------------------------------------------------------------
@bp.get("/")
def overview() -> Any:
    """Spend, revenue, ROI, cost per conversion, clicks, conversions and unattributed orders."""
    f = read_filters()
    if f.errors:
        return render_template("dashboard/overview.html", **page_context(filters=f)), 422
    report = service.grouped(_r(), g.brand, "tier", f.start, f.end, f.campaign)
    tiers = {row.key: row for row in report.rows}
    daily, chart = period_series("campaign" if f.campaign else "brand", f.campaign, *chart_range(f), "overview-series",
                                 "Clicks and conversions per day")  # fmt: skip
    return render_template(
        "dashboard/overview.html",
        **page_context(
            filters=f,
            daily=daily,
            daily_chart=chart,
            totals=report.totals,
            unattributed=report.unattributed,
            tiers=[tiers[t] for t in TIERS if t in tiers],
            expected_range=expected_range,
        ),
    )


# -- series and breakdowns ------------------------------------------------------------------
BREAKDOWNS = (("referrer", "By referrer"), ("country", "By country"), ("device", "By device type"),
              ("browser", "By browser"), ("os", "By OS"))  # fmt: skip
BREAKDOWN_TOP = 10


def chart_range(f: Filters) -> tuple[date, date]:
    """The filters' dates in the brand's time zone (default the last 30 days), at most a year of them."""
    start, end = series.date_range(g.brand, f.start, f.end)
    if (end - start).days >= series.MAX_DAYS:
        start = end - timedelta(days=series.MAX_DAYS - 1)
    return start, end


def period_series(
    by: str, subject_id: str | None, start: date, end: date, chart_id: str, title: str
) -> tuple[results.Series, Any]:
    """A series (by hour for two days or less, else by day) and its chart."""
    result = service.series(_r(), g.brand, by, subject_id, start, end)
    return result, period_chart(chart_id, title, result.rows, result.time_zone)


def _subject_page(by: str, record: dict[str, Any], heading: str, promotion: dict[str, Any] | None) -> Any:
    """The per-link or per-promotion page: its series chart and table, and its breakdown tables."""
    f = read_filters(names=("from", "to"))
    context = {"filters": f, "by": by, "record": record, "heading": heading, "promotion": promotion,
               "fmt": fmt, "rolled_up_at": rolled_up_at()}  # fmt: skip
    if f.errors:
        return render_template("dashboard/subject.html", **context), 422
    start, end = chart_range(f)
    result, chart = period_series(by, record["id"], start, end, f"{by}-series", f"{heading}: clicks and conversions")
    tables = [(title, service.breakdown(_r(), g.brand, by, record["id"], dim, start, end, BREAKDOWN_TOP))
              for dim, title in BREAKDOWNS]  # fmt: skip
    return render_template("dashboard/subject.html", **context, result=result, chart=chart, breakdowns=tables)


def _promotion_label(promotion: dict[str, Any]) -> str:
    who = api.store().get("influencer", promotion["influencer_id"]) or {}
    camp = api.store().get("campaign", promotion["campaign_id"]) or {}
    return f"@{who.get('handle', '?')} in {camp.get('name', '?')}"


@bp.get("/links/<link_id>")
def link_report(link_id: str) -> Any:
    """One link: clicks and conversions per day, and where its clicks came from."""
    link = api.store().get("link", link_id)
    if link is None:
        raise NotFound(f"link {link_id} not found")
    promotion = api.store().get("promotion", link["promotion_id"])
    link = present(api.scope(), [link])[0]
    return _subject_page("link", link, f"Link {link['code']}", promotion)


@bp.get("/promotions/<promotion_id>/report")
def promotion_report(promotion_id: str) -> Any:
    """One promotion (all its links, and its orders without a click): per day and breakdowns."""
    promotion = api.store().get("promotion", promotion_id)
    if promotion is None:
        raise NotFound(f"promotion {promotion_id} not found")
    return _subject_page("promotion", promotion, f"Promotion {_promotion_label(promotion)}", promotion)


# -- influencers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # text, tier, money, count, percent, ratio, duration, unconverted

    def header(self, currency: str) -> str:
        return f"{self.label} ({currency})" if self.kind == "money" else self.label

    def cell(self, row: dict[str, Any], currency: str) -> str:
        value = row.get(self.key)
        show: dict[str, Callable[[Any], str]] = {
            "money": lambda v: fmt.amount(v, currency),
            "count": fmt.count,
            "percent": fmt.percent,
            "ratio": fmt.ratio,
            "duration": fmt.duration,
            "unconverted": fmt.unconverted,
        }
        return show[self.kind](value) if self.kind in show else str(value)

    def sort_value(self, row: dict[str, Any]) -> Any:
        value = row.get(self.key)
        if value is None:
            return None
        if self.kind == "text":
            return str(value).casefold()
        if self.kind == "tier":
            return TIERS.index(value) if value in TIERS else len(TIERS)
        if self.kind in ("percent", "ratio"):
            return Decimal(value)
        return value

    @property
    def sortable(self) -> bool:
        return self.kind != "unconverted"


INFLUENCER_COLUMNS = (
    Column("name", "Influencer", "text"),
    Column("tier", "Tier", "tier"),
    Column("promotions", "Promotions", "count"),
    Column("spend", "Spend", "money"),
    Column("revenue", "Revenue", "money"),
    Column("roi", "ROI", "percent"),
    Column("roas", "ROAS", "ratio"),
    Column("cost_per_conversion", "Cost per conversion", "money"),
    Column("conversions", "Conversions", "count"),
    Column("clicks", "Clicks", "count"),
    Column("unique_clicks", "Unique clicks", "count"),
    Column("bot_hits", "Bot hits", "count"),
    Column("conversion_rate", "Conversion rate", "percent"),
    Column("cost_per_click", "Cost per click", "money"),
    Column("average_order_value", "Average order value", "money"),
    Column("click_through_on_followers", "Click-through on followers", "percent"),
    Column("engagement_rate_followers", "Engagement rate", "percent"),
    Column("engagement_rate_reach", "Engagement rate on reach", "percent"),
    Column("engagements", "Engagements", "count"),
    Column("cost_per_engagement", "Cost per engagement", "money"),
    Column("cpm", "CPM", "money"),
    Column("ctr_impressions", "Click-through on impressions", "percent"),
    Column("refunds", "Refunds", "money"),
    Column("median_time_to_conversion_seconds", "Median time to conversion", "duration"),
    Column("p90_time_to_conversion_seconds", "P90 time to conversion", "duration"),
    Column("unconverted_revenue", "Unconverted revenue", "unconverted"),
)
COLUMNS_BY_KEY = {c.key: c for c in INFLUENCER_COLUMNS}
TEXT_KINDS = ("text", "tier")


def influencer_rows(f: Filters) -> list[dict[str, Any]]:
    """One row per influencer: tier and every report metric (with a campaign chosen, only its influencers)."""
    rows = service.influencers(_r(), g.brand, f.start, f.end, f.campaign).rows
    people = {i["id"]: with_tier(i, g.brand) for i in every("influencer")}
    return [{"influencer": row.key, "name": row.name, "tier": (people.get(row.key) or {}).get("tier"),
             **vars(row.metrics)} for row in rows]  # fmt: skip


def sort_rows(rows: list[dict[str, Any]], column: Column, descending: bool) -> list[dict[str, Any]]:
    """Sorted by one column, ties by name, rows without a value last in either direction."""
    by_name = sorted(rows, key=lambda row: (str(row.get("name", "")).casefold(), row.get("influencer", "")))
    known = [row for row in by_name if column.sort_value(row) is not None]
    missing = [row for row in by_name if column.sort_value(row) is None]
    return sorted(known, key=column.sort_value, reverse=descending) + missing


def _csv(header: list[str], rows: list[list[str]], filename: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csvsafe.row(header))
    writer.writerows(csvsafe.row(row) for row in rows)
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/influencers")
def influencers_report() -> Any:
    """Every influencer with tier and metrics, sorted on the server; ?format=csv downloads the same table."""
    f = read_filters()
    column = COLUMNS_BY_KEY.get(request.args.get("sort", ""), COLUMNS_BY_KEY["name"])
    if not column.sortable:
        column = COLUMNS_BY_KEY["name"]
    direction = request.args.get("dir")
    if direction not in ("asc", "desc"):
        direction = "asc" if column.kind in TEXT_KINDS else "desc"
    currency = g.brand["currency"]
    headers = []
    for c in INFLUENCER_COLUMNS:
        flip = "desc" if c is column and direction == "asc" else "asc"
        first = "asc" if c.kind in TEXT_KINDS else "desc"
        href = url_for(".influencers_report", **f.query(sort=c.key, dir=flip if c is column else first))
        state = ("ascending" if direction == "asc" else "descending") if c is column else None
        headers.append({"label": c.header(currency), "href": href if c.sortable else None, "sort": state})
    if f.errors:
        context = page_context(filters=f, headers=headers, rows=[], sort=column.key, dir=direction)
        return render_template("dashboard/influencers.html", **context), 422
    rows = sort_rows(influencer_rows(f), column, direction == "desc")
    table = [[c.cell(row, currency) for c in INFLUENCER_COLUMNS] for row in rows]
    if request.args.get("format") == "csv":
        return _csv([h["label"] for h in headers], table, "influencers.csv")
    csv_href = url_for(".influencers_report", **f.query(sort=column.key, dir=direction, format="csv"))
    context = page_context(filters=f, headers=headers, rows=table, sort=column.key, dir=direction, csv_href=csv_href)
    return render_template("dashboard/influencers.html", **context)


# -- the comparison -------------------------------------------------------------------------
GROUP_ROWS = (
    ("Promotions", "promotions", "count"),
    ("Conversions", "conversions", "count"),
    ("Spend", "spend", "money"),
    ("Revenue", "revenue", "money"),
    ("Cost per conversion", "cost_per_conversion", "money"),
    ("ROI", "roi", "percent"),
    ("ROAS", "roas", "ratio"),
    ("First 24 hours share", "first_24h_share", "percent"),
    ("Long-tail share", "long_tail_share", "percent"),
    ("Long-tail revenue share", "long_tail_revenue_share", "percent"),
    ("Half-life", "half_life_hours", "hours"),
    ("Payback day", "payback_day", "day"),
    ("Engagements", "engagements", "count"),
    ("Engagement rate", "engagement_rate_followers", "percent"),
    ("Expected engagement rate", "expected_engagement_rate", "range"),
    ("Engagement vs expected", "engagement_vs_expected", "text"),
    ("Engagement rate on reach", "engagement_rate_reach", "percent"),
    ("Cost per engagement", "cost_per_engagement", "money"),
    ("CPM", "cpm", "money"),
    ("Click-through on impressions", "ctr_impressions", "percent"),
)


def group_choices() -> list[tuple[str, str]]:
    """Every tier:style group, named as the comparison names them."""
    out = []
    for tier in (*TIERS, "*"):
        for style in (*STYLES, "*"):
            label = f"{'any tier' if tier == '*' else tier} {'any style' if style == '*' else style.replace('_', '-')}"
            out.append((f"{tier}:{style}", label))
    return out


def _show(kind: str, value: Any, currency: str) -> str:
    return {
        "money": lambda v: fmt.money(v, currency),
        "count": fmt.count,
        "percent": fmt.percent,
        "ratio": fmt.ratio,
        "hours": fmt.hours,
        "day": fmt.day,
        "range": expected_range,
        "text": lambda v: fmt.NA if v is None else str(v),
    }[kind](value)


def expected_range(bounds: results.ExpectedRange | None) -> str:
    """An expected engagement rate in percent: '2.4% or more', '2% to 5%', 'not set'."""
    low, high = (bounds.min, bounds.max) if bounds else (None, None)
    if low is not None and high is not None:
        return f"{low}% to {high}%"
    if low is not None:
        return f"{low}% or more"
    if high is not None:
        return f"up to {high}%"
    return "not set"


def comparison_charts(result: results.Comparison, names: dict[str, str]) -> list[dict[str, Any]]:
    """Cumulative conversions and cumulative ROI per day since posting: a line per group (and promotion)."""
    specs = (
        ("conversions", "Cumulative conversions", "cumulative_conversions", True, lambda v: fmt.count(int(v))),
        ("roi", "Cumulative ROI", "cumulative_roi", False, lambda v: f"{v * 100:.0f}%"),
    )
    charts = []
    for chart_id, title, key, integer, y_format in specs:
        lines = []
        summary = []
        for n, group in enumerate(result.groups):
            days = [d for d in group.curves.days if getattr(d, key) is not None]
            points = [(d.day, float(Decimal(str(getattr(d, key))))) for d in days]
            labels = [f"{group.name}, day {d.day}: {_chart_value(key, getattr(d, key))}" for d in days]
            lines.append(Series(group.name, points, n, labels=labels))
            for promo in group.by_promotion or []:
                ppoints = [(d.day, float(Decimal(str(getattr(d, key))))) for d in promo.curves.days
                           if getattr(d, key) is not None]  # fmt: skip
                lines.append(Series(names.get(promo.promotion_id, promo.promotion_id), ppoints, n, thin=True))
            if days:
                summary.append(f"{group.name}: {_chart_value(key, getattr(days[-1], key))} by day {days[-1].day}")
            else:
                summary.append(f"{group.name}: no data")
        description = f"{title} per day since posting, one line per group. " + "; ".join(summary) + "."
        caption = f"{title} per day since posting"
        svg = line_chart(f"chart-{chart_id}", caption, description, lines, title, y_format, integer)
        charts.append({"caption": caption, "svg": svg})
    return charts


def _chart_value(key: str, value: Any) -> str:
    return fmt.percent(value) if key == "cumulative_roi" else fmt.count(value)


@bp.get("/comparison")
def comparison() -> Any:
    """Two tier:style groups side by side (default micro long-running vs celebrity 24-hour), with charts."""
    f = read_filters(ComparisonArgs(), ("from", "to", "campaign", "group_a", "group_b", "per_promotion"))
    context = page_context(filters=f, choices=group_choices(), rows=GROUP_ROWS, show=_show)
    if f.errors:
        return render_template("dashboard/comparison.html", **context), 422
    specs = tuple(tuple(f.args[k].split(":")) for k in ("group_a", "group_b"))
    result = service.comparison(_r(), g.brand, specs, f.campaign, f.start, f.end, f.args["per_promotion"])
    names = service.names(_r(), g.brand["id"], "promotion") if f.args["per_promotion"] else {}
    diff = result.cost_per_conversion_difference
    context.update(
        result=result,
        diff=diff,
        charts=comparison_charts(result, names),
        names=names,
        group_a=f.args["group_a"],
        group_b=f.args["group_b"],
        per_promotion=f.args["per_promotion"],
    )
    return render_template("dashboard/comparison.html", **context)


# -- refresh ----------------------------------------------------------------------------------
@bp.post("/refresh")
def refresh() -> Any:
    """Roll this brand's new events up now; the page then follows the job (see static/dashboard.js)."""
    job = service.refresh(current_app.extensions["queue_redis"], g.brand["id"])
    status_url = url_for(".job_status", job_id=job.job_id)
    if wants_json():
        return jsonify(job_id=job.job_id, status=job.status, url=status_url), 202
    flash("The roll-up is queued; reload this page in a moment for the new numbers.")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/dashboard") and "//" not in back else url_for(".overview"), 303)


@bp.get("/jobs/<job_id>")
def job_status(job_id: str) -> Any:
    """A roll-up job of this brand: status, progress and a percent for the progress bar."""
    job = service.rollup_job(current_app.extensions["queue_redis"], g.brand["id"], job_id)
    return jsonify(
        job_id=job.job_id,
        status=job.status,
        progress=job.progress or {},
        percent=job.percent,
        message=job.message,
        done=job.done,
        rolled_up_at=fmt.when(rolled_up_at()),
    )
