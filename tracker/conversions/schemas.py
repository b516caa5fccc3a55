from __future__ import annotations

import re
from datetime import UTC, datetime
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


_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_OPTIONAL_TEXT = {"click_id": 300, "discount_code": 64, "landing_url": 2048, "customer_id": 200}


def load_generic_fast(p: Any) -> dict[str, Any] | None:
    """GenericEventSchema's result for a plainly valid payload, without marshmallow; None for
    anything else (the schema then decides, and words the errors). Accepts a strict subset of
    what the schema accepts, with an equal result (tests/test_conversions.py checks both)."""
    if not isinstance(p, dict) or not p.keys() <= _GENERIC_FIELDS:
        return None
    kind = p.get("type", "order")
    out: dict[str, Any] = {"type": kind, "occurred_at": None}
    for name in ("order_id", "refund_id"):
        value = p.get(name)
        if value is None:
            continue
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
        value = p["occurred_at"]
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            return None
        try:
            out["occurred_at"] = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:  # e.g. month 13: the schema words the error
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
