"""The reports' query arguments and response bodies: marshmallow schemas over the typed results
(`tracker.reports.results`), so that /api/openapi.json describes every report body exactly."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate, validates_schema

from tracker import api
from tracker.records import iso
from tracker.reports import series
from tracker.reports.results import GROUPINGS, GroupRow
from tracker.tiers import TIERS

GROUP_SPEC = api.FullMatch(
    rf"^({'|'.join(TIERS)}|\*):(long_running|timeboxed|\*)$", error="Must be <tier>:<style>, e.g. micro:long_running."
)
MONEY = "Minor units of the reporting currency."
RATIO = "A decimal string with four places; null when its denominator is zero."


# -- arguments ------------------------------------------------------------------------------
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
    by = fields.String(load_default="promotion", validate=validate.OneOf((*GROUPINGS, "channel")))
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


# -- the figures ----------------------------------------------------------------------------
def _by_currency(description: str) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                       metadata={"description": description})  # fmt: skip


def metric_fields(within: str | None = None) -> dict[str, fields.Field]:
    """The fields of `Metrics` (docs/metrics.md), in the order reports list them; read from the
    attribute `within` of the object dumped (a row's `metrics`) when given."""

    def at(name: str) -> dict[str, Any]:
        return {"attribute": f"{within}.{name}"} if within else {}

    def money(name: str, nullable: bool = True) -> fields.Field:
        return fields.Integer(required=True, allow_none=nullable, metadata={"description": MONEY}, **at(name))

    def ratio(name: str) -> fields.Field:
        return fields.String(required=True, allow_none=True, metadata={"description": RATIO}, **at(name))

    def count(name: str, nullable: bool = False) -> fields.Field:
        return fields.Integer(required=True, allow_none=nullable, **at(name))

    def by_key(name: str, description: str) -> fields.Field:
        return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           metadata={"description": description}, **at(name))  # fmt: skip

    return {
        "cost_per_conversion": money("cost_per_conversion"),
        "spend": money("spend", nullable=False),
        "revenue": money("revenue", nullable=False),
        "roas": ratio("roas"),
        "roi": ratio("roi"),
        "clicks": count("clicks"),
        "unique_clicks": count("unique_clicks"),
        "bot_hits": count("bot_hits"),
        "bots_by_family": by_key("bots_by_family", "Bot hits by why they were not counted; adds up to bot_hits."),
        "conversions": count("conversions"),
        "conversion_rate": ratio("conversion_rate"),
        "cost_per_click": money("cost_per_click"),
        "average_order_value": money("average_order_value"),
        "click_through_on_followers": ratio("click_through_on_followers"),
        "engagement_rate": ratio("engagement_rate"),
        "engagements": count("engagements", nullable=True),
        "impressions": count("impressions", nullable=True),
        "reach": count("reach", nullable=True),
        "views": count("views", nullable=True),
        "engagement_rate_followers": ratio("engagement_rate_followers"),
        "engagement_rate_reach": ratio("engagement_rate_reach"),
        "cost_per_engagement": money("cost_per_engagement"),
        "cpm": money("cpm"),
        "ctr_impressions": ratio("ctr_impressions"),
        "refunds": money("refunds", nullable=False),
        "median_time_to_conversion_seconds": count("median_time_to_conversion_seconds", nullable=True),
        "p90_time_to_conversion_seconds": count("p90_time_to_conversion_seconds", nullable=True),
        "promotions": count("promotions"),
        "unconverted_revenue": by_key("unconverted_revenue", "Amounts without an exchange rate, in minor units of "
                                      "their own currency, by currency ('spend:<currency>' for spend)."),
    }  # fmt: skip


METRICS = tuple(metric_fields())
MetricsSchema = Schema.from_dict(metric_fields(), name="ReportMetrics")


class ExpectedRangeSchema(Schema):
    min = fields.String(required=True, allow_none=True, metadata={"description": "Percent."})
    max = fields.String(required=True, allow_none=True, metadata={"description": "Percent."})


def versus_fields(within: str, required: bool = True) -> dict[str, fields.Field]:
    return {
        "expected_engagement_rate": fields.Nested(ExpectedRangeSchema, required=required,
                                                  attribute=f"{within}.expected_engagement_rate"),  # fmt: skip
        "engagement_vs_expected": fields.String(
            required=required, allow_none=True, validate=validate.OneOf(("below", "within", "above")),
            attribute=f"{within}.engagement_vs_expected",
            metadata={"description": "The engagement rate on followers against the tier's expected range."},
        ),
    }  # fmt: skip


VERSUS = tuple(versus_fields("versus"))


class UnattributedSchema(Schema):
    orders = fields.Integer(required=True)
    revenue = fields.Integer(required=True, metadata={"description": MONEY})
    unconverted_revenue = _by_currency("Revenue without an exchange rate, by currency.")
    by_reason = _by_currency("Orders by why they matched no promotion.")


# -- the grouped report ---------------------------------------------------------------------
class ReportRowSchema(
    Schema.from_dict(
        {
            **{by: fields.String(metadata={"description": f"The {by} (rows by {by} only)."}) for by in GROUPINGS},
            "name": fields.String(required=True),
            **metric_fields("metrics"),
            **versus_fields("versus", required=False),  # by tier only
        },
        name="ReportRow",
    )
):
    """One row: its id under the name of the grouping (`promotion`, ..., `tier`), then its figures."""

    def get_attribute(self, obj: GroupRow, attr: str, default: Any) -> Any:
        if attr in GROUPINGS:
            return obj.key if obj.by == attr else missing
        return super().get_attribute(obj, attr, default)


class ReportSchema(Schema):
    currency = fields.String(required=True)
    start = fields.Date(data_key="from", required=True, allow_none=True)
    end = fields.Date(data_key="to", required=True, allow_none=True)
    by = fields.String(required=True, validate=validate.OneOf(GROUPINGS))
    rows = fields.List(fields.Nested(ReportRowSchema), required=True)
    totals = fields.Nested(MetricsSchema, required=True)
    unattributed = fields.Nested(UnattributedSchema, required=True)
    rolled_up_at = fields.String(required=True, allow_none=True, metadata={"description": "ISO 8601; null: never."})


class ChannelRowSchema(Schema):
    channel = fields.String(required=True, allow_none=True, metadata={"description": "null: links on no channel."})
    name = fields.String(required=True)
    links = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    unique_clicks = fields.Integer(required=True)
    bot_hits = fields.Integer(required=True)
    conversions = fields.Integer(required=True)
    revenue = fields.Integer(required=True, metadata={"description": MONEY})
    refunds = fields.Integer(required=True, metadata={"description": MONEY})
    conversion_rate = fields.String(required=True, allow_none=True, metadata={"description": RATIO})
    average_order_value = fields.Integer(required=True, allow_none=True, metadata={"description": MONEY})
    unconverted_revenue = _by_currency("Revenue without an exchange rate, by currency.")


class WithoutLinkSchema(Schema):
    conversions = fields.Integer(required=True)
    revenue = fields.Integer(required=True, metadata={"description": MONEY})


class ChannelReportSchema(Schema):
    currency = fields.String(required=True)
    by = fields.String(required=True, validate=validate.OneOf(("channel",)))
    promotion_id = fields.String(required=True, allow_none=True)
    rows = fields.List(fields.Nested(ChannelRowSchema), required=True)
    totals = fields.Nested(MetricsSchema, required=True)
    without_link = fields.Nested(WithoutLinkSchema, required=True)
    rolled_up_at = fields.String(required=True, allow_none=True)


CHANNEL_COLUMNS = [name for name in ChannelRowSchema().fields]


# -- the comparison -------------------------------------------------------------------------
class CurveDaySchema(Schema):
    day = fields.Integer(required=True, metadata={"description": "Days since posting; day 0 is the first 24 hours."})
    conversions = fields.Integer(required=True)
    revenue = fields.Integer(required=True, metadata={"description": MONEY})
    spend = fields.Integer(required=True, metadata={"description": MONEY})
    cumulative_conversions = fields.Integer(required=True)
    cumulative_revenue = fields.Integer(required=True)
    cumulative_spend = fields.Integer(required=True)
    cumulative_roi = fields.String(required=True, allow_none=True, metadata={"description": RATIO})


def curve_fields(within: str) -> dict[str, fields.Field]:
    def share(name: str) -> fields.Field:
        return fields.String(required=True, allow_none=True, attribute=f"{within}.{name}",
                             metadata={"description": RATIO})  # fmt: skip

    def number(name: str, nullable: bool = False) -> fields.Field:
        return fields.Integer(required=True, allow_none=nullable, attribute=f"{within}.{name}")

    return {
        "first_24h_conversions": number("first_24h_conversions"),
        "after_24h_conversions": number("after_24h_conversions"),
        "first_24h_share": share("first_24h_share"),
        "long_tail_share": share("long_tail_share"),
        "first_24h_revenue_share": share("first_24h_revenue_share"),
        "long_tail_revenue_share": share("long_tail_revenue_share"),
        "half_life_hours": number("half_life_hours", nullable=True),
        "payback_day": number("payback_day", nullable=True),
        "days": fields.List(fields.Nested(CurveDaySchema), required=True, attribute=f"{within}.days"),
    }


CURVE_COLUMNS = tuple(CurveDaySchema().fields)
PromotionCurvesSchema = Schema.from_dict(
    {"promotion_id": fields.String(required=True), **curve_fields("curves")}, name="ComparisonPromotion"
)


class ComparisonGroupSchema(
    Schema.from_dict(
        {
            "name": fields.String(required=True),
            "tier": fields.String(required=True),
            "style": fields.String(required=True),
            **metric_fields("metrics"),
            **versus_fields("versus"),
            **curve_fields("curves"),
            "by_promotion": fields.List(fields.Nested(PromotionCurvesSchema),
                                        metadata={"description": "With per_promotion=true only."}),
        },  # fmt: skip
        name="ComparisonGroup",
    )
):
    """A group: its metrics, its tier's engagement range, its curves (and each promotion's, when asked)."""

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        value = super().get_attribute(obj, attr, default)
        return missing if attr == "by_promotion" and value is None else value


class DifferenceSchema(Schema):
    groups = fields.List(fields.String(), required=True, validate=validate.Length(equal=2))
    difference = fields.Integer(required=True, allow_none=True, metadata={"description": MONEY + " A - B."})
    low = fields.Integer(required=True, allow_none=True, metadata={"description": "95% interval, low end."})
    high = fields.Integer(required=True, allow_none=True, metadata={"description": "95% interval, high end."})
    resamples = fields.Integer(required=True)
    confidence = fields.String(required=True)


class ComparisonSchema(Schema):
    currency = fields.String(required=True)
    campaign_id = fields.String(required=True, allow_none=True)
    start = fields.Date(data_key="from", required=True, allow_none=True)
    end = fields.Date(data_key="to", required=True, allow_none=True)
    groups = fields.List(fields.Nested(ComparisonGroupSchema), required=True, validate=validate.Length(equal=2))
    cost_per_conversion_difference = fields.Nested(DifferenceSchema, required=True)
    verdict = fields.String(required=True)
    rolled_up_at = fields.String(required=True, allow_none=True)


# -- series and breakdowns ------------------------------------------------------------------
def _figures_fields() -> dict[str, fields.Field]:
    return {
        **{m: fields.Integer(required=True) for m in series.COUNTS},
        "revenue": fields.Integer(required=True, metadata={"description": MONEY}),
        "unconverted": _by_currency("Revenue in currencies without a rate, by currency."),
    }


SeriesRowSchema = Schema.from_dict(
    {"period": fields.String(required=True, metadata={"description": "yyyy-mm-dd, or yyyy-mm-ddTHH:00 (local)."}),
     **_figures_fields()}, name="ReportSeriesRow",
)  # fmt: skip
SeriesTotalsSchema = Schema.from_dict(_figures_fields(), name="ReportSeriesTotals")
SERIES_COLUMNS = list(SeriesRowSchema().fields)


class _Subject(Schema):
    by = fields.String(required=True)
    id = fields.String(attribute="subject_id", required=True, allow_none=True)
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
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


# -- on-demand roll-ups ---------------------------------------------------------------------
class IsoTime(fields.DateTime):
    """A UTC time as ISO 8601 text with Z (as every time the API answers)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


class RefreshSchema(Schema):
    job_id = fields.String(required=True)
    status = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "Where to follow the job."})


class RollupJobSchema(Schema):
    job_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "queued, started, finished, failed..."})
    progress = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, allow_none=True,
                           metadata={"description": "brands, brands_done, clicks, conversions, events_read"})
    result = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, allow_none=True,
                         metadata={"description": "What the finished roll-up did (as progress)."})
    enqueued_at = IsoTime(required=True, allow_none=True)
    ended_at = IsoTime(required=True, allow_none=True)
