"""Currencies: ISO 4217 codes and their minor-unit exponents (CLDR data via Babel)."""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies


@lru_cache(maxsize=1)
def currencies() -> frozenset[str]:
    return frozenset(c for c in list_currencies() if len(c) == 3 and c.isalpha() and c.isupper())


def is_currency(code: str) -> bool:
    return code in currencies()


def exponent(code: str) -> int:
    """Digits after the decimal point of a currency's minor unit: JPY 0, USD 2, KWD 3."""
    return get_currency_precision(code)
