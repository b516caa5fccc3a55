from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker import money
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


# What IdField takes, as the document says it: text of 1-200 characters, not only spaces (an integer
# is taken too, as its text).
ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"[^\s\x1c-\x1f\x85]"}


class GenericEventSchema(Schema):
    """The generic order/refund event: amounts are integer minor units (4990 = 49.90 USD)."""

    type = fields.String(load_default="order", validate=validate.OneOf(("order", "refund")))
    order_id = IdField(required=True, metadata=ID_SCHEMA)
    refund_id = IdField(metadata={**ID_SCHEMA, "description": "Required when `type` is refund."})
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


_OPTIONAL_TEXT = {"click_id": 300, "discount_code": 64, "landing_url": 2048, "customer_id": 200}


def load_generic_fast(p: Any) -> dict[str, Any] | None:
    """GenericEventSchema's result without the schema's machinery (a sixth of its cost), or None
    exactly when the schema refuses the payload (the schema then words the errors). Kept because
    the webhook benchmark's profile needs it; tests/test_webhook_intake.py checks, on generated
    payloads, that it accepts what the schema accepts, alike, and nothing else."""
    if not isinstance(p, dict) or not p.keys() <= _GENERIC_FIELDS:
        return None
    kind = p.get("type", "order")
    out: dict[str, Any] = {"type": kind, "occurred_at": None}
    for name in ("order_id", "refund_id"):
        if name not in p:
            continue
        value = p[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        text = str(value).strip()
        if not text or len(text) > 200:
            return None
        out[name] = text
    amount, currency = p.get("amount"), p.get("currency")
    if (
        kind not in ("order", "refund")
        or "order_id" not in out
        or (kind == "refund" and "refund_id" not in out)
        or type(amount) is not int
        or not 0 <= amount <= 10**15
        or not isinstance(currency, str)
        or not money.is_currency(currency)
    ):
        return None
    out["amount"], out["currency"] = amount, currency
    if "occurred_at" in p:
        try:
            out["occurred_at"] = _OCCURRED_AT.deserialize(p["occurred_at"])  # the schema's own field: its formats
        except ValidationError:
            return None
    for name, limit in _OPTIONAL_TEXT.items():
        if name in p:
            if not isinstance(p[name], str) or len(p[name]) > limit:
                return None
            out[name] = p[name]
    if "discount_codes" in p:
        codes = p["discount_codes"]
        if (
            not isinstance(codes, list)
            or len(codes) > 20
            or not all(isinstance(c, str) and len(c) <= 64 for c in codes)
        ):
            return None
        out["discount_codes"] = list(codes)
    return out


_GENERIC_FIELDS = frozenset(GenericEventSchema().fields)
_OCCURRED_AT = GenericEventSchema().fields["occurred_at"]
