"""Bad input over real HTTP gets a clear 4xx in the one error shape, never a 500 or a misleading 503:
bodies that are not JSON, huge pages, impossible job ids, values with a trailing newline, wrong
methods (with `Allow`), and empty CSV reports keep their header row."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import platforms
from tracker import api as api_module
from tracker import keys

DEEP = b"[" * 2000 + b"]" * 2000  # deeper than the JSON parser can follow
LISTS = ("/influencers", "/campaigns", "/promotions", "/links", "/conversions")


def body_error(resp: requests.Response, status: int = 400) -> str:
    """The problem a 4xx names for the body (asserting the error shape)."""
    assert resp.status_code == status, resp.text
    error = resp.json()
    assert (error["code"], error["status"]) == (status, resp.reason.title())
    assert error["message"].startswith("body: ")
    assert list(error["errors"]["json"]) == ["body"]
    return error["message"]


def field_error(resp: requests.Response, field: str, location: str = "json") -> None:
    assert resp.status_code == 422, resp.text
    error = resp.json()
    assert error["code"] == 422 and re.match(rf"{field}(\.\d+)?: ", error["message"]), error["message"]
    assert field in error["errors"][location]


def signed(source: str, secret: str, body: bytes) -> dict[str, str]:
    """Headers that sign `body` as `source` does (for an order topic)."""
    t = int(time.time())
    headers = {"Content-Type": "application/json"}
    if source == "generic":
        headers["X-Signature"] = platforms.generic_signature([secret], body, t)
    elif source == "stripe":
        headers["Stripe-Signature"] = platforms.stripe_signature(secret, body, t)
    elif source == "shopify":
        headers.update(
            {"X-Shopify-Hmac-Sha256": platforms.shopify_hmac(secret, body), "X-Shopify-Topic": "orders/paid"}
        )
    else:
        headers.update(
            {"X-WC-Webhook-Signature": platforms.woo_signature(secret, body), "X-WC-Webhook-Topic": "order.created"}
        )
    return headers


# -- bodies that are not JSON ---------------------------------------------------------------
@pytest.mark.parametrize("source", ["generic", "shopify", "woocommerce", "stripe"])
@pytest.mark.parametrize(
    ("body", "problem"), [(DEEP, "body: JSON nested too deeply"), (b"{nope", "body: not valid JSON")]
)
def test_a_signed_webhook_body_that_is_not_json_is_a_400_naming_the_body(shop, r, source, body, problem):
    resp = requests.post(f"{shop.url}/{source}", data=body, headers=signed(source, shop.secrets[source], body))
    assert body_error(resp).startswith(problem)
    assert r.hlen(keys.conversions(shop.api.brand["id"])) == 0


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/conversions"), ("patch", "/brand"), ("post", "/campaigns"), ("post", "/links")]
)
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (DEEP, "body: JSON nested too deeply"),
        (b'{"order_id": ' + DEEP + b"}", "body: JSON nested too deeply"),
        (b"{nope", "body: not valid JSON (Expecting property name"),
        (b'{"name": "caf\xe9"}', "body: not valid JSON"),  # Latin-1, not UTF-8
    ],
)
def test_an_api_body_that_is_not_json_is_a_400_naming_the_body(api, method, path, body, problem):
    resp = getattr(api, method)(path, data=body, headers={"Content-Type": "application/json"})
    assert body_error(resp).startswith(problem)


# -- pages ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", LISTS)
def test_a_page_past_the_maximum_is_a_422_naming_page_not_an_outage(api, path):
    resp = api.get(path, params={"page": "720207414950639744"})
    field_error(resp, "page", "query")
    last = api.get(path, params={"page": api_module.MAX_PAGE, "page_size": 500})  # the largest offset asked of Redis
    assert last.status_code == 200, last.text
    assert last.json()["items"] == [] and last.json()["page"] == api_module.MAX_PAGE


def test_a_huge_dashboard_page_is_an_empty_page_not_an_outage(server, api):
    d = requests.Session()
    form = d.get(f"{server.url}/dashboard/login").text
    token = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', form).group(1))
    signin = d.post(f"{server.url}/dashboard/login", data={"api_key": api.key, "csrf_token": token})
    assert signin.status_code == 200, signin.text  # followed to the overview
    resp = d.get(f"{server.url}/dashboard/manage/influencers", params={"page": "720207414950639744"})
    assert resp.status_code == 200, resp.text


# -- job ids --------------------------------------------------------------------------------
@pytest.mark.parametrize("job_id", ["caf\u00e9", 'a"b', "a'b", "a b"])
def test_a_job_id_rq_cannot_hold_is_a_404(api, job_id):
    resp = api.get(f"/reports/jobs/{requests.utils.quote(job_id)}")
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == 404 and resp.json()["message"] == f"job {job_id} not found"


# -- values with a trailing newline ---------------------------------------------------------
def _link_alias(api: Any) -> requests.Response:
    return api.post("/links", json={"promotion_id": api.promotion()["id"], "code": "nl-alias\n"})


def _campaign(api: Any, **change: Any) -> requests.Response:
    body = {"name": "Spring", "slug": "spring", "destination_url": "https://shop.example/", "starts_on": "2026-03-01"}
    return api.post("/campaigns", json={**body, **change})


@pytest.mark.parametrize(
    ("field", "send", "location"),
    [
        ("click_param", lambda api: api.patch("/brand", json={"click_param": "tid\n"}), "json"),
        ("code", _link_alias, "json"),
        ("slug", lambda api: _campaign(api, slug="spring\n"), "json"),
        ("discount_codes", lambda api: _campaign(api, discount_codes=["JANE10\n"]), "json"),
        (
            "handle",
            lambda api: api.post("/influencers", json={"handle": "jane\n", "platform": "instagram", "followers": 1}),
            "json",
        ),
        ("group_a", lambda api: api.get("/reports/comparison", params={"group_a": "micro:long_running\n"}), "query"),
    ],
)
def test_a_value_with_a_trailing_newline_is_refused(api, field, send, location):
    field_error(send(api), field, location)


def test_a_refused_click_param_keeps_the_redirect_location(api, server, visitor):
    link = api.link()
    api.patch("/brand", json={"click_param": "tid\n"})
    resp = visitor.get(f"{server.url}/{link['code']}", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("https://shop.example/landing?")
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0]  # the click id reaches the shop


# -- wrong methods --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allowed", "kind"),
    [
        ("DELETE", "/api/v1/brand", {"GET", "HEAD", "OPTIONS", "PATCH"}, "application/json"),
        ("PUT", "/api/v1/reports/refresh", {"POST", "OPTIONS"}, "application/json"),
        ("GET", "/webhooks/b/generic", {"POST", "OPTIONS"}, "application/json"),
        ("GET", "/dashboard/logout", {"POST", "OPTIONS"}, "text/html"),
    ],
)
def test_a_wrong_method_is_a_405_with_allow(server, api, method, path, allowed, kind):
    resp = requests.request(method, server.url + path, headers={"Authorization": f"Bearer {api.key}"})
    assert resp.status_code == 405 and resp.headers["Content-Type"].startswith(kind)
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == allowed


# -- empty CSV reports ----------------------------------------------------------------------
def test_the_curves_csv_with_no_promotion_keeps_its_header(api):
    resp = api.get("/reports/comparison", params={"format": "csv", "table": "curves"})
    assert resp.status_code == 200
    header = (
        "group,day,conversions,revenue,spend,cumulative_conversions,cumulative_revenue,cumulative_spend,cumulative_roi"
    )
    assert resp.text == header + "\n"


@pytest.mark.parametrize("by", ["promotion", "influencer", "campaign", "tier"])
def test_a_report_csv_with_no_rows_keeps_its_header(api, by):
    resp = api.get("/reports", params={"format": "csv", "by": by})
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0][:3] == [by, "name", "cost_per_conversion"] and len(rows) == 1
