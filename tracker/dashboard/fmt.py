"""How the dashboard shows numbers: money in major units from integer minor units, ratios as percents.

Every formatter answers "n/a" for a missing value (a ratio over zero), so a page and its CSV agree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tracker import money as currencies

NA = "n/a"


def amount(value: int | None, currency: str) -> str:
    """Minor units as major units with the currency's exponent: 216940 USD -> '2,169.40'."""
    if value is None:
        return NA
    exp = currencies.exponent(currency)
    return f"{Decimal(value).scaleb(-exp):,.{exp}f}"


def money(value: int | None, currency: str) -> str:
    """An amount with its currency: 12995 USD -> '129.95 USD'."""
    return NA if value is None else f"{amount(value, currency)} {currency}"


def unconverted(values: dict[str, int] | None) -> str:
    """Amounts kept apart in their own currency ('spend:EUR' marks spend without a rate)."""
    if not values:
        return ""
    parts = []
    for key, value in sorted(values.items()):
        what, _, cur = key.rpartition(":")
        parts.append(f"{money(value, cur)}{' spend' if what == 'spend' else ''}")
    return ", ".join(parts)


def percent(value: str | None) -> str:
    """A four-place decimal ratio as a percent with two places: '-0.1575' -> '-15.75%'."""
    if value is None:
        return NA
    return f"{Decimal(value).scaleb(2):,.2f}%"


def ratio(value: str | None) -> str:
    return NA if value is None else str(value)


def count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


def duration(seconds: int | None) -> str:
    """Seconds as minutes, hours or days, whichever reads best."""
    if seconds is None:
        return NA
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def hours(value: int | None) -> str:
    return NA if value is None else f"{value} h"


def day(value: int | None) -> str:
    return "never (yet)" if value is None else f"day {value}"


def when(value: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM UTC' (or 'never')."""
    if not value:
        return "never"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M UTC")
