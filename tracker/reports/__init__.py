"""Reports: `/api/v1/reports` (by promotion, influencer, campaign or tier), the micro vs celebrity
comparison, CSV of both, and on-demand roll-ups with their progress."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from tracker import api, csvsafe, keys, queues
from tracker.engagement import model as engagement
from tracker.errors import Blueprint, abort, field_error
from tracker.links import channels
from tracker.reports import model, series
from tracker.tiers import TIERS

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="ROI reports, from the roll-ups")
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
GROUP_SPEC = api.FullMatch(
    rf"^({'|'.join(TIERS)}|\*):(long_running|timeboxed|\*)$", error="Must be <tier>:<style>, e.g. micro:long_running."
)


class RangeArgs(Schema):
    start = fields.Date(data_key="from", load_default=None, metadata={"description": "First day (UTC), inclusive."})
    end = fields.Date(
        data_key="to", load_default=None, metadata={"description": "Last day (UTC), inclusive; not before `from`."}
    )
    campaign = fields.String(load_default=None, metadata={"description": "A campaign id; default all."})
    format = fields.String(load_default=None, validate=validate.OneOf(("json", "csv")))

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("Must not be before 'from'.", "to")


class SummaryArgs(RangeArgs):
    by = fields.String(
        load_default="promotion", validate=validate.OneOf(("promotion", "influencer", "campaign", "tier", "channel"))
    )
    promotion_id = fields.String(load_default=None, metadata={"description": "A promotion id; default all."})

    @validates_schema
    def _all_time_channels(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("by") == "channel" and (data.get("start") or data.get("end")):
            raise ValidationError("Reports by channel cover all time (links keep all-time totals); leave out dates.",
                                  "from")  # fmt: skip


class ComparisonArgs(RangeArgs):
    group_a = fields.String(load_default="micro:long_running", validate=GROUP_SPEC)
    group_b = fields.String(load_default="celebrity:timeboxed", validate=GROUP_SPEC)
    per_promotion = fields.Boolean(load_default=False)
    table = fields.String(load_default="groups", validate=validate.OneOf(("groups", "curves")))


def _r():
    return current_app.extensions["redis"]


def _wants_csv(args: dict[str, Any]) -> bool:
    if args.get("format"):
        return args["format"] == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _csv(rows: list[dict[str, Any]], filename: str, columns: list[str] | None = None) -> Response:
    """Rows as CSV; `columns` gives the header row when there may be no rows."""
    buf = io.StringIO()
    if rows or columns:
        writer = csv.DictWriter(buf, fieldnames=columns or list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: csvsafe.cell(json.dumps(v) if isinstance(v, dict | list) else v) for k, v in row.items()}
            )
    return Response(
        buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _campaign(args: dict[str, Any]) -> str | None:
    if args.get("campaign") and api.store().get("campaign", args["campaign"]) is None:
        abort(404, message=f"campaign {args['campaign']} not found")
    return args.get("campaign")


def _rolled_up_at() -> str | None:
    value = _r().hget(keys.rollup_state(api.brand()["id"]), "rolled_up_at")
    return value.decode() if value else None


def names(by: str) -> dict[str, str]:
    store = api.store()
    if by == "influencer":
        return {i["id"]: f"@{i['handle']} ({i['platform']})" for i in store.get_many("influencer", _ids("influencer"))}
    if by == "campaign":
        return {c["id"]: c["name"] for c in store.get_many("campaign", _ids("campaign"))}
    if by == "promotion":
        people = {i["id"]: i["handle"] for i in store.get_many("influencer", _ids("influencer"))}
        camps = {c["id"]: c["name"] for c in store.get_many("campaign", _ids("campaign"))}
        promos = store.get_many("promotion", _ids("promotion"))
        return {
            p["id"]: f"@{people.get(p['influencer_id'], '?')} in {camps.get(p['campaign_id'], '?')}" for p in promos
        }
    return {}


def _ids(kind: str) -> list[str]:
    return [i.decode() for i in _r().hkeys(keys.entities(api.brand()["id"], kind))]


# What the report views answer, for the OpenAPI document: JSON, or CSV (`format=csv` or `Accept: text/csv`).
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
JSON_OR_CSV = {"content": {**JSON_OBJECT, "text/csv": {"schema": {"type": "string"}}}}


@blp.route("")
class Summary(MethodView):
    @blp.arguments(SummaryArgs, location="query")
    @blp.response(200)
    @blp.doc(responses={200: JSON_OR_CSV})
    def get(self, args: dict[str, Any]) -> Any:
        """Every metric per promotion, influencer, campaign or tier, over a date range.

        Each row and the totals have `bot_hits` and `bots_by_family` ({family: count}, adding up to
        `bot_hits`): why hits were not counted as clicks (README: What counts as a bot)."""
        brand = api.brand()
        promos = model.load_promotions(_r(), brand, args["start"], args["end"], _campaign(args))
        if args["promotion_id"]:
            promos = [p for p in promos if p.record["id"] == args["promotion_id"]]
            if not promos:
                abort(404, message=f"promotion {args['promotion_id']} not found")
        if args["by"] == "channel":
            return _by_channel(args, brand, promos)
        rows = model.summary(promos, args["by"], names(args["by"]), engagement.ranges(brand))
        if _wants_csv(args):
            versus = list(model.Totals().versus({})) if args["by"] == "tier" else []
            return _csv(rows, f"report-by-{args['by']}.csv", [args["by"], "name", *model.Totals().metrics(), *versus])
        totals = model.Totals()
        for p in promos:
            totals.add(p.totals)
        return {
            "currency": brand["currency"],
            "from": args["start"].isoformat() if args["start"] else None,
            "to": args["end"].isoformat() if args["end"] else None,
            "by": args["by"],
            "rows": rows,
            "totals": totals.metrics(),
            "unattributed": model.unattributed(_r(), brand, args["start"], args["end"]),
            "rolled_up_at": _rolled_up_at(),
        }


CHANNEL_COLUMNS = ["channel", "name", "links", "clicks", "unique_clicks", "bot_hits", "conversions", "revenue",
                   "refunds", "conversion_rate", "average_order_value", "unconverted_revenue"]  # fmt: skip


def _by_channel(args: dict[str, Any], brand: dict[str, Any], promos: list[model.Promo]) -> Any:
    """Clicks, conversions and revenue of the promotions' links, by the channel they are posted on
    (all time). Orders attributed without a click (a discount code) belong to no link: `without_link`."""
    ids = {p.record["id"] for p in promos}
    links = [link for link in api.store().get_many("link", _ids("link")) if link["promotion_id"] in ids]
    rows = channels.split(_r(), brand, links, model.Money(_r(), brand))
    for row in rows:
        row["conversion_rate"] = model.ratio(row["conversions"], row["unique_clicks"])
        row["average_order_value"] = model.per(row["revenue"], row["conversions"])
    rows = [{k: row[k] for k in CHANNEL_COLUMNS} for row in sorted(rows, key=lambda x: (-x["clicks"], x["name"]))]
    if _wants_csv(args):
        return _csv(rows, "report-by-channel.csv", CHANNEL_COLUMNS)
    totals = model.Totals()
    for p in promos:
        totals.add(p.totals)
    return {
        "currency": brand["currency"],
        "by": "channel",
        "promotion_id": args["promotion_id"],
        "rows": rows,
        "totals": totals.metrics(),
        "without_link": {
            "conversions": totals.conversions - sum(r["conversions"] for r in rows),
            "revenue": totals.revenue - sum(r["revenue"] for r in rows),
        },
        "rolled_up_at": _rolled_up_at(),
    }


@blp.route("/comparison")
class Comparison(MethodView):
    @blp.arguments(ComparisonArgs, location="query")
    @blp.response(200)
    @blp.doc(responses={200: JSON_OR_CSV})
    def get(self, args: dict[str, Any]) -> Any:
        """Micro long-running posts against celebrity 24-hour promotions (or any two tier:style groups)."""
        specs = tuple(tuple(args[g].split(":")) for g in ("group_a", "group_b"))
        result = model.comparison(
            _r(), api.brand(), specs, _campaign(args), args["start"], args["end"], args["per_promotion"]
        )
        result["rolled_up_at"] = _rolled_up_at()
        if _wants_csv(args):
            if args["table"] == "curves":
                rows = [{"group": g["name"], **day} for g in result["groups"] for day in g["days"]]
                return _csv(rows, "comparison-curves.csv", ["group", *model.CURVE_COLUMNS])
            skip = ("days", "by_promotion")
            rows = [{k: v for k, v in g.items() if k not in skip} for g in result["groups"]]
            diff = result["cost_per_conversion_difference"]
            for row in rows:
                row.update(difference_low=diff["low"], difference_high=diff["high"], verdict=result["verdict"])
            return _csv(rows, "comparison.csv")
        return result


class SeriesArgs(Schema):
    by = fields.String(required=True, validate=validate.OneOf(series.SCOPES))
    id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100),
        metadata={"description": "The link, promotion, influencer or campaign id (none for by=brand)."},
    )  # fmt: skip
    start = fields.Date(
        data_key="from", load_default=None,
        metadata={"description": "First local day (brand time zone), inclusive; default 29 days before `to`."},
    )  # fmt: skip
    end = fields.Date(
        data_key="to", load_default=None,
        metadata={"description": "Last local day, inclusive; default today (or 29 days after `from`)."},
    )  # fmt: skip
    format = fields.String(load_default=None, validate=validate.OneOf(("json", "csv")))

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data["by"] != "brand" and not data.get("id"):
            raise ValidationError(f"Missing: the {data['by']} id.", "id")
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise ValidationError("Must not be before 'from'.", "to")
        if start and end and (end - start).days >= series.MAX_DAYS:
            raise ValidationError(f"At most {series.MAX_DAYS} days from 'from' to 'to'.", "from")


class SeriesQuery(SeriesArgs):
    interval = fields.String(
        load_default=None, validate=validate.OneOf(("day", "hour")),
        metadata={"description": f"Default: hour for ranges of {series.HOURLY_MAX_DAYS} days or less, else day; "
                  f"hour only for such ranges."},
    )  # fmt: skip

    @validates_schema
    def _hourly(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if data.get("interval") == "hour" and not (start and end and (end - start).days < series.HOURLY_MAX_DAYS):
            raise ValidationError(f"By hour only for ranges of {series.HOURLY_MAX_DAYS} days or less (give 'from' and "
                                  f"'to').", "interval")  # fmt: skip


class BreakdownQuery(SeriesArgs):
    dimension = fields.String(required=True, validate=validate.OneOf(tuple(series.DIMENSIONS)))
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100),
                         metadata={"description": "Values listed; the rest are summed as other."})  # fmt: skip


def _figures_fields() -> dict[str, fields.Field]:
    return {
        **{m: fields.Integer(required=True) for m in series.COUNTS},
        "revenue": fields.Integer(required=True, metadata={"description": "Minor units of the reporting currency."}),
        "unconverted": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                   metadata={"description": "Revenue in currencies without a rate, by currency."}),
    }  # fmt: skip


SeriesRowSchema = Schema.from_dict(
    {"period": fields.String(required=True, metadata={"description": "yyyy-mm-dd, or yyyy-mm-ddTHH:00 (local)."}),
     **_figures_fields()}, name="ReportSeriesRow",
)  # fmt: skip
SeriesTotalsSchema = Schema.from_dict(_figures_fields(), name="ReportSeriesTotals")


class _Subject(Schema):
    by = fields.String(required=True)
    id = fields.String(required=True, allow_none=True)
    start = fields.String(data_key="from", attribute="from", required=True)
    end = fields.String(data_key="to", attribute="to", required=True)
    time_zone = fields.String(required=True)


class ReportSeriesSchema(_Subject):
    interval = fields.String(required=True)
    currency = fields.String(required=True)
    rows = fields.List(fields.Nested(SeriesRowSchema), required=True)
    totals = fields.Nested(SeriesTotalsSchema, required=True)


class ReportBreakdownRowSchema(Schema):
    value = fields.String(required=True)
    clicks = fields.Integer(required=True)
    share = fields.String(required=True, allow_none=True, metadata={"description": "Of the total, 4 places."})


class ReportBreakdownOtherSchema(Schema):
    clicks = fields.Integer(required=True)
    share = fields.String(required=True, allow_none=True)
    values = fields.Integer(required=True, metadata={"description": "Values past the top N summed here."})
    folded_at_rollup = fields.Integer(
        required=True, metadata={"description": "Clicks of values past the roll-up's cap per link and day."}
    )


class ReportBreakdownSchema(_Subject):
    dimension = fields.String(required=True)
    top = fields.Integer(required=True)
    rows = fields.List(fields.Nested(ReportBreakdownRowSchema), required=True)
    other = fields.Nested(ReportBreakdownOtherSchema, required=True)
    total = fields.Integer(required=True, metadata={"description": "Every click of the range: rows + other."})


CSV_ONLY = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
SERIES_COLUMNS = ["period", *series.COUNTS, "revenue", "unconverted"]


def _series_args(args: dict[str, Any]) -> tuple[Any, Any]:
    start, end = series.date_range(api.brand(), args["start"], args["end"])
    if (end - start).days >= series.MAX_DAYS or end < start:
        field_error("from", f"At most {series.MAX_DAYS} days up to 'to' (default today).", location="query")
    return start, end


@blp.route("/series")
class Series(MethodView):
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, ReportSeriesSchema)
    @blp.doc(responses=CSV_ONLY)
    def get(self, args: dict[str, Any]) -> Any:
        """Clicks, unique clicks, bot hits, conversions and revenue of a link, promotion, influencer,
        campaign or the brand, by local day (by hour for two days or less) in the brand's time zone."""
        start, end = _series_args(args)
        interval = args["interval"] or ("hour" if (end - start).days < series.HOURLY_MAX_DAYS else "day")
        try:
            result = series.series(_r(), api.brand(), args["by"], args["id"], start, end, interval)
        except series.NotFound as exc:
            abort(404, message=str(exc))
        if _wants_csv(args):
            return _csv(result["rows"], f"series-{args['by']}-{interval}.csv", SERIES_COLUMNS)
        return result


@blp.route("/breakdown")
class Breakdown(MethodView):
    @blp.arguments(BreakdownQuery, location="query")
    @blp.response(200, ReportBreakdownSchema)
    @blp.doc(responses=CSV_ONLY)
    def get(self, args: dict[str, Any]) -> Any:
        """Clicks by referrer host, country, device type, browser or OS: the top N values, the rest
        summed as other, and the exact total."""
        start, end = _series_args(args)
        try:
            result = series.breakdown(_r(), api.brand(), args["by"], args["id"], args["dimension"], start, end,
                                      args["top"])  # fmt: skip
        except series.NotFound as exc:
            abort(404, message=str(exc))
        if _wants_csv(args):
            rows = [*result["rows"], {"value": "other", "clicks": result["other"]["clicks"],
                                      "share": result["other"]["share"]},
                    {"value": "total", "clicks": result["total"], "share": "1.0000" if result["total"] else None}]
            return _csv(rows, f"breakdown-{args['by']}-{args['dimension']}.csv", ["value", "clicks", "share"])
        return result


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(202)
    @blp.doc(responses={202: {"content": JSON_OBJECT}})
    def post(self) -> dict[str, Any]:
        """Roll up this brand's new events now; returns the job to follow."""
        brand_id = api.brand()["id"]
        job = queues.enqueue(
            current_app.extensions["queue_redis"], queues.ROLLUP, brand_id, meta={"brand_id": brand_id},
            job_timeout=1800, result_ttl=86400,
        )  # fmt: skip
        return {"job_id": job.id, "status": "queued", "url": url_for("reports.RefreshJob", job_id=job.id)}


@blp.route("/jobs/<job_id>")
class RefreshJob(MethodView):
    @blp.response(200)
    @blp.doc(responses={200: {"content": JSON_OBJECT}})
    def get(self, job_id: str) -> dict[str, Any]:
        """A roll-up job's status and progress."""
        if not JOB_ID.fullmatch(job_id):  # RQ refuses such ids; no job has one
            abort(404, message=f"job {job_id} not found")
        try:
            job = Job.fetch(job_id, connection=current_app.extensions["queue_redis"], serializer=JSONSerializer)
        except NoSuchJobError:
            abort(404, message=f"job {job_id} not found")
        if job.meta.get("brand_id") != api.brand()["id"]:
            abort(404, message=f"job {job_id} not found")
        return {
            "job_id": job.id,
            "status": str(job.get_status(refresh=True).value if job.get_status() else "unknown"),
            "progress": job.meta.get("progress"),
            "result": job.return_value(),
            "enqueued_at": api.iso(job.enqueued_at),
            "ended_at": api.iso(job.ended_at),
        }
