"""The traffic the demo and the benchmarks generate is what the service receives."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from tests.conftest import base_config
from tracker import clickid, create_wsgi, keys
from tracker.brands.model import create_brand
from tracker.demo.client import Api, in_process
from tracker.demo.traffic import click_event, order_payload, signed

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


@pytest.fixture
def shop(r, redis_url, tmp_path):
    """The served WSGI stack in this process, a brand and one short link made through its API (after `r`
    emptied Redis)."""
    front = create_wsgi(base_config(redis_url, str(tmp_path), COUNTRY_HEADER="CF-IPCountry"))
    try:
        brand, key = create_brand(front.flask_app.extensions["redis"], "Traffic", "USD")
        api = Api(in_process(Client(front)), key)
        campaign = api("POST", "/campaigns", {"name": "Layout", "slug": "layout", "starts_on": "2026-01-01",
                                              "destination_url": "https://shop.example/"})  # fmt: skip
        person = api("POST", "/influencers", {"handle": "layout", "platform": "instagram", "followers": 1000})
        promotion = api("POST", "/promotions", {"campaign_id": campaign["id"], "influencer_id": person["id"],
                                                "style": "long_running", "posted_at": "2026-01-02T00:00:00Z",
                                                "discount_codes": ["LAYOUT10"]})  # fmt: skip
        link = api("POST", "/links", {"promotion_id": promotion["id"]})
        yield front, brand, api, link
    finally:
        front.flask_app.extensions["db"].close()


@pytest.mark.parametrize(
    ("method", "headers", "extra"),
    [
        ("GET", {}, {}),
        ("GET", {"HTTP_REFERER": "https://l.instagram.com/?u=x"}, {"referrer": "l.instagram.com"}),
        ("HEAD", {"HTTP_CF_IPCOUNTRY": "DE"}, {"country": "DE", "method": "HEAD"}),
        ("GET", {"HTTP_REFERER": "https://t.co/a", "HTTP_CF_IPCOUNTRY": "FR"}, {"referrer": "t.co", "country": "FR"}),
    ],
)
def test_the_benchmarks_write_clicks_as_the_redirect_does(shop, r, method, headers, extra):
    front, brand, _, link = shop
    now = 1_790_000_000.25
    environ = {"REQUEST_METHOD": method, "PATH_INFO": f"/{link['code']}", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_USER_AGENT": UA, **headers}  # fmt: skip
    status, _, _ = front.handle(environ, link["code"], now)
    assert status.startswith("302")
    [(_, written)] = r.xrevrange(keys.clicks_stream(brand["id"]), count=1)
    fields = [x.decode() for pair in written.items() for x in pair]
    ts_ms, secret = int(now * 1000), front.secret()
    laid_out = click_event(link["code"], link["id"], link["promotion_id"], ts_ms, written[b"v"].decode(), UA, secret,
                           **extra)  # fmt: skip
    assert fields[:1] + fields[2:] == laid_out[:1] + laid_out[2:]  # click ids differ in their random bytes only
    assert clickid.verify(fields[1], [secret]) == clickid.verify(laid_out[1], [secret]) == clickid.Click(
        link["code"], ts_ms
    )


def test_a_signed_order_payload_is_recorded_and_attributed_by_its_code(shop):
    front, brand, api, _ = shop
    secret = api("POST", "/integrations/generic/secrets", {})["secret"]
    payload = order_payload("T-1", 4990, "USD", occurred_at="2026-01-03T10:00:00Z", discount_code="layout10")
    body, headers = signed(secret, payload)
    answer = Client(front).post(f"/webhooks/{brand['id']}/generic", data=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(True)
    [event] = answer.get_json()["events"]
    assert event["outcome"] == "recorded"
    record = api("GET", f"/conversions/{event['conversion_id']}")
    assert (record["amount"], record["attribution"]["matched_by"]) == (4990, "discount_code")
