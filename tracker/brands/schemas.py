from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker import botrules, localtime
from tracker.api import Currency, DecimalText, FullMatch
from tracker.brands.model import MAX_CLICK_SHARDS
from tracker.engagement.model import DEFAULT_RANGES
from tracker.engagement.schemas import EngagementRangesSchema
from tracker.links import channels


class TierThresholdsSchema(Schema):
    """Minimum followers of each tier; below `micro` is nano."""

    micro = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    macro = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    celebrity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))

    @validates_schema
    def _increasing(self, data: dict[str, Any], **_: Any) -> None:
        missing = [name for name in self.fields if name not in data]
        if missing:  # a brand's PATCH loads partially, and thresholds still come whole
            raise ValidationError({name: ["Missing data for required field."] for name in missing})
        if not data["micro"] < data["macro"] < data["celebrity"]:
            raise ValidationError("Thresholds must increase: micro < macro < celebrity.", "macro")


class BrandSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200))
    currency = Currency(metadata={"description": "Reporting currency (ISO 4217)."})
    attribution_window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=365))
    tier_thresholds = fields.Nested(
        TierThresholdsSchema,
        metadata={"description": "Each above the one before, micro < macro < celebrity (else 422)."},
    )
    click_param = fields.String(
        validate=FullMatch(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$", error="Must be a plain query parameter name."),
        metadata={"description": "Query parameter that carries the click id to the shop."},
    )
    attribution_priority = fields.List(
        fields.String(validate=validate.OneOf(("click_id", "discount_code", "landing_url"))),
        validate=validate.Length(min=1, max=3),
        metadata={"description": "Keys tried in order to attribute an order, each at most once.", "uniqueItems": True},
    )
    max_self_links = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=1000),
        dump_default=channels.DEFAULT_CAP,
        metadata={"description": "Links each influencer may make from their page (0: none)."},
    )
    engagement_ranges = fields.Nested(
        EngagementRangesSchema,
        dump_default=lambda: {t: dict(r) for t, r in DEFAULT_RANGES.items()},
        metadata={"description": "Expected engagement rate on followers per tier, in percent (reports say below, "
                  "within or above); a PATCH replaces only the tiers it names. Defaults: micro at least 2.4, "
                  "celebrity 2 to 5, nano and macro none."},
    )  # fmt: skip
    click_shards = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_CLICK_SHARDS),
        dump_default=1,
        metadata={"description": "Click streams the brand's clicks are spread over, each in its own Redis Cluster "
                  "slot (1-64): raise it for a brand one slot cannot carry. Changing it loses and double-counts no "
                  "click: every shard ever used is still rolled up and reported."},
    )  # fmt: skip
    click_shards_max = fields.Integer(
        dump_only=True, dump_default=1,
        metadata={"description": "The most click shards the brand ever had (all of them are rolled up)."},
    )  # fmt: skip
    time_zone = fields.String(
        validate=lambda v: localtime.valid(v) or _bad_zone(),
        dump_default=localtime.DEFAULT,
        metadata={"description": "IANA time zone of the brand's days and hours in series and breakdowns (default "
                  "UTC). Clicks and orders rolled up after a change count in the new zone's days; counted ones stay.",
                  "example": "Europe/Paris"},
    )  # fmt: skip
    created_at = fields.String(dump_only=True)

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_: Any) -> None:
        keys = data.get("attribution_priority") or []
        if len(set(keys)) != len(keys):
            raise ValidationError("Each key at most once.", "attribution_priority")


def _bad_zone() -> bool:
    raise ValidationError("Must be an IANA time zone name, e.g. Europe/Paris or Asia/Kolkata.")


def _pattern(value: str) -> None:
    reason = botrules.problem(value)
    if reason:
        raise ValidationError(reason)


def _patterns(description: str) -> fields.List:
    return fields.List(
        fields.String(
            validate=[validate.Length(min=1, max=botrules.MAX_LENGTH), _pattern],
            metadata={"description": "An RE2 regular expression that does not match the empty string (else 422)."},
        ),
        load_default=list,
        validate=validate.Length(max=botrules.MAX_PATTERNS),
        metadata={"description": description},
    )


class BotPatternsSchema(Schema):
    """The brand's own user-agent patterns: RE2 regular expressions, case-insensitive, matched
    anywhere in the user agent; they apply to clicks rolled up after the change."""

    exclude = _patterns('Never a click: a bot hit of family "brand-rule" (e.g. your own uptime monitor).')
    count = _patterns("Always a click when the classifier says bot (e.g. a partner app); `exclude` wins over it.")
    version = fields.Integer(dump_only=True, metadata={"description": "Bumped on every change."})
    updated_at = fields.String(dump_only=True, allow_none=True)


class RateSchema(Schema):
    rate = DecimalText(
        validate.Range(min=0, min_inclusive=False, max=10**9),
        r"^([1-9][0-9]{0,8}(\.[0-9]+)?|0?\.[0-9]*[1-9][0-9]*|1000000000(\.0+)?)$",
        required=True,
        metadata={"description": 'Reporting-currency units per unit of this currency, in (0, 10^9], e.g. "1.08".'},
    )


class RatesSchema(Schema):
    reporting_currency = fields.String()
    rates = fields.Dict(keys=fields.String(), values=fields.String())


brand_schema = BrandSchema()
