"""Native order webhooks of Shopify, WooCommerce and Stripe, signed as each platform signs them."""

from __future__ import annotations

import json

import pytest
import requests

from tests import platforms
from tests.test_conversions import Shop
from tracker import keys


@pytest.fixture
def shop(api, server, visitor) -> Shop:
    return Shop(api, server, visitor)


def outcome(resp: requests.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [e["outcome"] for e in resp.json()["events"]]


# -- Shopify --------------------------------------------------------------------------------
def test_shopify_order_attributed_by_the_click_id_in_landing_site(shop):
    tid = shop.click()
    signed = platforms.shopify_order(
        shop.secrets["shopify"], order_id=5_501_234_567_890, total="129.95", currency="USD",
        landing_site=f"/products/runner?utm_source=jane&tid={tid}", discount_codes=["JANE10"],
    )  # fmt: skip
    conv = shop.conversion(shop.post("shopify", signed))
    assert (conv["source"], conv["order_id"], conv["amount"], conv["currency"]) == (
        "shopify",
        "5501234567890",
        12995,
        "USD",
    )
    assert conv["attribution"]["matched_by"] == "click_id" and conv["attribution"]["click"]["id"] == tid


def test_shopify_falls_back_to_note_attributes_then_discount_codes(shop):
    tid = shop.click()
    by_note = platforms.shopify_order(
        shop.secrets["shopify"], order_id=1001, total="10.00", currency="USD", note_attributes={"tid": tid}
    )
    assert shop.conversion(shop.post("shopify", by_note))["attribution"]["click"]["id"] == tid
    by_code = platforms.shopify_order(
        shop.secrets["shopify"], order_id=1002, total="10.00", currency="USD", discount_codes=["jane10"]
    )
    assert shop.conversion(shop.post("shopify", by_code))["attribution"]["matched_by"] == "discount_code"


def test_shopify_amounts_are_the_shop_currency_totals_with_their_exponent(shop):
    jpy = platforms.shopify_order(shop.secrets["shopify"], order_id=2001, total="12800", currency="JPY")
    assert shop.conversion(shop.post("shopify", jpy))["amount"] == 12800
    kwd = platforms.shopify_order(shop.secrets["shopify"], order_id=2002, total="12.345", currency="KWD")
    assert shop.conversion(shop.post("shopify", kwd))["amount"] == 12345


def test_shopify_redelivery_of_a_webhook_id_changes_nothing(shop, r):
    signed = platforms.shopify_order(shop.secrets["shopify"], order_id=3001, total="50.00", currency="USD")
    assert outcome(shop.post("shopify", signed)) == ["recorded"]
    again = shop.post("shopify", signed)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    other_delivery = platforms.shopify_order(shop.secrets["shopify"], order_id=3001, total="50.00", currency="USD")
    assert outcome(shop.post("shopify", other_delivery)) == ["duplicate"]  # same order id, new webhook id
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 1


def test_shopify_event_sent_to_two_subscriptions_is_handled_once(shop):
    body, headers = platforms.shopify_order(shop.secrets["shopify"], order_id=3501, total="5.00", currency="USD")
    assert outcome(shop.post("shopify", (body, headers))) == ["recorded"]
    other = {**headers, "X-Shopify-Webhook-Id": "another-subscription"}  # same X-Shopify-Event-Id
    assert shop.post("shopify", (body, other)).json()["status"] == "duplicate"


def test_shopify_order_topics_are_configurable(shop):
    created = platforms.shopify_order(
        shop.secrets["shopify"], order_id=4001, total="5.00", currency="USD", topic="orders/create"
    )
    assert shop.post("shopify", created).json() == {"status": "ignored", "events": []}
    assert shop.api.patch("/integrations/shopify", json={"order_topics": ["orders/create"]}).status_code == 200
    again = platforms.shopify_order(
        shop.secrets["shopify"], order_id=4001, total="5.00", currency="USD", topic="orders/create"
    )
    assert outcome(shop.post("shopify", again)) == ["recorded"]


def test_shopify_refunds_reduce_the_order_once(shop):
    conv = shop.conversion(
        shop.post(
            "shopify", platforms.shopify_order(shop.secrets["shopify"], order_id=5001, total="80.00", currency="USD")
        )
    )
    refund = platforms.shopify_refund(
        shop.secrets["shopify"], refund_id=9001, order_id=5001, amount="30.00", currency="USD"
    )
    assert outcome(shop.post("shopify", refund)) == ["recorded"]
    redelivered = platforms.shopify_refund(
        shop.secrets["shopify"], refund_id=9001, order_id=5001, amount="30.00", currency="USD"
    )
    assert outcome(shop.post("shopify", redelivered)) == ["duplicate"]
    assert shop.api.get(f"/conversions/{conv['id']}").json()["net"] == 5000


def test_shopify_signature_is_checked_on_the_raw_body(shop, r):
    body, headers = platforms.shopify_order(shop.secrets["shopify"], order_id=6001, total="1.00", currency="USD")
    reencoded = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert requests.post(f"{shop.url}/shopify", data=reencoded, headers=headers).status_code == 401
    wrong = platforms.shopify_order("not-the-secret", order_id=6001, total="1.00", currency="USD")
    assert shop.post("shopify", wrong).status_code == 401
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 0


# -- WooCommerce ----------------------------------------------------------------------------
def test_woocommerce_ping_is_answered_unsigned(shop):
    resp = shop.post("woocommerce", platforms.woo_ping())
    assert resp.status_code == 200 and resp.json() == {"status": "ping"}


def test_woocommerce_order_attributed_by_order_meta_and_coupons(shop):
    tid = shop.click()
    by_meta = platforms.woo_order(
        shop.secrets["woocommerce"], order_id=701, total="64.50", currency="EUR", meta={"_tid": tid}
    )
    conv = shop.conversion(shop.post("woocommerce", by_meta))
    assert (conv["amount"], conv["currency"]) == (6450, "EUR")
    assert conv["attribution"]["click"]["id"] == tid
    by_coupon = platforms.woo_order(
        shop.secrets["woocommerce"], order_id=702, total="20.00", currency="EUR", coupons=["jane10"]
    )
    assert shop.conversion(shop.post("woocommerce", by_coupon))["attribution"]["matched_by"] == "discount_code"


def test_woocommerce_order_attribution_landing_page_is_used(shop):
    tid = shop.click()
    meta = {"_wc_order_attribution_session_entry": f"https://shop.example/?tid={tid}"}
    signed = platforms.woo_order(shop.secrets["woocommerce"], order_id=703, total="9.99", currency="USD", meta=meta)
    assert shop.conversion(shop.post("woocommerce", signed))["attribution"]["matched_by"] == "landing_url"


def test_woocommerce_unpaid_orders_wait_and_refunds_arrive_in_order_updates(shop):
    secret = shop.secrets["woocommerce"]
    pending = platforms.woo_order(secret, order_id=801, total="100.00", currency="USD", status="pending")
    assert shop.post("woocommerce", pending).json()["status"] == "ignored"
    paid = platforms.woo_order(secret, order_id=801, total="100.00", currency="USD", topic="order.updated")
    assert outcome(shop.post("woocommerce", paid)) == ["recorded"]
    refunded = platforms.woo_order(
        secret, order_id=801, total="100.00", currency="USD", topic="order.updated", refunds=[(91, "-25.00")]
    )
    assert outcome(shop.post("woocommerce", refunded)) == ["duplicate", "recorded"]
    two = platforms.woo_order(
        secret,
        order_id=801,
        total="100.00",
        currency="USD",
        topic="order.updated",
        refunds=[(92, "-5.00"), (91, "-25.00")],
    )
    assert outcome(shop.post("woocommerce", two)) == ["duplicate", "recorded", "duplicate"]
    conv = shop.api.get("/conversions").json()["items"][0]
    assert (conv["refunded"], conv["net"]) == (3000, 7000)


def test_woocommerce_bad_signature_is_401(shop):
    body, headers = platforms.woo_order("wrong-secret", order_id=901, total="1.00", currency="USD")
    assert requests.post(f"{shop.url}/woocommerce", data=body, headers=headers).status_code == 401


# -- Stripe ---------------------------------------------------------------------------------
def test_stripe_checkout_attributed_by_client_reference_id_then_metadata(shop):
    tid = shop.click()
    by_ref = platforms.stripe_checkout_completed(
        shop.secrets["stripe"], session_id="cs_test_a1", amount_total=4200, currency="usd",
        client_reference_id=tid, payment_intent="pi_3Pa1",
    )  # fmt: skip
    conv = shop.conversion(shop.post("stripe", by_ref))
    assert (conv["source"], conv["order_id"], conv["amount"], conv["currency"]) == ("stripe", "pi_3Pa1", 4200, "USD")
    assert conv["attribution"]["click"]["id"] == tid
    by_meta = platforms.stripe_checkout_completed(
        shop.secrets["stripe"], session_id="cs_test_a2", amount_total=900, currency="jpy",
        metadata={"tid": shop.click()}, payment_intent="pi_3Pa2",
    )  # fmt: skip
    conv = shop.conversion(shop.post("stripe", by_meta))
    assert conv["attribution"]["status"] == "attributed" and (conv["amount"], conv["currency"]) == (900, "JPY")


def test_stripe_partial_and_full_refunds_by_charge(shop):
    secret = shop.secrets["stripe"]
    shop.post("stripe", platforms.stripe_checkout_completed(
        secret, session_id="cs_test_r", amount_total=10_000, currency="usd", payment_intent="pi_R"))  # fmt: skip
    partial = platforms.stripe_charge_refunded(
        secret, charge_id="ch_R", payment_intent="pi_R", amount=10_000, amount_refunded=2_000, currency="usd",
        refunds=[("re_1", 2_000)],
    )  # fmt: skip
    assert outcome(shop.post("stripe", partial)) == ["recorded"]
    full = platforms.stripe_charge_refunded(
        secret, charge_id="ch_R", payment_intent="pi_R", amount=10_000, amount_refunded=10_000, currency="usd",
        refunds=[("re_2", 8_000), ("re_1", 2_000)],
    )  # fmt: skip
    assert outcome(shop.post("stripe", full)) == ["recorded", "duplicate"]
    conv = shop.api.get("/conversions").json()["items"][0]
    assert (conv["refunded"], conv["net"], conv["fully_refunded"]) == (10_000, 0, True)


def test_stripe_refund_without_the_refund_list_uses_the_cumulative_amount(shop):
    secret = shop.secrets["stripe"]
    shop.post("stripe", platforms.stripe_checkout_completed(
        secret, session_id="cs_test_c", amount_total=5_000, currency="usd", payment_intent="pi_C"))  # fmt: skip
    for refunded, expected in ((1_000, ["recorded"]), (1_000, ["duplicate"]), (3_000, ["recorded"])):
        signed = platforms.stripe_charge_refunded(
            secret, charge_id="ch_C", payment_intent="pi_C", amount=5_000, amount_refunded=refunded, currency="usd"
        )
        assert outcome(shop.post("stripe", signed)) == expected
    assert shop.api.get("/conversions").json()["items"][0]["refunded"] == 3_000


@pytest.mark.parametrize(
    ("currency", "stripe_amount", "ours"),
    [("isk", 1_250_000, 12_500), ("ugx", 3_800_000, 38_000), ("huf", 450_050, 450_050), ("kwd", 5_120, 5_120)],
)
def test_stripe_special_case_currencies_are_read_in_stripe_units(shop, currency, stripe_amount, ours):
    """ISK and UGX have no minor unit, but Stripe states them in hundredths (12,500 ISK is 1250000);
    HUF is two-decimal and KWD three-decimal in both."""
    secret = shop.secrets["stripe"]
    intent = f"pi_{currency}"
    conv = shop.conversion(shop.post("stripe", platforms.stripe_checkout_completed(
        secret, session_id=f"cs_test_{currency}", amount_total=stripe_amount, currency=currency,
        payment_intent=intent)))  # fmt: skip
    assert (conv["amount"], conv["currency"]) == (ours, currency.upper())
    refund = platforms.stripe_charge_refunded(
        secret, charge_id=f"ch_{currency}", payment_intent=intent, amount=stripe_amount,
        amount_refunded=stripe_amount // 5, currency=currency, refunds=[(f"re_{currency}", stripe_amount // 5)],
    )  # fmt: skip
    assert outcome(shop.post("stripe", refund)) == ["recorded"]
    assert shop.api.get("/conversions").json()["items"][0]["refunded"] == ours // 5


def test_stripe_signature_tolerance_and_tampering(shop, r):
    import time

    old = platforms.stripe_checkout_completed(
        shop.secrets["stripe"], session_id="cs_old", amount_total=1, currency="usd", t=int(time.time()) - 600
    )
    assert shop.post("stripe", old).status_code == 401
    body, headers = platforms.stripe_checkout_completed(
        shop.secrets["stripe"], session_id="cs_x", amount_total=1, currency="usd"
    )
    tampered = body.replace(b'"amount_total": 1', b'"amount_total": 9').replace(
        b'"amount_total":1', b'"amount_total":9'
    )
    assert tampered != body
    assert requests.post(f"{shop.url}/stripe", data=tampered, headers=headers).status_code == 401
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 0


def test_stripe_events_we_do_not_use_are_acknowledged(shop):
    body = json.dumps(
        {"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    )
    import time

    t = int(time.time())
    headers = {"Stripe-Signature": platforms.stripe_signature(shop.secrets["stripe"], body.encode(), t)}
    resp = requests.post(f"{shop.url}/stripe", data=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["status"] == "ignored"
