from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.api import Date, DecimalText
from tracker.engagement.model import COUNTS, MAX_COUNT, MAX_ROWS

DESCRIPTIONS = {
    "impressions": "Times the post was shown (CPM and click-through on impressions use it).",
    "reach": "Accounts that saw the post (engagement rate on reach uses it).",
    "views": "Video views (not engagements).",
    "likes": "Likes (an engagement).",
    "comments": "Comments (an engagement).",
    "shares": "Shares (an engagement).",
    "saves": "Saves (an engagement).",
}


def _count(name: str) -> fields.Integer:
    return fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=MAX_COUNT, error="Must be a whole number from {min} to {max}."),
        metadata={"description": f"{DESCRIPTIONS[name]} Cumulative, as of the date."},
    )


class SnapshotSchema(Schema):
    """The post's cumulative counts as the platform showed them on one day (UTC); each optional,
    at least one given. Engagements = likes + comments + shares + saves."""

    date = Date(
        required=True,
        metadata={"description": "From the promotion's posting day (UTC) to today; a promotion without "
                  "posted_at takes none (else 422)."},
    )  # fmt: skip
    impressions = _count("impressions")
    reach = _count("reach")
    views = _count("views")
    likes = _count("likes")
    comments = _count("comments")
    shares = _count("shares")
    saves = _count("saves")

    @validates_schema
    def _some(self, data: dict[str, Any], **_: Any) -> None:
        if all(data.get(name) is None for name in COUNTS):
            raise ValidationError(f"Give at least one of {', '.join(COUNTS)}.")


class StoredSnapshotSchema(SnapshotSchema):
    source = fields.String(
        dump_only=True,
        metadata={"description": '"brand" (entered by the brand) or "influencer" (self-reported; in the series '
                  "once the brand confirmed it)."},
    )  # fmt: skip
    engagements = fields.Function(lambda s: sum(s.get(n) or 0 for n in ("likes", "comments", "shares", "saves")),
                                  dump_only=True)  # fmt: skip
    entered_at = fields.String(dump_only=True)
    confirmed_at = fields.String(dump_only=True)


class SelfReportedSchema(StoredSnapshotSchema):
    label = fields.Constant("self-reported", dump_only=True)
    status = fields.Constant("awaiting confirmation", dump_only=True)


class SeriesSchema(Schema):
    series = fields.List(
        fields.Nested(SnapshotSchema),
        required=True,
        validate=validate.Length(max=MAX_ROWS),
        metadata={"description": "The whole series (replaces the stored one); each date at most once."},
    )


class MetricsSchema(Schema):
    promotion_id = fields.String()
    followers = fields.Integer()
    latest = fields.Nested(StoredSnapshotSchema, allow_none=True,
                           metadata={"description": "The latest snapshot of the series: what all-time reports use."})
    series = fields.List(fields.Nested(StoredSnapshotSchema),
                         metadata={"description": "Brand-entered or brand-confirmed snapshots, by date."})
    self_reported = fields.List(
        fields.Nested(SelfReportedSchema),
        metadata={"description": "Reported by the influencer on their page, labelled self-reported; not in reports "
                  "until confirmed (POST .../metrics/self-reported/<date>/confirm)."},
    )  # fmt: skip


PERCENT = r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$"


class RangeSchema(Schema):
    """An expected engagement rate on followers, in percent: at least `min`, at most `max` (either may be null)."""

    min = DecimalText(
        validate.Range(min=0, max=100), PERCENT, allow_none=True, load_default=None,
        metadata={"description": 'Percent, 0 to 100, e.g. "2.4"; null: no lower bound.'},
    )  # fmt: skip
    max = DecimalText(
        validate.Range(min=0, max=100), PERCENT, allow_none=True, load_default=None,
        metadata={"description": 'Percent, 0 to 100, e.g. "5"; null: no upper bound; not below min.'},
    )  # fmt: skip

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("min") is not None and data.get("max") is not None and data["max"] < data["min"]:
            raise ValidationError("Must not be below min.", "max")


class EngagementRangesSchema(Schema):
    """Expected engagement rate on followers per tier (a tier left out keeps its range)."""

    nano = fields.Nested(RangeSchema)
    micro = fields.Nested(RangeSchema)
    macro = fields.Nested(RangeSchema)
    celebrity = fields.Nested(RangeSchema)


snapshot_schema = SnapshotSchema()
