"""HTML form fields of the managed resources, and their conversion to and from the API's JSON.

A form posts text; `to_payload` turns it into what the API's JSON body would be (integers,
lists, nulls, a nested `cost`), so the API's own schemas and views validate it and give the same
messages. Money is typed in major units (12.50) and sent in minor units (1250).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tracker import money

INTEGER = re.compile(r"^-?\d+$")


class FormError(Exception):
    """A value the form itself cannot turn into the API's type (e.g. money with too many decimals)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    """One input: `name` is the API field ('cost.flat_fee' for a nested one)."""

    name: str
    label: str
    type: str = "text"  # text, number, money, select, date, datetime, codes, checkbox, url, email
    required: bool = False
    nullable: bool = False  # an empty input sends null (clears the value)
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""
    create_only: bool = False

    @property
    def input_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _amount(text: str, currency: str, name: str) -> int:
    exp = money.exponent(currency) if money.is_currency(currency) else 2
    try:
        value = Decimal(text.replace(",", "").replace(" ", ""))
    except InvalidOperation:
        raise FormError(name, "Must be an amount, e.g. 12.50.") from None
    minor = value.scaleb(exp) if value.is_finite() else value
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise FormError(name, f"Must be an amount with at most {exp} decimals.")
    return int(minor)


def to_payload(fields: list[Field], form: dict[str, str], creating: bool, currency: str) -> dict[str, Any]:
    """The JSON body the API would get for this form (raises FormError for unreadable amounts)."""
    payload: dict[str, Any] = {}
    cost_currency = (form.get("cost.currency") or "").strip() or currency
    for f in fields:
        if f.create_only and not creating:
            continue
        raw = (form.get(f.name) or "").strip()
        if f.type == "checkbox":
            value: Any = f.name in form
        elif f.type == "codes":
            value = [c for c in re.split(r"[\s,]+", raw) if c]
        elif raw == "":
            if f.nullable:
                value = None
            elif f.required and not creating:
                value = ""  # the API's own message for an emptied required field
            else:
                continue  # not sent: the API's default applies (or 'Missing data for required field.')
        elif f.type == "number":
            value = int(raw) if INTEGER.fullmatch(raw) else raw
        elif f.type == "money":
            value = _amount(raw, cost_currency, f.name)
        else:
            value = raw
        head, _, tail = f.name.partition(".")
        if tail:
            payload.setdefault(head, {})[tail] = value
        else:
            payload[f.name] = value
    return payload


def to_form(fields: list[Field], record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the values of its edit form."""
    values: dict[str, Any] = {}
    for f in fields:
        head, _, tail = f.name.partition(".")
        value = (record.get(head) or {}).get(tail) if tail else record.get(f.name)
        if value is None:
            values[f.name] = ""
        elif f.type == "money":
            cur = (record.get("cost") or {}).get("currency", "USD")
            exp = money.exponent(cur) if money.is_currency(cur) else 2
            values[f.name] = f"{Decimal(value).scaleb(-exp):.{exp}f}"
        elif f.type == "codes":
            values[f.name] = ", ".join(value)
        elif f.type == "datetime":
            values[f.name] = str(value)[:16]  # 2026-10-01T12:00 (UTC)
        elif f.type == "checkbox":
            values[f.name] = bool(value)
        else:
            values[f.name] = str(value)
    return values
