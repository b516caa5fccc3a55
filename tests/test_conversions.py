"""Conversions: signed webhooks, attribution, idempotency (also under concurrency), refunds, money."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import platforms
from tracker import clickid, keys

pytestmark = pytest.mark.cluster  # every test here runs on the standalone Redis and on the cluster


class Shop:
    """A brand with a promotion, its tracked link and discount code, and a secret per source."""

    def __init__(self, api, server, visitor):
        self.api, self.server, self.visitor = api, server, visitor
        self.promotion = api.promotion(discount_codes=["JANE10"], cost={"flat_fee": 10_000})
        self.link = api.create("/links", promotion_id=self.promotion["id"])
        self.secrets = {}
        for source in ("generic", "shopify", "woocommerce", "stripe", "postback"):
            resp = api.post(f"/integrations/{source}/secrets", json={})
            assert resp.status_code == 201, resp.text
            self.secrets[source] = resp.json()["secret"]
        self.url = f"{server.url}/webhooks/{api.brand['id']}"

    def click(self) -> str:
        resp = self.visitor.get(f"{self.server.url}/{self.link['code']}", allow_redirects=False)
        return parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0]

    def post(self, source: str, signed: tuple[bytes, dict]) -> requests.Response:
        body, headers = signed
        return requests.post(f"{self.url}/{source}", data=body, headers=headers)

    def conversion(self, resp: requests.Response) -> dict:
        assert resp.status_code == 200, resp.text
        cid = resp.json()["events"][0]["conversion_id"]
        return self.api.get(f"/conversions/{cid}").json()


def order(shop, **kw):
    kw.setdefault("order_id", f"o-{time.time_ns()}")
    kw.setdefault("amount", 4990)
    kw.setdefault("currency", "USD")
    return platforms.generic_order(shop.secrets["generic"], **kw)


def test_an_order_with_a_click_id_is_attributed_to_the_influencer(shop):
    tid = shop.click()
    conv = shop.conversion(shop.post("generic", order(shop, click_id=tid, discount_code="JANE10")))
    a = conv["attribution"]
    assert a["status"] == "attributed" and a["matched_by"] == "click_id"
    assert a["promotion_id"] == shop.promotion["id"] and a["influencer_id"] == shop.promotion["influencer_id"]
    assert a["click"]["id"] == tid and a["click"]["link_id"] == shop.link["id"]
    assert 0 <= a["time_to_conversion_seconds"] < 60
    assert (conv["amount"], conv["currency"], conv["net"], conv["refunded"]) == (4990, "USD", 4990, 0)
    assert conv["reporting"] == {"amount": 4990, "currency": "USD"}
    assert [c["key"] for c in a["checked"]] == ["click_id"]  # the first key matched; nothing else looked at


def test_a_discount_code_attributes_when_there_is_no_click_id(shop):
    conv = shop.conversion(shop.post("generic", order(shop, discount_code="jane10")))
    assert conv["attribution"]["matched_by"] == "discount_code"
    assert conv["attribution"]["promotion_id"] == shop.promotion["id"]


def test_a_click_id_in_the_landing_url_attributes_last(shop):
    tid = shop.click()
    landing = f"https://shop.example/products/shoe?utm_source=x&tid={tid}"
    conv = shop.conversion(shop.post("generic", order(shop, landing_url=landing, discount_code="NOPE")))
    a = conv["attribution"]
    assert a["matched_by"] == "landing_url"
    assert [(c["key"], c["result"]) for c in a["checked"]] == [
        ("discount_code", "unknown_code"),
        ("landing_url", "matched"),
    ]


def test_the_brand_chooses_the_priority_of_keys(shop):
    other = shop.api.promotion(discount_codes=["OTHER5"])
    shop.api.patch("/brand", json={"attribution_priority": ["discount_code", "click_id"]})
    conv = shop.conversion(shop.post("generic", order(shop, click_id=shop.click(), discount_code="OTHER5")))
    assert conv["attribution"]["matched_by"] == "discount_code"
    assert conv["attribution"]["promotion_id"] == other["id"]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:], "invalid"),  # altered
        (lambda t: clickid.make(t[28:], int(time.time() * 1000), b"not our key"), "invalid"),  # forged
        (lambda t: clickid.make("someone-else", int(time.time() * 1000), b"test-secret-key"), "unknown_link"),
    ],
)
def test_forged_or_altered_click_ids_never_attribute(shop, mangle, reason):
    conv = shop.conversion(shop.post("generic", order(shop, click_id=mangle(shop.click()))))
    assert conv["attribution"]["status"] == "unattributed"
    assert conv["attribution"]["reason"] == reason


def test_a_click_from_another_brand_does_not_attribute(shop, new_brand, server):
    rival = new_brand("Rival")
    rival_link = rival.link()
    resp = shop.visitor.get(f"{server.url}/{rival_link['code']}", allow_redirects=False)
    tid = parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0]
    conv = shop.conversion(shop.post("generic", order(shop, click_id=tid)))
    assert conv["attribution"]["reason"] == "unknown_link"


def test_the_attribution_window_runs_from_click_time_to_order_time(shop):
    tid = shop.click()
    click_at = datetime.fromtimestamp(clickid.verify(tid, [b"test-secret-key"]).ts_ms / 1000, UTC)
    inside = shop.conversion(shop.post("generic", order(shop, click_id=tid, occurred_at=click_at + timedelta(days=29))))
    assert inside["attribution"]["status"] == "attributed"
    assert inside["attribution"]["time_to_conversion_seconds"] == pytest.approx(29 * 86400, abs=1)
    outside = shop.conversion(
        shop.post("generic", order(shop, click_id=tid, occurred_at=click_at + timedelta(days=31)))
    )
    assert outside["attribution"]["status"] == "unattributed" and outside["attribution"]["reason"] == "outside_window"
    assert "window is 30 days" in outside["attribution"]["detail"]
    shop.api.patch("/brand", json={"attribution_window_days": 45})
    later = shop.conversion(shop.post("generic", order(shop, click_id=tid, occurred_at=click_at + timedelta(days=31))))
    assert later["attribution"]["status"] == "attributed"


def test_orders_matching_nothing_are_kept_as_unattributed_with_the_reason(shop, r):
    conv = shop.conversion(shop.post("generic", order(shop)))
    assert conv["attribution"] == {
        "status": "unattributed",
        "reason": "no_key",
        "detail": "The order carried no click id, discount code or landing URL with a click id.",
        "checked": [],
    }
    event = r.xrange(keys.conversions_stream(shop.api.brand["id"]))[-1][1]
    assert event[b"status"] == b"unattributed" and event[b"reason"] == b"no_key" and event[b"promotion"] == b""


def test_a_repeat_delivery_answers_200_and_changes_nothing(shop, r):
    signed = order(shop, order_id="A-1", click_id=shop.click())
    first = shop.post("generic", signed)
    again = shop.post("generic", order(shop, order_id="A-1", amount=1))  # same order id, other body
    assert first.json()["events"][0]["outcome"] == "recorded"
    assert again.status_code == 200 and again.json()["events"][0]["outcome"] == "duplicate"
    assert again.json()["events"][0]["conversion_id"] == first.json()["events"][0]["conversion_id"]
    assert shop.api.get("/conversions").json()["total"] == 1
    assert r.xlen(keys.conversions_stream(shop.api.brand["id"])) == 1


def test_concurrent_copies_of_one_order_record_it_exactly_once(shop, r, make_server_with):
    # Two servers (as two web workers would be) and 24 simultaneous deliveries of the same order.
    servers = [shop.server, make_server_with()]
    signed = order(shop, order_id="RACE-1", click_id=shop.click())
    urls = [f"{s.url}/webhooks/{shop.api.brand['id']}/generic" for s in servers]

    def deliver(n: int) -> requests.Response:
        return requests.post(urls[n % 2], data=signed[0], headers=signed[1])

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(deliver, range(24)))
    assert {a.status_code for a in answers} == {200}
    outcomes = sorted(a.json()["events"][0]["outcome"] for a in answers)
    assert outcomes == ["duplicate"] * 23 + ["recorded"]
    assert len({a.json()["events"][0]["conversion_id"] for a in answers}) == 1
    assert r.xlen(keys.conversions_stream(shop.api.brand["id"])) == 1
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 1


def test_refunds_reduce_revenue_once_each_and_never_below_zero(shop, r):
    conv = shop.conversion(shop.post("generic", order(shop, order_id="R-1", amount=10_000, click_id=shop.click())))
    secret = shop.secrets["generic"]

    def refund(refund_id: str, amount: int):
        signed = platforms.generic_refund(secret, order_id="R-1", refund_id=refund_id, amount=amount, currency="USD")
        return shop.post("generic", signed).json()["events"][0]["outcome"]

    assert refund("rf-1", 3_000) == "recorded"
    assert refund("rf-1", 3_000) == "duplicate"
    assert refund("rf-2", 2_500) == "recorded"
    now = shop.api.get(f"/conversions/{conv['id']}").json()
    assert (now["refunded"], now["net"], now["fully_refunded"]) == (5_500, 4_500, False)
    assert refund("rf-3", 9_000) == "recorded"  # more than is left: capped
    now = shop.api.get(f"/conversions/{conv['id']}").json()
    assert (now["refunded"], now["net"], now["fully_refunded"]) == (10_000, 0, True)
    deltas = [
        int(f[b"amount"]) for _, f in r.xrange(keys.conversions_stream(shop.api.brand["id"])) if f[b"kind"] == b"refund"
    ]
    assert deltas == [3_000, 2_500, 4_500]


def test_a_refund_for_an_unknown_order_is_kept_and_applied_when_the_order_arrives(shop):
    signed = platforms.generic_refund(
        shop.secrets["generic"], order_id="EARLY", refund_id="x1", amount=1_000, currency="USD"
    )
    assert shop.post("generic", signed).json()["events"][0]["outcome"] == "pending"
    conv = shop.conversion(shop.post("generic", order(shop, order_id="EARLY", amount=4_000)))
    assert (conv["refunded"], conv["net"]) == (1_000, 3_000)


def test_a_refund_in_another_currency_than_its_order_is_422(shop):
    shop.post("generic", order(shop, order_id="CUR-1", amount=4_000))
    signed = platforms.generic_refund(
        shop.secrets["generic"], order_id="CUR-1", refund_id="c1", amount=100, currency="EUR"
    )
    resp = shop.post("generic", signed)
    assert resp.status_code == 422 and resp.json()["errors"]["json"].keys() == {"currency"}


@pytest.mark.parametrize(
    ("currency", "amount", "rate", "reporting"),
    [("JPY", 5_000, "0.0067", 3_350), ("KWD", 12_345, "3.25", 4_012), ("EUR", 1_999, "1.085", 2_169)],
)
def test_other_currencies_are_converted_with_the_brands_rates(shop, currency, amount, rate, reporting):
    conv = shop.conversion(shop.post("generic", order(shop, amount=amount, currency=currency)))
    assert conv["reporting"] is None  # no rate yet: reported apart, in its own currency
    assert (conv["amount"], conv["currency"]) == (amount, currency)
    assert shop.api.put(f"/brand/rates/{currency}", json={"rate": rate}).status_code == 200
    assert shop.api.get(f"/conversions/{conv['id']}").json()["reporting"] == {"amount": reporting, "currency": "USD"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 49.9}, "amount"),
        ({"amount": "49.90"}, "amount"),
        ({"amount": -1}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "XXQ"}, "currency"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": None}, "order_id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"type": "chargeback"}, "type"),
        ({"type": "refund"}, "refund_id"),
        ({"click_id": 5}, "click_id"),
    ],
)
def test_malformed_orders_are_422_naming_the_field_and_store_nothing(shop, r, change, field):
    body = {"type": "order", "order_id": "M-1", "amount": 4990, "currency": "USD", **change}
    raw = json.dumps(body).encode()
    t = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Signature": platforms.generic_signature([shop.secrets["generic"]], raw, t),
    }
    resp = requests.post(f"{shop.url}/generic", data=raw, headers=headers)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]["json"]
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 0


def test_a_body_that_is_not_json_is_400(shop, r):
    raw = b"{nope"
    headers = {"X-Signature": platforms.generic_signature([shop.secrets["generic"]], raw, int(time.time()))}
    resp = requests.post(f"{shop.url}/generic", data=raw, headers=headers)
    assert resp.status_code == 400 and resp.json()["message"].startswith("body: not valid JSON")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body + b" ", h),  # body changed after signing
        lambda body, h: (body, {**h, "X-Signature": h["X-Signature"].replace("v1=", "v1=0")}),
        lambda body, h: (body, {k: v for k, v in h.items() if k != "X-Signature"}),
        lambda body, h: (body, {**h, "X-Signature": "garbage"}),
    ],
)
def test_bad_signatures_are_401_and_store_nothing(shop, r, tamper):
    body, headers = tamper(*order(shop))
    resp = requests.post(f"{shop.url}/generic", data=body, headers=headers)
    assert resp.status_code == 401 and "X-Signature" in resp.json()["message"]
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 0


def test_signatures_older_than_five_minutes_are_401(shop):
    stale = order(shop, t=int(time.time()) - 301)
    assert shop.post("generic", stale).status_code == 401
    fresh = order(shop, t=int(time.time()) - 290)
    assert shop.post("generic", fresh).status_code == 200


def test_rotated_secrets_sign_together(shop):
    new = shop.api.post("/integrations/generic/secrets", json={"secret": "a-brand-new-secret-value"}).json()
    body = json.dumps({"order_id": "ROT-1", "amount": 100, "currency": "USD"}).encode()
    t = int(time.time())
    header = platforms.generic_signature(["wrong-one-entirely", "a-brand-new-secret-value"], body, t)
    assert requests.post(f"{shop.url}/generic", data=body, headers={"X-Signature": header}).status_code == 200
    old_id = shop.api.get("/integrations/generic").json()["secrets"][0]["id"]
    assert shop.api.delete(f"/integrations/generic/secrets/{old_id}").status_code == 204
    assert shop.post("generic", order(shop)).status_code == 401  # signed with the deleted secret
    assert new["id"] in {s["id"] for s in shop.api.get("/integrations/generic").json()["secrets"]}


def test_secrets_are_shown_once_and_then_only_as_hints(shop):
    listed = shop.api.get("/integrations").json()
    generic = next(i for i in listed if i["source"] == "generic")
    assert generic["webhook_url"].endswith(f"/webhooks/{shop.api.brand['id']}/generic")
    assert "secret" not in generic["secrets"][0] and generic["secrets"][0]["hint"] == "…" + shop.secrets["generic"][-4:]


def test_a_source_without_a_secret_or_an_unknown_brand_is_refused(api, server):
    body = json.dumps({"order_id": "1", "amount": 1, "currency": "USD"}).encode()
    assert requests.post(f"{server.url}/webhooks/{api.brand['id']}/generic", data=body).status_code == 401
    assert requests.post(f"{server.url}/webhooks/nobrand/generic", data=body).status_code == 404
    assert requests.post(f"{server.url}/webhooks/{api.brand['id']}/magento", data=body).status_code == 404


def test_conversions_can_be_posted_with_the_api_key_in_the_same_order_namespace(shop):
    tid = shop.click()
    resp = shop.api.post("/conversions", json={"order_id": "API-1", "amount": 2500, "currency": "USD", "click_id": tid})
    assert resp.status_code == 200 and resp.json()["events"][0]["outcome"] == "recorded"
    again = shop.post("generic", order(shop, order_id="API-1"))
    assert again.json()["events"][0]["outcome"] == "duplicate"
    bad = shop.api.post("/conversions", json={"order_id": "API-2", "amount": 1.5, "currency": "USD"})
    assert bad.status_code == 422 and "amount" in bad.json()["errors"]["json"]


def test_one_brand_never_sees_another_brands_conversions(shop, new_brand):
    conv = shop.conversion(shop.post("generic", order(shop)))
    rival = new_brand("Rival")
    hidden = rival.get(f"/conversions/{conv['id']}")
    assert hidden.status_code == 404
    assert hidden.json() == {"code": 404, "status": "Not Found", "message": f"conversion {conv['id']} not found"}
    assert rival.get("/conversions").json()["total"] == 0


def test_postback_with_the_brands_token(shop, server):
    tid = shop.click()
    params = {"tid": tid, "order_id": "PB-1", "amount": "19.99", "currency": "EUR", "token": shop.secrets["postback"]}
    resp = requests.get(f"{server.url}/postback", params=params)
    conv = shop.conversion(resp)
    assert (conv["amount"], conv["currency"], conv["source"]) == (1999, "EUR", "postback")
    assert conv["attribution"]["matched_by"] == "click_id"
    assert requests.get(f"{server.url}/postback", params={**params, "token": "pb_wrong"}).status_code == 401
    bad = requests.get(f"{server.url}/postback", params={**params, "order_id": "PB-2", "amount": "19.999"})
    assert bad.status_code == 422 and "amount" in bad.json()["errors"]["query"]


def test_a_2xx_is_never_sent_when_storing_fails(shop, make_server_with):
    down = make_server_with(REDIS_URL="redis://127.0.0.1:1/0")
    body, headers = order(shop)
    resp = requests.post(f"{down.url}/webhooks/{shop.api.brand['id']}/generic", data=body, headers=headers)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"


GENERIC_CASES = [
    {"order_id": "A1", "amount": 4990, "currency": "USD"},
    {"type": "refund", "order_id": 77, "refund_id": "r1", "amount": 0, "currency": "JPY"},
    {"order_id": " spaced ", "amount": 1, "currency": "KWD", "occurred_at": "2026-06-03T10:00:00Z"},
    {"order_id": "A", "amount": 1, "currency": "EUR", "occurred_at": "2026-06-03T10:00:00.123456+02:00"},
    {
        "order_id": "A",
        "amount": 1,
        "currency": "USD",
        "click_id": "x",
        "discount_code": "J10",
        "landing_url": "/?tid=1",
        "customer_id": "c",
        "discount_codes": ["A", "B"],
    },
    {"order_id": "A", "amount": 1, "currency": "usd"},
    {"order_id": "A", "amount": 1.0, "currency": "USD"},
    {"order_id": "A", "amount": True, "currency": "USD"},
    {"order_id": "A", "amount": -1, "currency": "USD"},
    {"order_id": "A", "amount": 10**15 + 1, "currency": "USD"},
    {"order_id": "", "amount": 1, "currency": "USD"},
    {"order_id": "x" * 201, "amount": 1, "currency": "USD"},
    {"order_id": None, "amount": 1, "currency": "USD"},
    {"type": "refund", "order_id": "A", "amount": 1, "currency": "USD"},
    {"type": "sale", "order_id": "A", "amount": 1, "currency": "USD"},
    {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": "2026-06-03"},
    {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": "2026-06-03T10:00:00"},
    {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": "2026-13-03T10:00:00Z"},
    {"order_id": "A", "amount": 1, "currency": "USD", "click_id": 5},
    {"order_id": "A", "amount": 1, "currency": "USD", "discount_codes": ["x" * 65]},
    {"order_id": "A", "amount": 1, "currency": "USD", "discount_codes": "J10"},
    {"order_id": "A", "amount": 1, "currency": "USD", "colour": "red"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("payload", GENERIC_CASES)
def test_the_fast_generic_validator_accepts_only_what_the_schema_accepts_alike(payload):
    from marshmallow import ValidationError

    from tracker.conversions.schemas import GenericEventSchema, load_generic_fast

    fast = load_generic_fast(payload)
    try:
        slow = GenericEventSchema().load(payload)
    except (ValidationError, TypeError):
        slow = None
    if fast is not None:
        assert slow is not None and fast == slow
