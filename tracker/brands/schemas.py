from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.api import Currency


class TierThresholdsSchema(Schema):
    """Minimum followers of each tier; below `micro` is nano."""

    micro = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    macro = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    celebrity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))

    @validates_schema
    def _increasing(self, data: dict[str, Any], **_: Any) -> None:
        if not data["micro"] < data["macro"] < data["celebrity"]:
            raise ValidationError("Thresholds must increase: micro < macro < celebrity.", "macro")


class BrandSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200))
    currency = Currency(metadata={"description": "Reporting currency (ISO 4217)."})
    attribution_window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=365))
    tier_thresholds = fields.Nested(TierThresholdsSchema)
    click_param = fields.String(
        validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$", error="Must be a plain query parameter name."),
        metadata={"description": "Query parameter that carries the click id to the shop."},
    )
    created_at = fields.String(dump_only=True)


brand_schema = BrandSchema()
