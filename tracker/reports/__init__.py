"""Reports: `/api/v1/reports` (by promotion, influencer, campaign, tier or channel), the micro vs
celebrity comparison, series and breakdowns, CSV of each, and on-demand roll-ups with their progress.

Thin adapters over `service`: its typed results are rendered through `schemas` (JSON, and CSV rows
made from the same JSON), so /api/openapi.json describes every body.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from marshmallow import Schema

from tracker import api, csvsafe
from tracker.errors import Blueprint, field_error
from tracker.reports import series, service
from tracker.reports.results import ChannelReport, RollupJob
from tracker.reports.schemas import (
    CHANNEL_COLUMNS,
    CURVE_COLUMNS,
    METRICS,
    SERIES_COLUMNS,
    VERSUS,
    BreakdownQuery,
    ChannelReportSchema,
    ComparisonArgs,
    ComparisonSchema,
    RefreshSchema,
    ReportBreakdownSchema,
    ReportSchema,
    ReportSeriesSchema,
    RollupJobSchema,
    SeriesQuery,
    SummaryArgs,
)

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="ROI reports, from the roll-ups")
CSV = {"text/csv": {"schema": {"type": "string"}}}
OR_CSV = {200: {"content": CSV}}  # `format=csv` or `Accept: text/csv`


def _r() -> Any:
    return current_app.extensions["redis"]


def _wants_csv(args: dict[str, Any]) -> bool:
    if args.get("format"):
        return args["format"] == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _csv(rows: list[dict[str, Any]], filename: str, columns: list[str] | None = None) -> Response:
    """Rows (of a JSON body) as CSV, objects as JSON text; `columns` gives the header row when there may be no rows."""
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


GROUPED, BY_CHANNEL = ReportSchema(), ChannelReportSchema()


class SummaryBody(Schema):
    """A report by promotion, influencer, campaign or tier (`Report`), or by channel (`ChannelReport`)."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        return (BY_CHANNEL if isinstance(obj, ChannelReport) else GROUPED).dump(obj, many=many)


@blp.route("")
class Summary(MethodView):
    @blp.arguments(SummaryArgs, location="query")
    @blp.response(200, SummaryBody)
    @blp.doc(responses={200: {"content": {
        "application/json": {"schema": {"oneOf": [ReportSchema, ChannelReportSchema]}}, **CSV}}})  # fmt: skip
    def get(self, args: dict[str, Any]) -> Any:
        """Every metric per promotion, influencer, campaign or tier, over a date range; or the
        promotions' links by channel (all time).

        Each row and the totals have `bot_hits` and `bots_by_family` ({family: count}, adding up to
        `bot_hits`): why hits were not counted as clicks (README: What counts as a bot)."""
        if args["by"] == "channel":
            report = service.by_channel(_r(), api.brand(), args["campaign"], args["promotion_id"])
            if _wants_csv(args):
                return _csv(BY_CHANNEL.dump(report)["rows"], "report-by-channel.csv", CHANNEL_COLUMNS)
            return report
        result = service.grouped(_r(), api.brand(), args["by"], args["start"], args["end"], args["campaign"],
                                 args["promotion_id"])  # fmt: skip
        if _wants_csv(args):
            versus = list(VERSUS) if args["by"] == "tier" else []
            return _csv(GROUPED.dump(result)["rows"], f"report-by-{args['by']}.csv",
                        [args["by"], "name", *METRICS, *versus])  # fmt: skip
        return result


@blp.route("/comparison")
class Comparison(MethodView):
    @blp.arguments(ComparisonArgs, location="query")
    @blp.response(200, ComparisonSchema)
    @blp.doc(responses=OR_CSV)
    def get(self, args: dict[str, Any]) -> Any:
        """Micro long-running posts against celebrity 24-hour promotions (or any two tier:style groups)."""
        specs = tuple(tuple(args[g].split(":")) for g in ("group_a", "group_b"))
        result = service.comparison(_r(), api.brand(), specs, args["campaign"], args["start"], args["end"],
                                    args["per_promotion"])  # fmt: skip
        if not _wants_csv(args):
            return result
        body = ComparisonSchema().dump(result)
        if args["table"] == "curves":
            rows = [{"group": g["name"], **day} for g in body["groups"] for day in g["days"]]
            return _csv(rows, "comparison-curves.csv", ["group", *CURVE_COLUMNS])
        diff = body["cost_per_conversion_difference"]
        rows = [{k: v for k, v in g.items() if k not in ("days", "by_promotion")} for g in body["groups"]]
        for row in rows:
            row.update(difference_low=diff["low"], difference_high=diff["high"], verdict=body["verdict"])
        return _csv(rows, "comparison.csv")


def _range(args: dict[str, Any]) -> tuple[Any, Any]:
    start, end = series.date_range(api.brand(), args["start"], args["end"])
    if (end - start).days >= series.MAX_DAYS or end < start:
        field_error("from", f"At most {series.MAX_DAYS} days up to 'to' (default today).", location="query")
    return start, end


@blp.route("/series")
class Series(MethodView):
    @blp.arguments(SeriesQuery, location="query")
    @blp.response(200, ReportSeriesSchema)
    @blp.doc(responses=OR_CSV)
    def get(self, args: dict[str, Any]) -> Any:
        """Clicks, unique clicks, bot hits, conversions and revenue of a link, promotion, influencer,
        campaign or the brand, by local day (by hour for two days or less) in the brand's time zone."""
        start, end = _range(args)
        result = service.series(_r(), api.brand(), args["by"], args["id"], start, end, args["interval"])
        if _wants_csv(args):
            rows = ReportSeriesSchema().dump(result)["rows"]
            return _csv(rows, f"series-{args['by']}-{result.interval}.csv", SERIES_COLUMNS)
        return result


@blp.route("/breakdown")
class Breakdown(MethodView):
    @blp.arguments(BreakdownQuery, location="query")
    @blp.response(200, ReportBreakdownSchema)
    @blp.doc(responses=OR_CSV)
    def get(self, args: dict[str, Any]) -> Any:
        """Clicks by referrer host, country, device type, browser or OS: the top N values, the rest
        summed as other, and the exact total."""
        start, end = _range(args)
        result = service.breakdown(_r(), api.brand(), args["by"], args["id"], args["dimension"], start, end,
                                   args["top"])  # fmt: skip
        if _wants_csv(args):
            body = ReportBreakdownSchema().dump(result)
            other, total = body["other"], body["total"]
            rows = [*body["rows"], {"value": "other", "clicks": other["clicks"], "share": other["share"]},
                    {"value": "total", "clicks": total, "share": "1.0000" if total else None}]  # fmt: skip
            return _csv(rows, f"breakdown-{args['by']}-{args['dimension']}.csv", ["value", "clicks", "share"])
        return result


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(202, RefreshSchema)
    def post(self) -> dict[str, Any]:
        """Roll up this brand's new events now; returns the job to follow."""
        job = service.refresh(current_app.extensions["queue_redis"], api.brand()["id"])
        return {"job_id": job.job_id, "status": job.status, "url": url_for("reports.RefreshJob", job_id=job.job_id)}


@blp.route("/jobs/<job_id>")
class RefreshJob(MethodView):
    @blp.response(200, RollupJobSchema)
    def get(self, job_id: str) -> RollupJob:
        """A roll-up job's status and progress."""
        return service.rollup_job(current_app.extensions["queue_redis"], api.brand()["id"], job_id)
