"""Orders and refunds: money, attribution, and recording each exactly once.

Attribution tries the brand's keys in priority order (default: click id, discount code, a click
id in the landing URL). A click id is trusted only if its signature verifies, its link belongs to
the brand, and the order came within the attribution window after the click. Last click wins by
construction: every click gets a new id, and the shop keeps the latest one it saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis

from tracker import clickid, keys, money
from tracker.db import scripts
from tracker.lookups import Lookups
from tracker.records import iso, new_id, now_iso

ATTRIBUTION_KEYS = ("click_id", "discount_code", "landing_url")  # the default priority
CLOCK_SKEW_MS = 5 * 60_000  # an order may carry a time a little before its click's


class BadInput(ValueError):
    """A payload field is missing or wrong: `field` names it."""

    def __init__(self, field_name: str, message: str, status: int = 422):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.status = status  # 400 for a body that is not JSON at all


@dataclass
class Order:
    source: str
    order_id: str
    amount: int  # minor units of `currency`
    currency: str
    occurred_at: datetime
    click_ids: list[str] = field(default_factory=list)  # candidates, best first
    discount_codes: list[str] = field(default_factory=list)
    landing_url: str | None = None
    customer_id: str | None = None


@dataclass
class Refund:
    source: str
    order_id: str
    refund_id: str
    amount: int  # minor units; for one refund id it may only grow (a cumulative total)
    currency: str
    occurred_at: datetime


# -- money ----------------------------------------------------------------------------------
def currency_code(value: Any, field_name: str = "currency") -> str:
    code = str(value or "").upper()
    if not money.is_currency(code):
        raise BadInput(field_name, "Must be an ISO 4217 currency code, e.g. USD.")
    return code


def to_minor(value: Any, currency: str, field_name: str = "amount") -> int:
    """Decimal text in major units ("49.90") to integer minor units, exactly, or BadInput."""
    if isinstance(value, float | bool) or value is None:
        raise BadInput(field_name, 'Must be a decimal string such as "49.90".')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise BadInput(field_name, f"{value!r} is not a number.") from None
    minor = amount.scaleb(money.exponent(currency))
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise BadInput(field_name, f"{value} has more decimals than {currency} has.")
    if minor < 0:
        raise BadInput(field_name, "Must not be negative.")
    return int(minor)


def convert(amount: int, currency: str, rate: Decimal, into: str) -> int:
    """Minor units of `currency` to minor units of `into` at `rate` (into per unit), half-even."""
    major = Decimal(amount).scaleb(-money.exponent(currency)) * rate
    return int(major.scaleb(money.exponent(into)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def get_rates(r: redis.Redis, brand_id: str) -> dict[str, Decimal]:
    return {k.decode(): Decimal(v.decode()) for k, v in r.hgetall(keys.rates(brand_id)).items()}


# -- attribution ----------------------------------------------------------------------------
def click_ids_in_url(url: str | None, brand: dict[str, Any]) -> list[str]:
    if not url:
        return []
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return []
    names = dict.fromkeys([brand["click_param"], "tid"])
    return [v for name in names for v in query.get(name, []) if v]


def _check_click(look: Lookups, brand: dict[str, Any], tid: str, order: Order, secrets: list[bytes]) -> dict:
    click = clickid.verify(tid, secrets)
    if click is None:
        return {"result": "invalid", "detail": "The click id's signature does not verify (forged or altered)."}
    link = look.link(click.code)
    if link is None or link["b"] != brand["id"]:
        return {"result": "unknown_link", "detail": f"The click id names link {click.code!r}, not one of this brand's."}
    age_ms = int(order.occurred_at.timestamp() * 1000) - click.ts_ms
    window_days = brand["attribution_window_days"]
    clicked = iso(datetime.fromtimestamp(click.ts_ms / 1000, UTC))
    if age_ms < -CLOCK_SKEW_MS:
        return {"result": "before_click", "detail": f"The order is dated before its click ({clicked})."}
    if age_ms > window_days * 86_400_000:
        days = age_ms / 86_400_000
        return {
            "result": "outside_window",
            "detail": f"The click ({clicked}) was {days:.1f} days before the order; the window is {window_days} days.",
        }
    return {
        "result": "matched",
        "promotion_id": link["p"],
        "click": {"id": tid, "at": clicked, "link_id": link["l"], "code": click.code},
        "time_to_conversion_seconds": max(0, age_ms // 1000),
    }


def _check_code(look: Lookups, brand_id: str, code: str) -> dict:
    owner = look.discount_owner(brand_id, code)
    if owner is None:
        return {"result": "unknown_code", "detail": f"No promotion of this brand has the discount code {code!r}."}
    if look.entity(brand_id, "promotion", owner) is None:
        return {"result": "campaign_code", "detail": f"{code!r} is a campaign-wide code: it names no influencer."}
    return {"result": "matched", "promotion_id": owner}


def attribute(look: Lookups, brand: dict[str, Any], order: Order, secrets: list[bytes]) -> dict[str, Any]:
    """The decision and how it was reached: every key looked at, in order, and what it gave."""
    candidates = {
        "click_id": order.click_ids,
        "discount_code": order.discount_codes,
        "landing_url": click_ids_in_url(order.landing_url, brand),
    }
    checked: list[dict[str, Any]] = []
    for key in brand.get("attribution_priority") or ATTRIBUTION_KEYS:
        for value in dict.fromkeys(candidates[key]):
            if key == "discount_code":
                outcome = _check_code(look, brand["id"], value)
            else:
                outcome = _check_click(look, brand, value, order, secrets)
            checked.append({"key": key, "value": value, **{k: v for k, v in outcome.items() if k != "click"}})
            if outcome["result"] == "matched":
                promotion = look.entity(brand["id"], "promotion", outcome["promotion_id"]) or {}
                return {
                    "status": "attributed",
                    "matched_by": key,
                    "promotion_id": outcome["promotion_id"],
                    "influencer_id": promotion.get("influencer_id"),
                    "campaign_id": promotion.get("campaign_id"),
                    "click": outcome.get("click"),
                    "time_to_conversion_seconds": outcome.get("time_to_conversion_seconds"),
                    "checked": checked,
                }
    if not checked:
        reason, detail = "no_key", "The order carried no click id, discount code or landing URL with a click id."
    else:
        reason, detail = checked[0]["result"], checked[0]["detail"]
    return {"status": "unattributed", "reason": reason, "detail": detail, "checked": checked}


# -- recording ------------------------------------------------------------------------------
def record_order(look: Lookups, brand: dict[str, Any], order: Order, secrets: list[bytes]) -> tuple[bool, str]:
    """Store the order and its attribution once (the script decides, atomically); returns
    (created, conversion id)."""
    return look.db.run(order_call(look, brand, order, secrets))


def order_call(
    look: Lookups, brand: dict[str, Any], order: Order, secrets: list[bytes]
) -> scripts.Call[tuple[bool, str]]:
    """`record_order`'s script call, attribution decided: run it blocking (`tracker.db`) or awaited
    (`tracker.db.aio.Pipes.run`)."""
    decision = attribute(look, brand, order, secrets)
    conversion_id = new_id()
    record = {
        "id": conversion_id,
        "source": order.source,
        "order_id": order.order_id,
        "amount": order.amount,
        "currency": order.currency,
        "occurred_at": iso(order.occurred_at),
        "received_at": now_iso(),
        "click_ids": order.click_ids,
        "discount_codes": order.discount_codes,
        "landing_url": order.landing_url,
        "customer_id": order.customer_id,
        "attribution": decision,
    }
    ts = int(order.occurred_at.timestamp() * 1000)
    click = decision.get("click") or {}
    event = {
        "kind": "order",
        "id": conversion_id,
        "promotion": decision.get("promotion_id") or "",
        "link": click.get("link_id") or "",
        "status": decision["status"],
        "reason": decision.get("reason", ""),
        "amount": str(order.amount),
        "currency": order.currency,
        "at": str(ts),
        "click_at": str(int(datetime.fromisoformat(click["at"].replace("Z", "+00:00")).timestamp() * 1000))
        if click
        else "",
    }
    return scripts.record_order(
        brand_id=brand["id"], source=order.source, order_id=order.order_id, conversion_id=conversion_id,
        record=json.dumps(record), amount=order.amount, at_ms=ts, event=list(event.items()),
    )  # fmt: skip


def present(r: redis.Redis, brand: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with their refunds, net revenue, and the amount in the reporting currency."""
    b = brand["id"]
    ids = [rec["id"] for rec in records]
    refunded = r.hmget(keys.conversion_refunded(b), ids) if ids else []
    rates = get_rates(r, b)
    out = []
    for rec, ref in zip(records, refunded, strict=True):
        ref = int(ref or 0)
        net = max(0, rec["amount"] - ref)
        reporting = None
        if rec["currency"] == brand["currency"]:
            reporting = {"amount": net, "currency": brand["currency"]}
        elif rec["currency"] in rates:
            rate = rates[rec["currency"]]
            reporting = {
                "amount": convert(net, rec["currency"], rate, brand["currency"]),
                "currency": brand["currency"],
            }
        out.append(
            {**rec, "refunded": ref, "net": net, "fully_refunded": ref >= rec["amount"] > 0, "reporting": reporting}
        )
    return out
