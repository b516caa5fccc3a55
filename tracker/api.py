"""What every API area shares over HTTP: the current brand (its store, its service scope), the
common schema fields, pagination. The rules live in each area's `service.py`."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g
from marshmallow import Schema, ValidationError, fields, validate

from tracker import money
from tracker.records import iso
from tracker.scope import Scope
from tracker.store import Store

MAX_URL = 2048


def brand() -> dict[str, Any]:
    """The brand of this request's API key (or the dashboard's signed-in brand)."""
    return g.brand


def store() -> Store:
    return Store(current_app.extensions["redis"], g.brand["id"])


def scope() -> Scope:
    """The current brand's scope, for the service functions."""
    return Scope.of(current_app, g.brand)


# -- fields ---------------------------------------------------------------------------------
def check_url(value: str) -> None:
    if len(value) > MAX_URL:
        raise ValidationError(f"Must be at most {MAX_URL} characters.")
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValidationError("Must not contain spaces or control characters.")
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[shop/": an unclosed IPv6 bracket
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError("Must be an absolute http:// or https:// URL.")


def _meta(kw: dict[str, Any], **base: Any) -> dict[str, Any]:
    return {**base, **kw.pop("metadata", {})}


# check_url as the document says it (a little stricter: no user@ and no [IPv6] hosts).
_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x1f\x85/?#@\[\]:][^\s\x00-\x1f\x85/?#@\[\]]*([/?#][^\s\x00-\x1f\x85]*)?$"


def DestinationUrl(**kw: Any) -> fields.String:  # noqa: N802 - a field factory reads like a field
    metadata = _meta(kw, format="uri", maxLength=MAX_URL, pattern=_URL_PATTERN)
    return fields.String(validate=check_url, metadata=metadata, **kw)


def check_currency(value: str) -> None:
    if not money.is_currency(value):
        raise ValidationError("Must be an ISO 4217 currency code, e.g. USD.")


def Currency(**kw: Any) -> fields.String:  # noqa: N802
    metadata = _meta(kw, example="USD", enum=sorted(money.currencies()))
    return fields.String(validate=check_currency, metadata=metadata, **kw)


def MinorUnits(**kw: Any) -> fields.Integer:  # noqa: N802
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=10**15),
        metadata=_meta(kw, description="Integer amount in the currency's minor unit (cents for USD)."),
        **kw,
    )


def DecimalText(within: validate.Range, pattern: str, **kw: Any) -> fields.Decimal:  # noqa: N802
    """A decimal number as text ("12.5"; a JSON number is taken too). The document gives its range as
    `pattern`, since JSON Schema's minimum and maximum apply only to numbers."""

    def check(value: Decimal) -> None:
        if value.is_signed():  # "-0": no sign in the pattern, nor in what is shown
            raise ValidationError("Must not be negative.")
        within(value)

    metadata = _meta(kw, type="string", pattern=pattern)
    return fields.Decimal(as_string=True, places=None, validate=check, metadata=metadata, **kw)


class UtcDateTime(fields.AwareDateTime):
    """ISO 8601 date-time in, UTC with Z out; without an offset it is taken as UTC."""

    def __init__(self, **kw: Any):
        super().__init__(default_timezone=UTC, **kw)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kw: Any) -> str | None:
        return iso(value)


class Date(fields.Date):
    """ISO 8601 date; stored as its text."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kw: Any) -> str | None:
        return iso(value)


class FullMatch(validate.Regexp):
    """validate.Regexp over the whole value. Regexp uses `re.match`, where a closing `$` also
    matches before a trailing newline ("tid\\n"); the pattern keeps its `^...$` form for the
    OpenAPI document, where it means the whole value."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_discount_code(value: str) -> None:
    if not CODE_RE.fullmatch(value):
        raise ValidationError("Discount codes are 1-64 letters, digits, '-' or '_'.")


def DiscountCodes(**kw: Any) -> fields.List:  # noqa: N802
    code = fields.String(validate=check_discount_code, metadata={"pattern": CODE_RE.pattern})
    return fields.List(code, validate=validate.Length(max=100), **kw)


# -- pagination -----------------------------------------------------------------------------
MAX_PAGE = 10**9  # pages of 500 reach half a trillion records; Redis offsets stay in 64 bits


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(
        load_default=lambda: current_app.config["API_PAGE_SIZE"],
        validate=validate.Range(min=1, max=500),
        metadata={"description": "Items per page; default: the API_PAGE_SIZE setting (50)."},
    )


def page_schema(item: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
            "total": fields.Integer(),
        },
        name=f"{item.__name__.removesuffix('Schema')}PageSchema",
    )


def page_of(items: list[Any], total: int, args: dict[str, int]) -> dict[str, Any]:
    return {"items": items, "page": args["page"], "page_size": args["page_size"], "total": total}
