"""Each platform's order and refund webhooks, parsed into Orders and Refunds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import parse_qs

from tracker.conversions.model import BadInput, Order, Refund, click_ids_in_url, currency_code, to_minor

Event = Order | Refund


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(name, "Must be a JSON object.")
    return value


def _id(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise BadInput(name, "Missing or not a string/integer id.")
    text = str(value).strip()
    if len(text) > 200:
        raise BadInput(name, "Must be at most 200 characters.")
    return text


def _time(value: Any, name: str, naive_utc: bool = True) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise BadInput(name, "Missing or not an ISO 8601 time.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(name, f"{value!r} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        if not naive_utc:
            raise BadInput(name, "Must carry a UTC offset.")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str | int) and not isinstance(value, bool) else None


# -- generic --------------------------------------------------------------------------------
def generic(data: dict[str, Any]) -> list[Event]:
    """Our own format, validated by GenericEventSchema."""
    occurred = data.get("occurred_at") or datetime.now(UTC)
    if data["type"] == "refund":
        return [Refund("generic", data["order_id"], data["refund_id"], data["amount"], data["currency"], occurred)]
    codes = list(data.get("discount_codes") or []) + ([data["discount_code"]] if data.get("discount_code") else [])
    clicks = [data["click_id"]] if data.get("click_id") else []
    return [
        Order(
            "generic",
            data["order_id"],
            data["amount"],
            data["currency"],
            occurred,
            clicks,
            codes,
            data.get("landing_url"),
            data.get("customer_id"),
        )  # fmt: skip
    ]


# -- Shopify --------------------------------------------------------------------------------
def _shopify_click_ids(order: dict[str, Any], brand: dict[str, Any]) -> list[str]:
    names = (brand["click_param"], "tid")
    notes = order.get("note_attributes") or []
    return [str(n["value"]) for n in notes if isinstance(n, dict) and n.get("name") in names and _str(n.get("value"))]


def shopify_order(p: dict[str, Any], brand: dict[str, Any]) -> Order:
    money_set = ((p.get("total_price_set") or {}).get("shop_money")) or {}
    currency = currency_code(money_set.get("currency_code") or p.get("currency"), "currency")
    amount = to_minor(money_set.get("amount", p.get("total_price")), currency, "total_price")
    codes = [str(d["code"]) for d in p.get("discount_codes") or [] if isinstance(d, dict) and d.get("code")]
    customer = p.get("customer") or {}
    landing = p.get("landing_site") if isinstance(p.get("landing_site"), str) else None
    # Shopify's order of evidence: the click id in landing_site, then note_attributes, then codes.
    clicks = click_ids_in_url(landing, brand) + _shopify_click_ids(p, brand)
    occurred = _time(p.get("processed_at") or p.get("created_at"), "created_at")
    return Order("shopify", _id(p.get("id"), "id"), amount, currency, occurred, clicks, codes, landing,
                 _str(customer.get("id")) if isinstance(customer, dict) else None)  # fmt: skip


def shopify_refund(p: dict[str, Any]) -> Refund | None:
    total, currency = 0, None
    for t in p.get("transactions") or []:
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success":
            currency = currency_code(t.get("currency"), "transactions.currency")
            total += to_minor(t.get("amount"), currency, "transactions.amount")
    if currency is None or total == 0:
        return None  # a restock-only refund moves no money
    occurred = _time(p.get("processed_at") or p.get("created_at"), "created_at")
    return Refund("shopify", _id(p.get("order_id"), "order_id"), _id(p.get("id"), "id"), total, currency, occurred)


# -- WooCommerce ----------------------------------------------------------------------------
WOO_PAID = ("processing", "completed", "refunded")
WOO_LANDING_KEYS = ("_wc_order_attribution_session_entry", "_landing_url", "landing_url")


def woocommerce(p: dict[str, Any], brand: dict[str, Any]) -> list[Event]:
    order_id = _id(p.get("id"), "id")
    currency = currency_code(p.get("currency"))
    meta = {m.get("key"): m.get("value") for m in p.get("meta_data") or [] if isinstance(m, dict)}
    events: list[Event] = []
    if p.get("status") in WOO_PAID:
        names = (brand["click_param"], f"_{brand['click_param']}", "tid", "_tid")
        clicks = [str(meta[n]) for n in dict.fromkeys(names) if _str(meta.get(n))]
        landing = next((str(meta[k]) for k in WOO_LANDING_KEYS if _str(meta.get(k))), None)
        codes = [str(c["code"]) for c in p.get("coupon_lines") or [] if isinstance(c, dict) and c.get("code")]
        occurred = _time(p.get("date_paid_gmt") or p.get("date_created_gmt"), "date_created_gmt")
        amount = to_minor(p.get("total"), currency, "total")
        events.append(Order("woocommerce", order_id, amount, currency, occurred, clicks, codes, landing,
                            _str(p.get("customer_id"))))  # fmt: skip
    for refund in p.get("refunds") or []:
        if not isinstance(refund, dict):
            raise BadInput("refunds", "Must be a list of objects.")
        amount = to_minor(str(refund.get("total", "")).lstrip("-"), currency, "refunds.total")
        when = _time(p.get("date_modified_gmt") or p.get("date_created_gmt"), "date_modified_gmt")
        events.append(Refund("woocommerce", order_id, _id(refund.get("id"), "refunds.id"), amount, currency, when))
    return events


# -- Stripe ---------------------------------------------------------------------------------
STRIPE_PAID_SESSION = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
# Stripe states these in hundredths although they have no minor unit (ISO 4217, CLDR: exponent 0),
# "for backwards compatibility": 5 ISK is `500` (docs.stripe.com/currencies#special-cases). HUF and
# TWD, the other special cases, are two-decimal in both, so need nothing.
STRIPE_HUNDREDTHS = frozenset({"ISK", "UGX"})


def _stripe_amount(value: Any, currency: str, field: str) -> int:
    """A Stripe amount in the currency's minor units (ours): a non-negative integer, ISK and UGX
    divided by 100 (since 2023 Stripe takes only multiples of 100 there; an older fractional
    amount is rounded half-even to the whole unit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(field, "Must be a non-negative integer.")
    if currency in STRIPE_HUNDREDTHS:
        return int((Decimal(value) / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return value


def stripe(p: dict[str, Any], brand: dict[str, Any]) -> list[Event]:
    kind = p.get("type")
    obj = _obj((_obj(p.get("data"), "data")).get("object"), "data.object")
    if kind in STRIPE_PAID_SESSION:
        if obj.get("payment_status") != "paid":
            return []  # paid later: checkout.session.async_payment_succeeded
        currency = currency_code(obj.get("currency"), "data.object.currency")
        amount = _stripe_amount(obj.get("amount_total"), currency, "data.object.amount_total")
        metadata = obj.get("metadata") or {}
        names = (brand["click_param"], "tid")
        clicks = [c for c in [_str(obj.get("client_reference_id"))] + [_str(metadata.get(n)) for n in names] if c]
        # The payment intent names the order, so charge.refunded (which knows only it) finds it.
        order_id = _id(obj.get("payment_intent") or obj.get("id"), "data.object.id")
        occurred = _time(obj.get("created", p.get("created")), "data.object.created")
        customer = _str(obj.get("customer"))
        return [Order("stripe", order_id, amount, currency, occurred, clicks, [], None, customer)]
    if kind == "charge.refunded":
        currency = currency_code(obj.get("currency"), "data.object.currency")
        order_id = _id(obj.get("payment_intent") or obj.get("id"), "data.object.payment_intent")
        when = _time(p.get("created"), "created")
        listed = ((obj.get("refunds") or {}).get("data")) or []
        if listed:
            return [
                Refund("stripe", order_id, _id(x.get("id"), "refunds.id"),
                       _stripe_amount(x.get("amount") or 0, currency, "refunds.amount"), currency, when)
                for x in listed
                if isinstance(x, dict) and x.get("status") in ("succeeded", "pending", None)
            ]  # fmt: skip
        total = _stripe_amount(obj.get("amount_refunded"), currency, "data.object.amount_refunded")
        # Without the refund list, the charge's cumulative refunded amount stands for all of them.
        return [Refund("stripe", order_id, f"{_id(obj.get('id'), 'data.object.id')}:total", total, currency, when)]
    return []


def postback(args: dict[str, str]) -> Order:
    """Affiliate-network postback: amounts in major units (`amount=49.90`), as networks send them."""
    currency = currency_code(args.get("currency"))
    amount = to_minor(args.get("amount"), currency)
    clicks = [args["tid"]] if args.get("tid") else []
    occurred = _time(args["occurred_at"], "occurred_at") if args.get("occurred_at") else datetime.now(UTC)
    return Order("postback", _id(args.get("order_id"), "order_id"), amount, currency, occurred, clicks, [], None,
                 _str(args.get("customer_id")))  # fmt: skip


def is_woo_ping(body: bytes, content_type: str) -> bool:
    """WooCommerce's unsigned ping when a webhook is saved: a form body `webhook_id=<n>`."""
    if "application/x-www-form-urlencoded" not in content_type or len(body) > 100:
        return False
    form = parse_qs(body.decode("ascii", "replace"))
    return list(form) == ["webhook_id"] and form["webhook_id"][0].isdigit()
