"""Realistic, correctly signed order/refund webhooks from Shopify, WooCommerce, Stripe and the generic format.

Every builder returns ``(body_bytes, headers)`` ready for ``requests.post(url, data=body, headers=headers)``.
Bodies are serialized the way each platform serializes them (the signature covers those exact bytes):

- generic: compact JSON, signed ``X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
- Shopify: compact JSON, keys sorted (as modern API versions deliver them), raw UTF-8; the shop-local
  times carry a UTC offset; ``X-Shopify-Hmac-Sha256`` is base64 HMAC-SHA256 of the raw body
  (shopify.dev "Webhooks delivery structure", shopify-api-js ``lib/webhooks``).
- WooCommerce: ``wp_json_encode`` output, i.e. compact JSON with ``\\/`` and ``\\uXXXX`` escapes; dates have no
  offset (``date_*`` in the site's timezone, ``date_*_gmt`` in UTC); ``X-WC-Webhook-Signature`` is base64
  HMAC-SHA256 of the raw body (woocommerce ``includes/class-wc-webhook.php``, ``deliver()`` and
  ``generate_signature()``).
- Stripe: pretty-printed JSON (2-space indent), ``Stripe-Signature: t=<t>,v1=<hex HMAC-SHA256>`` over
  ``"<t>.<payload>"`` keyed with the ``whsec_...`` string as-is (stripe-python ``_webhook.py``,
  ``WebhookSignature._compute_signature`` / ``generate_signature_header``).

Ids the caller passes are used verbatim; every other id inside a body is derived from the caller's values (so
the same arguments give the same body), while per-delivery ids in headers (webhook/event/delivery ids) are random
unless given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as _secrets
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

SHOPIFY_SHOP_DOMAIN = "tracker-test-shop.myshopify.com"
SHOPIFY_API_VERSION = "2025-07"
SHOPIFY_SHOP_OFFSET = timezone(timedelta(hours=-5))  # the shop's timezone (America/New_York, winter)

WOO_SITE_URL = "https://shop.example.com/"  # home_url('/'): always with the trailing slash
WOO_USER_AGENT = "WooCommerce/8.9.3 Hookshot (WordPress/6.5.5)"
WOO_SITE_OFFSET = timezone(timedelta(hours=1))  # the WordPress site's timezone (Europe/Amsterdam, winter)

STRIPE_API_VERSION = "2025-03-31.basil"
STRIPE_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------------------------------------------
# helpers


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def _derive_int(*parts: object, digits: int = 13) -> int:
    """A stable positive integer of exactly ``digits`` digits, derived from ``parts``."""
    low = 10 ** (digits - 1)
    return low + int.from_bytes(_digest(*parts), "big") % (9 * low)


def _derive_token(*parts: object, length: int = 24, alphabet: str = _B62) -> str:
    """A stable token over ``alphabet``, derived from ``parts``."""
    n = int.from_bytes(_digest(*parts) + _digest("more", *parts), "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def _derive_hex(*parts: object, length: int = 32) -> str:
    return (_digest(*parts) + _digest("more", *parts)).hex()[:length]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _as_utc(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso_z(value: datetime) -> str:
    """``2026-11-26T09:43:34Z``."""
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _places(amount: str) -> int:
    exponent = Decimal(amount).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 2


def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _json_compact(payload: Any, *, sort_keys: bool = False) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys).encode("utf-8")


# --------------------------------------------------------------------------------------------------------------
# generic format


def generic_signature(secrets: list[str], body: bytes, t: int) -> str:
    """``t=<t>,v1=<hex>,v1=<hex>...``: one v1 entry per secret (secret rotation), HMAC-SHA256 of ``b"<t>." + body``."""
    message = f"{t}.".encode() + body
    return ",".join([f"t={t}", *(f"v1={_hmac_sha256(s, message).hex()}" for s in secrets)])


def _generic(secret: str, payload: dict[str, Any], t: int | None) -> tuple[bytes, dict[str, str]]:
    body = _json_compact({k: v for k, v in payload.items() if v is not None})
    t = int(time.time()) if t is None else t
    return body, {"Content-Type": "application/json", "X-Signature": generic_signature([secret], body, t)}


def _occurred(value: datetime | str | None) -> str:
    return value if isinstance(value, str) else _iso_z(_as_utc(value))


def generic_order(
    secret: str,
    *,
    order_id: str,
    amount: int,
    currency: str,
    occurred_at: datetime | str | None = None,
    click_id: str | None = None,
    discount_code: str | None = None,
    landing_url: str | None = None,
    customer_id: str | None = None,
    t: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The tracker's own order format: amount in integer minor units, ``occurred_at`` ISO 8601 UTC (default now).

    A ``str`` ``occurred_at`` is sent verbatim (for malformed-input tests); None-valued keys are omitted.
    """
    payload = {
        "type": "order",
        "order_id": order_id,
        "amount": amount,
        "currency": currency,
        "occurred_at": _occurred(occurred_at),
        "click_id": click_id,
        "discount_code": discount_code,
        "landing_url": landing_url,
        "customer_id": customer_id,
    }
    return _generic(secret, payload, t)


def generic_refund(
    secret: str,
    *,
    order_id: str,
    refund_id: str,
    amount: int,
    currency: str,
    occurred_at: datetime | str | None = None,
    t: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The tracker's own refund format (``"type": "refund"``), signed like :func:`generic_order`."""
    payload = {
        "type": "refund",
        "order_id": order_id,
        "refund_id": refund_id,
        "amount": amount,
        "currency": currency,
        "occurred_at": _occurred(occurred_at),
    }
    return _generic(secret, payload, t)


# --------------------------------------------------------------------------------------------------------------
# Shopify


def shopify_hmac(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 of the raw body, keyed with the app's client secret."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode("ascii")


def _shopify_time(value: datetime | str | None) -> tuple[str, datetime]:
    """(shop-local ISO time with offset, the UTC instant), e.g. ``2026-11-26T04:43:34-05:00``."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value, _as_utc(parsed)
    instant = _as_utc(value)
    return instant.astimezone(SHOPIFY_SHOP_OFFSET).isoformat(timespec="seconds"), instant


def _shopify_triggered_at() -> str:
    """``X-Shopify-Triggered-At`` as Shopify sends it: UTC with nanoseconds, ``2024-08-03T18:28:37.234647458Z``."""
    ns = time.time_ns()
    seconds, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _money_set(amount: str, currency: str) -> dict[str, dict[str, str]]:
    money = {"amount": amount, "currency_code": currency}
    return {"shop_money": dict(money), "presentment_money": dict(money)}


def _shopify_headers(
    secret: str, body: bytes, topic: str, shop_domain: str, webhook_id: str | None, extra: dict[str, str]
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "Accept": "*/*",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_hmac(secret, body),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": SHOPIFY_API_VERSION,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": _shopify_triggered_at(),
        "X-Shopify-Test": "false",
        **extra,
    }


def _shopify_address(first: str, last: str) -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "company": None,
        "address1": "350 Fifth Avenue",
        "address2": None,
        "city": "New York",
        "province": "New York",
        "province_code": "NY",
        "country": "United States",
        "country_code": "US",
        "zip": "10118",
        "phone": None,
        "latitude": 40.7484405,
        "longitude": -73.9856644,
    }


def shopify_order(
    secret: str,
    *,
    order_id: int,
    total: str,
    currency: str,
    landing_site: str | None = None,
    note_attributes: dict[str, str] | None = None,
    discount_codes: list[str] | None = None,
    topic: str = "orders/paid",
    webhook_id: str | None = None,
    created_at: datetime | str | None = None,
    referring_site: str | None = None,
    shop_domain: str = SHOPIFY_SHOP_DOMAIN,
) -> tuple[bytes, dict[str, str]]:
    """An ``orders/paid`` (or ``orders/create``/``orders/updated`` via ``topic``) delivery.

    Follows the REST Order resource as delivered by Shopify webhooks (shopify.dev webhooks reference,
    ``orders/paid`` example). ``total`` is the order's ``total_price`` string; tax (8%, excluded from prices)
    and one fixed-amount discount per code (10% of the subtotal each) are carved out of it so that
    ``total_price == subtotal_price + total_tax`` and ``subtotal_price == total_line_items_price -
    total_discounts``. ``landing_site`` is the path+query the buyer first landed on (Shopify keeps it
    relative, e.g. ``/products/hoodie?ref=anna``); ``landing_site_ref`` is its ``ref``/``source`` param.
    """
    places = _places(total)
    total_d = _q(Decimal(total), places)
    subtotal_d = _q(total_d / Decimal("1.08"), places)
    tax_d = total_d - subtotal_d
    codes = list(discount_codes or [])
    code_amounts = [_q(subtotal_d * Decimal("0.10"), places) for _ in codes]
    discounts_d = sum(code_amounts, Decimal(0))
    line_items_d = subtotal_d + discounts_d
    zero = str(_q(Decimal(0), places))
    s_total, s_subtotal, s_tax, s_discounts, s_items = map(str, (total_d, subtotal_d, tax_d, discounts_d, line_items_d))

    created, instant = _shopify_time(created_at)
    processed = created
    updated = (
        created
        if isinstance(created_at, str)
        else (instant + timedelta(seconds=3)).astimezone(SHOPIFY_SHOP_OFFSET).isoformat(timespec="seconds")
    )

    order_number = 1001 + order_id % 9000
    customer_id = _derive_int("shopify-customer", order_id)
    line_item_id = _derive_int("shopify-line-item", order_id, digits=14)
    product_id = _derive_int("shopify-product", digits=13)
    variant_id = _derive_int("shopify-variant", digits=14)
    token = _derive_hex("shopify-order-token", order_id)
    email = f"buyer{order_id % 100000}@example.com"
    landing_ref = None
    if landing_site:
        query = parse_qs(urlsplit(landing_site).query)
        landing_ref = (query.get("ref") or query.get("source") or [None])[0]

    discount_applications = [
        {
            "allocation_method": "across",
            "code": code,
            "target_selection": "all",
            "target_type": "line_item",
            "type": "discount_code",
            "value": str(amount),
            "value_type": "fixed_amount",
        }
        for code, amount in zip(codes, code_amounts, strict=True)
    ]
    line_item = {
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_item_id}",
        "attributed_staffs": [],
        "current_quantity": 1,
        "discount_allocations": [
            {"amount": str(amount), "amount_set": _money_set(str(amount), currency), "discount_application_index": i}
            for i, amount in enumerate(code_amounts)
        ],
        "duties": [],
        "fulfillable_quantity": 1,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": 450,
        "id": line_item_id,
        "name": "Crème Fleece Hoodie - M",
        "price": s_items,
        "price_set": _money_set(s_items, currency),
        "product_exists": True,
        "product_id": product_id,
        "properties": [],
        "quantity": 1,
        "requires_shipping": True,
        "sku": "HOOD-CRM-M",
        "tax_lines": [
            {
                "channel_liable": False,
                "price": s_tax,
                "price_set": _money_set(s_tax, currency),
                "rate": 0.08,
                "title": "NY State Tax",
            }
        ],
        "taxable": True,
        "title": "Crème Fleece Hoodie",
        "total_discount": zero,
        "total_discount_set": _money_set(zero, currency),
        "variant_id": variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": "M",
        "vendor": "Tracker Test Shop",
    }
    customer = {
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "created_at": created,
        "currency": currency,
        "default_address": {
            **_shopify_address("Zoë", "Martin"),
            "id": _derive_int("shopify-address", customer_id),
            "customer_id": customer_id,
            "country_name": "United States",
            "default": True,
        },
        "email": email,
        "email_marketing_consent": {
            "consent_updated_at": None,
            "opt_in_level": "single_opt_in",
            "state": "not_subscribed",
        },
        "first_name": "Zoë",
        "id": customer_id,
        "last_name": "Martin",
        "multipass_identifier": None,
        "note": None,
        "phone": None,
        "sms_marketing_consent": None,
        "state": "disabled",
        "tags": "",
        "tax_exempt": False,
        "tax_exemptions": [],
        "updated_at": updated,
        "verified_email": True,
    }
    order = {
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": 580111,
        "billing_address": _shopify_address("Zoë", "Martin"),
        "browser_ip": "203.0.113.42",
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": _derive_token("shopify-cart", order_id, length=32),
        "checkout_id": _derive_int("shopify-checkout", order_id, digits=14),
        "checkout_token": _derive_hex("shopify-checkout-token", order_id),
        "client_details": {
            "accept_language": "en-US",
            "browser_height": None,
            "browser_ip": "203.0.113.42",
            "browser_width": None,
            "session_hash": None,
            "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        },
        "closed_at": None,
        "company": None,
        "confirmation_number": _derive_token("shopify-confirmation", order_id, length=9, alphabet=_B62[10:36]),
        "confirmed": True,
        "contact_email": email,
        "created_at": created,
        "currency": currency,
        "current_subtotal_price": s_subtotal,
        "current_subtotal_price_set": _money_set(s_subtotal, currency),
        "current_total_additional_fees_set": None,
        "current_total_discounts": s_discounts,
        "current_total_discounts_set": _money_set(s_discounts, currency),
        "current_total_duties_set": None,
        "current_total_price": s_total,
        "current_total_price_set": _money_set(s_total, currency),
        "current_total_tax": s_tax,
        "current_total_tax_set": _money_set(s_tax, currency),
        "customer": customer,
        "customer_locale": "en-US",
        "device_id": None,
        "discount_applications": discount_applications,
        "discount_codes": [
            {"amount": str(amount), "code": code, "type": "fixed_amount"}
            for code, amount in zip(codes, code_amounts, strict=True)
        ],
        "duties_included": False,
        "email": email,
        "estimated_taxes": False,
        "financial_status": "paid",
        "fulfillment_status": None,
        "fulfillments": [],
        "id": order_id,
        "landing_site": landing_site,
        "landing_site_ref": landing_ref,
        "line_items": [line_item],
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": f"#{order_number}",
        "note": None,
        "note_attributes": [{"name": k, "value": v} for k, v in (note_attributes or {}).items()],
        "number": order_number - 1000,
        "order_number": order_number,
        "order_status_url": f"https://{shop_domain}/{_derive_int('shopify-shop', shop_domain, digits=11)}"
        f"/orders/{token}/authenticate?key={_derive_hex('shopify-status-key', order_id)}",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["shopify_payments"],
        "payment_terms": None,
        "phone": None,
        "po_number": None,
        "presentment_currency": currency,
        "processed_at": processed,
        "reference": None,
        "referring_site": referring_site,
        "refunds": [],
        "shipping_address": _shopify_address("Zoë", "Martin"),
        "shipping_lines": [],
        "source_identifier": None,
        "source_name": "web",
        "source_url": None,
        "subtotal_price": s_subtotal,
        "subtotal_price_set": _money_set(s_subtotal, currency),
        "tags": "",
        "tax_exempt": False,
        "tax_lines": [
            {
                "channel_liable": False,
                "price": s_tax,
                "price_set": _money_set(s_tax, currency),
                "rate": 0.08,
                "title": "NY State Tax",
            }
        ],
        "taxes_included": False,
        "test": False,
        "token": token,
        "total_discounts": s_discounts,
        "total_discounts_set": _money_set(s_discounts, currency),
        "total_line_items_price": s_items,
        "total_line_items_price_set": _money_set(s_items, currency),
        "total_outstanding": zero,
        "total_price": s_total,
        "total_price_set": _money_set(s_total, currency),
        "total_shipping_price_set": _money_set(zero, currency),
        "total_tax": s_tax,
        "total_tax_set": _money_set(s_tax, currency),
        "total_tip_received": zero,
        "total_weight": 450,
        "updated_at": updated,
        "user_id": None,
    }
    body = _json_compact(order, sort_keys=True)
    extra = {"X-Shopify-Order-Id": str(order_id)} if topic.startswith("orders/") else {}
    return body, _shopify_headers(secret, body, topic, shop_domain, webhook_id, extra)


def shopify_refund(
    secret: str,
    *,
    refund_id: int,
    order_id: int,
    amount: str,
    currency: str,
    webhook_id: str | None = None,
    created_at: datetime | str | None = None,
    shop_domain: str = SHOPIFY_SHOP_DOMAIN,
) -> tuple[bytes, dict[str, str]]:
    """A ``refunds/create`` delivery for an amount-only refund (no items returned).

    Follows the REST Refund resource (shopify.dev ``refunds/create`` example and real deliveries): the money
    actually returned is in ``transactions[]`` (``kind "refund"``, ``status "success"``, positive ``amount``
    string); ``refund_line_items`` is empty and, as Shopify does for amount-only refunds, the difference is
    booked as an ``order_adjustments[]`` entry of kind ``refund_discrepancy`` with a NEGATIVE amount.
    """
    created, _ = _shopify_time(created_at)
    places = _places(amount)
    amount_d = _q(Decimal(amount), places)
    s_amount = str(amount_d)
    s_neg = str(-amount_d)
    zero = str(_q(Decimal(0), places))
    transaction_id = _derive_int("shopify-refund-transaction", refund_id)
    user_id = _derive_int("shopify-staff", shop_domain, digits=11)
    refund = {
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "created_at": created,
        "duties": [],
        "id": refund_id,
        "note": "Customer changed their mind",
        "order_adjustments": [
            {
                "amount": s_neg,
                "amount_set": _money_set(s_neg, currency),
                "id": _derive_int("shopify-order-adjustment", refund_id, digits=12),
                "kind": "refund_discrepancy",
                "order_id": order_id,
                "reason": "Refund discrepancy",
                "refund_id": refund_id,
                "tax_amount": zero,
                "tax_amount_set": _money_set(zero, currency),
            }
        ],
        "order_id": order_id,
        "processed_at": created,
        "refund_line_items": [],
        "refund_shipping_lines": [],
        "restock": False,
        "return": None,
        "total_duties_set": _money_set(zero, currency),
        "transactions": [
            {
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
                "amount": s_amount,
                "authorization": "re_" + _derive_token("shopify-stripe-refund", refund_id),
                "created_at": created,
                "currency": currency,
                "device_id": None,
                "error_code": None,
                "gateway": "shopify_payments",
                "id": transaction_id,
                "kind": "refund",
                "location_id": None,
                "message": "Transaction approved",
                "order_id": order_id,
                "parent_id": _derive_int("shopify-sale-transaction", order_id),
                "payment_details": {
                    "avs_result_code": None,
                    "buyer_action_info": None,
                    "credit_card_bin": "424242",
                    "credit_card_company": "Visa",
                    "credit_card_expiration_month": 12,
                    "credit_card_expiration_year": 2030,
                    "credit_card_name": "Zoë Martin",
                    "credit_card_number": "•••• •••• •••• 4242",
                    "credit_card_wallet": None,
                    "cvv_result_code": None,
                    "payment_method_name": "visa",
                },
                "payment_id": f"#{1001 + order_id % 9000}.2",
                "payments_refund_attributes": {"acquirer_reference_number": None, "status": "success"},
                "processed_at": created,
                "receipt": {},
                "source_name": "1830279",
                "status": "success",
                "test": False,
                "total_unsettled_set": {
                    "presentment_money": {"amount": "0.0", "currency": currency},
                    "shop_money": {"amount": "0.0", "currency": currency},
                },
                "user_id": user_id,
            }
        ],
        "user_id": user_id,
    }
    body = _json_compact(refund, sort_keys=True)
    return body, _shopify_headers(secret, body, "refunds/create", shop_domain, webhook_id, {})


# --------------------------------------------------------------------------------------------------------------
# WooCommerce


def woo_signature(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 of HMAC-SHA256 of the raw body (``WC_Webhook::generate_signature``).

    Woo keys the HMAC with ``wp_specialchars_decode(secret, ENT_QUOTES)``; that is the secret itself unless it
    contains HTML entities such as ``&amp;``.
    """
    return base64.b64encode(_hmac_sha256(secret, body)).decode("ascii")


def _wp_json_encode(payload: Any) -> bytes:
    """PHP ``json_encode`` with default flags, as ``wp_json_encode`` calls it: ``\\/`` and ``\\uXXXX`` escapes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode("ascii")


def _woo_dates(instant: datetime | None) -> tuple[str | None, str | None]:
    """(site-local, GMT) in WooCommerce's REST format: ``YYYY-MM-DDTHH:MM:SS``, no offset."""
    if instant is None:
        return None, None
    fmt = "%Y-%m-%dT%H:%M:%S"
    return instant.astimezone(WOO_SITE_OFFSET).strftime(fmt), instant.astimezone(UTC).strftime(fmt)


def _wc_decimal(value: Decimal) -> str:
    return str(_q(value, 2))


def woo_order(
    secret: str,
    *,
    order_id: int,
    total: str,
    currency: str,
    status: str = "processing",
    meta: dict[str, Any] | None = None,
    coupons: list[str] | None = None,
    refunds: list[tuple[int, str]] | None = None,
    topic: str = "order.created",
    delivery_id: str | None = None,
    webhook_id: int = 7,
    created_at: datetime | None = None,
    source: str = WOO_SITE_URL,
) -> tuple[bytes, dict[str, str]]:
    """An ``order.created``/``order.updated`` delivery: the WooCommerce REST API v3 order object.

    Follows ``GET /wp-json/wc/v3/orders/<id>`` (woocommerce-rest-api-docs ``_orders.md``;
    ``WC_REST_Orders_V2_Controller::get_formatted_item_data``). ``total`` is the order total (it stays the
    original total after refunds); each coupon takes 10% of it (``coupon_lines[].discount``, summed into
    ``discount_total``); ``meta`` becomes ``meta_data [{"id","key","value"}]``; ``refunds`` ``[(id, "10.00")]``
    become ``refunds [{"id","reason","total": "-10.00"}]`` (Woo lists refunds with NEGATIVE totals).
    Dates: ``date_*`` in the site's timezone (UTC+1) and ``date_*_gmt`` in UTC, neither with an offset.
    """
    total_d = _q(Decimal(total), 2)
    codes = list(coupons or [])
    coupon_amounts = [_q(total_d * Decimal("0.10"), 2) for _ in codes]
    discount_d = sum(coupon_amounts, Decimal(0))
    items_subtotal = total_d + discount_d
    instant = _as_utc(created_at)
    paid_at = instant + timedelta(seconds=4) if status in {"processing", "completed", "refunded"} else None
    completed_at = instant + timedelta(hours=20) if status == "completed" else None
    modified_at = completed_at or paid_at or instant
    date_created, date_created_gmt = _woo_dates(instant)
    date_modified, date_modified_gmt = _woo_dates(modified_at)
    date_paid, date_paid_gmt = _woo_dates(paid_at)
    date_completed, date_completed_gmt = _woo_dates(completed_at)
    customer_id = 10 + order_id % 4000
    order_key = "wc_order_" + _derive_token("woo-order-key", source, order_id, length=13)
    item_id = 100 + order_id % 9000 * 3
    price = float(items_subtotal)
    address = {
        "first_name": "Zoë",
        "last_name": "de Vries",
        "company": "",
        "address_1": "Prinsengracht 263",
        "address_2": "",
        "city": "Amsterdam",
        "state": "",
        "postcode": "1016 GV",
        "country": "NL",
    }
    order = {
        "id": order_id,
        "parent_id": 0,
        "status": status,
        "currency": currency,
        "version": WOO_USER_AGENT.split("/")[1].split()[0],
        "prices_include_tax": False,
        "date_created": date_created,
        "date_modified": date_modified,
        "discount_total": _wc_decimal(discount_d),
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": _wc_decimal(total_d),
        "total_tax": "0.00",
        "customer_id": customer_id,
        "order_key": order_key,
        "billing": {**address, "email": f"customer{customer_id}@example.com", "phone": "+31 20 555 0123"},
        "shipping": {**address, "phone": ""},
        "payment_method": "stripe",
        "payment_method_title": "Credit Card (Stripe)",
        "transaction_id": "pi_" + _derive_token("woo-stripe-pi", source, order_id) if paid_at else "",
        "customer_ip_address": "198.51.100.23",
        "customer_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "created_via": "checkout",
        "customer_note": "",
        "date_completed": date_completed,
        "date_paid": date_paid,
        "cart_hash": _derive_hex("woo-cart-hash", source, order_id),
        "number": str(order_id),
        "meta_data": [
            {"id": _derive_int("woo-meta", source, order_id, key, digits=5), "key": key, "value": value}
            for key, value in (meta or {}).items()
        ],
        "line_items": [
            {
                "id": item_id,
                "name": "Canvas Tote Bag - Natural",
                "product_id": 58,
                "variation_id": 61,
                "quantity": 1,
                "tax_class": "",
                "subtotal": _wc_decimal(items_subtotal),
                "subtotal_tax": "0.00",
                "total": _wc_decimal(total_d),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [
                    {
                        "id": item_id * 10 + 1,
                        "key": "pa_color",
                        "value": "natural",
                        "display_key": "Color",
                        "display_value": "Natural",
                    }
                ],
                "sku": "TOTE-NAT",
                "price": int(price) if price.is_integer() else price,
                "image": {"id": "62", "src": f"{source}wp-content/uploads/2024/05/tote-natural.jpg"},
                "parent_name": "Canvas Tote Bag",
            }
        ],
        "tax_lines": [],
        "shipping_lines": [
            {
                "id": item_id + 1,
                "method_title": "Free shipping",
                "method_id": "free_shipping",
                "instance_id": "2",
                "total": "0.00",
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [
                    {
                        "id": item_id * 10 + 2,
                        "key": "Items",
                        "value": "Canvas Tote Bag - Natural &times; 1",
                        "display_key": "Items",
                        "display_value": "Canvas Tote Bag - Natural &times; 1",
                    }
                ],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [
            {
                "id": item_id + 2 + i,
                "code": code,
                "discount": _wc_decimal(amount),
                "discount_tax": "0.00",
                "meta_data": [],
                "discount_type": "fixed_cart",
                "nominal_amount": float(amount),
                "free_shipping": False,
            }
            for i, (code, amount) in enumerate(zip(codes, coupon_amounts, strict=True))
        ],
        "refunds": [
            {"id": rid, "reason": "", "total": "-" + _wc_decimal(Decimal(str(rtotal).lstrip("-")))}
            for rid, rtotal in (refunds or [])
        ],
        "payment_url": f"{source}checkout/order-pay/{order_id}/?pay_for_order=true&key={order_key}",
        "is_editable": status in {"pending", "on-hold"},
        "needs_payment": status in {"pending", "failed"},
        "needs_processing": True,
        "date_created_gmt": date_created_gmt,
        "date_modified_gmt": date_modified_gmt,
        "date_completed_gmt": date_completed_gmt,
        "date_paid_gmt": date_paid_gmt,
        "currency_symbol": {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency),
        "_links": {
            "self": [{"href": f"{source}wp-json/wc/v3/orders/{order_id}"}],
            "collection": [{"href": f"{source}wp-json/wc/v3/orders"}],
            "customer": [{"href": f"{source}wp-json/wc/v3/customers/{customer_id}"}],
        },
    }
    body = _wp_json_encode(order)
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WOO_USER_AGENT,
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": woo_signature(secret, body),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id or _secrets.token_hex(16),
    }
    return body, headers


def woo_ping(webhook_id: int = 7) -> tuple[bytes, dict[str, str]]:
    """The test ping WooCommerce POSTs when a webhook is created/activated (``WC_Webhook::deliver_ping``).

    It is ``wp_safe_remote_post(url, {user-agent, body: 'webhook_id=<id>'})``: form-encoded (libcurl's default
    Content-Type for a string body), NO signature and NO ``X-WC-Webhook-*`` headers at all. Woo disables the
    webhook unless this gets a 200.
    """
    return f"webhook_id={webhook_id}".encode("ascii"), {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": WOO_USER_AGENT,
    }


# --------------------------------------------------------------------------------------------------------------
# Stripe


def stripe_signature(secret: str, payload: bytes, t: int) -> str:
    """``Stripe-Signature`` value ``t=<t>,v1=<hex>``: HMAC-SHA256 of ``"<t>.<payload>"``, the ``whsec_...`` string
    itself (UTF-8) as the key, exactly as ``stripe.WebhookSignature.generate_signature_header`` computes it."""
    return f"t={t},v1={_hmac_sha256(secret, f'{t}.'.encode() + payload).hex()}"


def _stripe_delivery(secret: str, event: dict[str, Any], t: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, indent=2, ensure_ascii=False).encode("utf-8")
    return body, {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": STRIPE_USER_AGENT,
        "Accept": "*/*; q=0.5, application/xml",
        "Cache-Control": "no-cache",
        "Stripe-Signature": stripe_signature(secret, body, t),
    }


def _stripe_event(
    type_: str, obj: dict[str, Any], t: int, event_id: str | None, livemode: bool, request: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id or "evt_" + "".join(_secrets.choice(_B62) for _ in range(24)),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": t,
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": request,
        "type": type_,
    }


def stripe_checkout_completed(
    secret: str,
    *,
    session_id: str,
    amount_total: int,
    currency: str,
    client_reference_id: str | None = None,
    metadata: dict[str, str] | None = None,
    payment_intent: str | None = None,
    t: int | None = None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A ``checkout.session.completed`` Event whose ``data.object`` is a Checkout Session (``mode "payment"``).

    Follows Stripe's Event and Checkout Session objects (docs.stripe.com/api/events,
    docs.stripe.com/api/checkout/sessions/object). Amounts are integer minor units, ``currency`` is sent
    lowercase; ``livemode`` follows the session id (``cs_live_`` vs ``cs_test_``).
    """
    t = int(time.time()) if t is None else t
    livemode = session_id.startswith("cs_live_")
    created = t - 95
    session = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://shop.example.com/cart",
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": {"shipping_details": None},
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency.lower(),
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": "cus_" + _derive_token("stripe-customer", session_id, length=14),
        "customer_creation": "always",
        "customer_details": {
            "address": {
                "city": None,
                "country": "US",
                "line1": None,
                "line2": None,
                "postal_code": "94107",
                "state": None,
            },
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "discounts": [],
        "expires_at": created + 86400,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": livemode,
        "locale": None,
        "metadata": dict(metadata or {}),
        "mode": "payment",
        "payment_intent": payment_intent or "pi_" + _derive_token("stripe-payment-intent", session_id),
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": None,
        "subscription": None,
        "success_url": "https://shop.example.com/thanks?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }
    request = {"id": None, "idempotency_key": None}
    return _stripe_delivery(
        secret, _stripe_event("checkout.session.completed", session, t, event_id, livemode, request), t
    )


def stripe_charge_refunded(
    secret: str,
    *,
    charge_id: str,
    payment_intent: str,
    amount: int,
    amount_refunded: int,
    currency: str,
    refunds: list[tuple[str, int]] | None = None,
    t: int | None = None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A ``charge.refunded`` Event whose ``data.object`` is the Charge after the refund.

    Follows Stripe's Charge and Refund objects (docs.stripe.com/api/charges/object, /api/refunds/object).
    ``amount_refunded`` is cumulative; ``refunded`` is true only once the whole ``amount`` is refunded. Since
    API version 2022-11-15 a Charge no longer embeds ``refunds``, so that list is only included when
    ``refunds`` ``[(re_id, amount), ...]`` is given (put the newest first, as Stripe lists do); then
    ``data.previous_attributes`` records the ``amount_refunded`` before the newest one.
    """
    t = int(time.time()) if t is None else t
    cur = currency.lower()
    created = t - 3 * 86400
    charge: dict[str, Any] = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": "txn_" + _derive_token("stripe-charge-txn", charge_id),
        "billing_details": {
            "address": {
                "city": None,
                "country": "US",
                "line1": None,
                "line2": None,
                "postal_code": "94107",
                "state": None,
            },
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "TRACKER TEST SHOP",
        "captured": True,
        "created": created,
        "currency": cur,
        "customer": "cus_" + _derive_token("stripe-customer", payment_intent, length=14),
        "description": None,
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "order": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method": "pm_" + _derive_token("stripe-payment-method", charge_id),
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "brand": "visa",
                "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
                "country": "US",
                "exp_month": 12,
                "exp_year": 2030,
                "fingerprint": _derive_token("stripe-card-fingerprint", length=16),
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "radar_options": {},
        "receipt_email": "jenny.rosen@example.com",
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/"
        + _derive_token("stripe-receipt", charge_id, length=40)
        + "?s=ap",
        "refunded": amount_refunded >= amount,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    event_data_extra: dict[str, Any] = {}
    if refunds is not None:
        charge["refunds"] = {
            "object": "list",
            "data": [
                {
                    "id": rid,
                    "object": "refund",
                    "amount": ramount,
                    "balance_transaction": "txn_" + _derive_token("stripe-refund-txn", rid),
                    "charge": charge_id,
                    "created": t - 2 - i * 3600,
                    "currency": cur,
                    "destination_details": {"card": {"reference_status": "pending", "type": "refund"}, "type": "card"},
                    "metadata": {},
                    "payment_intent": payment_intent,
                    "reason": "requested_by_customer",
                    "receipt_number": None,
                    "source_transfer_reversal": None,
                    "status": "succeeded",
                    "transfer_reversal": None,
                }
                for i, (rid, ramount) in enumerate(refunds)
            ],
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{charge_id}/refunds",
        }
        if refunds:
            previous: dict[str, Any] = {"amount_refunded": amount_refunded - refunds[0][1]}
            if charge["refunded"] and previous["amount_refunded"] < amount:
                previous["refunded"] = False
            event_data_extra["previous_attributes"] = previous
    request = {
        "id": "req_" + _derive_token("stripe-request", charge_id, amount_refunded, length=14),
        "idempotency_key": str(
            uuid.UUID(bytes=_digest("stripe-idempotency", charge_id, amount_refunded)[:16], version=4)
        ),
    }
    event = _stripe_event("charge.refunded", charge, t, event_id, False, request)
    event["data"].update(event_data_extra)
    return _stripe_delivery(secret, event, t)
