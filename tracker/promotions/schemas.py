from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.api import Currency, DecimalText, DiscountCodes, MinorUnits, UtcDateTime
from tracker.influencers.schemas import PLATFORMS

STYLES = ("long_running", "timeboxed")


class CostSchema(Schema):
    """What the brand pays: a flat fee, a commission on attributed revenue, a price per click."""

    currency = Currency(metadata={"description": "Defaults to the brand's reporting currency."})
    flat_fee = MinorUnits(load_default=0)
    commission_percent = DecimalText(
        validate.Range(min=0, max=100),
        r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$",
        load_default="0",
        metadata={"description": 'Percent of attributed revenue, 0 to 100, e.g. "12.5".'},
    )
    cost_per_click = MinorUnits(load_default=0)


class PromotionSchema(Schema):
    id = fields.String(dump_only=True)
    campaign_id = fields.String(required=True, metadata={"description": "A campaign of this brand (else 422)."})
    influencer_id = fields.String(required=True, metadata={"description": "An influencer of this brand (else 422)."})
    platform = fields.String(validate=validate.OneOf(PLATFORMS), metadata={"description": "Default: the influencer's."})
    posted_at = UtcDateTime(
        allow_none=True, load_default=None, metadata={"description": "When it went live; day 0 starts here."}
    )
    style = fields.String(required=True, validate=validate.OneOf(STYLES))
    window_hours = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=24 * 365),
        metadata={"description": "How long a timeboxed promotion runs (default 24); only timeboxed ones have one."},
    )
    followers = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=10**10),
        metadata={"description": "Followers at the time of the promotion (default: the influencer's now)."},
    )
    engagements = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    cost = fields.Nested(CostSchema, load_default=dict)
    discount_codes = DiscountCodes(load_default=list)
    tier = fields.String(dump_only=True)
    created_at = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("style") == "long_running" and data.get("window_hours") is not None:
            raise ValidationError("Only timeboxed promotions have a window.", "window_hours")


class PromotionUpdateSchema(PromotionSchema):
    class Meta:
        exclude = ("campaign_id", "influencer_id")


promotion_schema = PromotionSchema()
