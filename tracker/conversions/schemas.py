from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.api import Currency, MinorUnits, UtcDateTime


class IdField(fields.Field):
    """An order or refund id: a string, or an integer taken as its text."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("Must be a string or an integer.")
        text = str(value).strip()
        if not text or len(text) > 200:
            raise ValidationError("Must be 1-200 characters.")
        return text


class GenericEventSchema(Schema):
    """The generic order/refund event: amounts are integer minor units (4990 = 49.90 USD)."""

    type = fields.String(load_default="order", validate=validate.OneOf(("order", "refund")))
    order_id = IdField(required=True, metadata={"type": "string"})
    refund_id = IdField(metadata={"type": "string", "description": "Required for refunds."})
    amount = MinorUnits(required=True)
    currency = Currency(required=True)
    occurred_at = UtcDateTime(load_default=None, metadata={"description": "Default: when received."})
    click_id = fields.String(validate=validate.Length(max=300))
    discount_code = fields.String(validate=validate.Length(max=64))
    discount_codes = fields.List(fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=20))
    landing_url = fields.String(validate=validate.Length(max=2048))
    customer_id = fields.String(validate=validate.Length(max=200))

    @validates_schema
    def _refund_id(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("type") == "refund" and not data.get("refund_id"):
            raise ValidationError("Required for a refund.", "refund_id")


class ConversionSchema(Schema):
    id = fields.String()
    source = fields.String()
    order_id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    refunded = fields.Integer()
    net = fields.Integer(metadata={"description": "amount - refunded, never below zero."})
    fully_refunded = fields.Boolean()
    reporting = fields.Dict(
        allow_none=True, metadata={"description": "Net in the reporting currency; null when no rate is set."}
    )
    occurred_at = fields.String()
    received_at = fields.String()
    click_ids = fields.List(fields.String())
    discount_codes = fields.List(fields.String())
    landing_url = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    attribution = fields.Dict(metadata={"description": "The decision, and every key checked on the way."})


class IngestResultSchema(Schema):
    status = fields.String()
    events = fields.List(fields.Dict())


class ConversionFilterSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
