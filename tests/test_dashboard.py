"""The brand dashboard: sign-in, CSRF, the report pages and the management forms over real HTTP, and
the pages in a real headless Chromium (numbers, sorting, CSV, charts, refresh, screenshots)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests import browser as browser_plugin
from tests.browser import Tab
from tracker import csvsafe, keys, queues
from tracker.auth import hash_key
from tracker.brands.model import revoke_api_key

browser, tab = browser_plugin.browser, browser_plugin.tab  # the fixtures: Chromium once per module, a page per test

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LOCAL_CHECK = "every request stays on the service"


class Dash:
    """A browser-like HTTP session on the dashboard (redirects not followed unless asked)."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.signed_in = False

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=kw.pop("follow", False), **kw)

    def token(self, path: str = "/dashboard/login") -> str:
        found = TOKEN.search(self.get(path, follow=True).text)
        assert found, f"no CSRF token on {path}"
        return html.unescape(found.group(1))

    def post(self, path: str, data: dict[str, Any] | None = None, token: str | None = "auto", **kw: Any):
        body = dict(data or {})
        if token == "auto":
            body["csrf_token"] = self.token("/dashboard/manage" if self.signed_in else "/dashboard/login")
        elif token is not None:
            body["csrf_token"] = token
        return self.http.post(self.base + path, data=body, allow_redirects=kw.pop("follow", False), **kw)

    def login(self, key: str) -> requests.Response:
        resp = self.post("/dashboard/login", {"api_key": key})
        self.signed_in = resp.status_code == 303
        return resp

    def text(self, path: str, **kw: Any) -> str:
        return html.unescape(self.get(path, follow=True, **kw).text)


@pytest.fixture
def dash(server) -> Iterator[Any]:
    opened: list[Dash] = []

    def make(key: str | None = None) -> Dash:
        d = Dash(server.url)
        opened.append(d)
        if key:
            assert d.login(key).status_code == 303
        return d

    yield make
    for d in opened:
        d.http.close()


# -- signing in -----------------------------------------------------------------------------
@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_a_wrong_key_shows_an_error_and_opens_nothing(dash, new_brand):
    new_brand("Acme")
    d = dash()
    resp = d.login("il_not-a-key")
    assert resp.status_code == 401 and "Unknown or revoked API key." in resp.text
    assert "Acme" not in resp.text and "Sign out" not in resp.text
    for path in ("/dashboard/", "/dashboard/influencers", "/dashboard/manage/influencers"):
        page = d.get(path)
        assert page.status_code == 303 and page.headers["Location"].startswith("/dashboard/login")
    assert d.get("/dashboard/jobs/x", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_the_right_key_opens_the_overview_with_a_safe_cookie(dash, new_brand):
    api = new_brand("Acme Shoes")
    d = dash()
    resp = d.login(api.key)
    assert resp.status_code == 303 and resp.headers["Location"] == "/dashboard/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = d.get("/dashboard/")
    assert page.status_code == 200 and "Acme Shoes" in page.text and "Overview" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_sign_in_follows_next_only_inside_the_dashboard(dash, new_brand):
    api = new_brand()
    d = dash()
    first = d.get("/dashboard/comparison?per_promotion=1")
    assert first.status_code == 303
    login_page = d.get(first.headers["Location"])
    assert 'name="next" value="/dashboard/comparison?per_promotion=1"' in login_page.text
    resp = d.post("/dashboard/login", {"api_key": api.key, "next": "/dashboard/comparison?per_promotion=1"})
    assert resp.headers["Location"] == "/dashboard/comparison?per_promotion=1"
    for evil in ("https://evil.example/", "//evil.example/dashboard", "/api/v1/brand", "//[x/dashboard"):
        other = dash()
        assert other.post("/dashboard/login", {"api_key": api.key, "next": evil}).headers["Location"] == "/dashboard/"


@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_sign_out_ends_the_session_even_for_a_copy_of_its_cookie(dash, new_brand, server):
    api = new_brand()
    d = dash(api.key)
    stolen = Dash(server.url)
    stolen.http.cookies.update(d.http.cookies)
    assert stolen.get("/dashboard/").status_code == 200  # a copy of the cookie is the session...
    resp = d.post("/dashboard/logout")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/dashboard/login")
    assert "Signed out." in d.text(resp.headers["Location"])
    assert d.get("/dashboard/").status_code == 303
    assert d.get("/dashboard/manage/influencers").headers["Location"].startswith("/dashboard/login")
    assert stolen.get("/dashboard/").status_code == 303  # ...until it is signed out
    stolen.http.close()


@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_a_sign_in_lasts_dashboard_session_hours_then_asks_for_the_key(dash, new_brand, r):
    api = new_brand()
    d = dash(api.key)
    [opened] = list(r.scan_iter(match=keys.dashboard_session(api.brand["id"], "*")))  # every node of a cluster
    assert 11 * 3600 < r.ttl(opened) <= 12 * 3600  # DASHBOARD_SESSION_HOURS, 12 by default
    assert r.get(opened).decode() == hash_key(api.key)  # the key's hash, never the key
    r.delete(opened)  # what Redis does when the time is up
    resp = d.get("/dashboard/influencers")
    assert resp.status_code == 303 and "Your session has ended" in d.text(resp.headers["Location"])


def test_an_unknown_dashboard_address_is_a_page_and_an_unknown_api_address_json(dash, new_brand, server):
    api = new_brand()
    d = dash(api.key)
    page = d.get("/dashboard/no-such-page")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Not Found</h1>" in page.text and "Back to the overview" in page.text
    wrong_method = d.get("/dashboard/logout")  # only POST is answered there
    assert wrong_method.status_code == 405 and wrong_method.headers["Content-Type"].startswith("text/html")
    resp = requests.get(f"{server.url}/api/v1/no-such-thing", headers={"Authorization": f"Bearer {api.key}"})
    assert resp.status_code == 404 and resp.json()["code"] == 404 and resp.json()["message"]


@pytest.mark.cluster  # the sign-in reads a brand's key and an API key's: two slots
def test_revoking_the_key_ends_its_sessions(dash, new_brand, r):
    api = new_brand()
    d = dash(api.key)
    assert d.get("/dashboard/").status_code == 200
    revoke_api_key(r, api.key)
    resp = d.get("/dashboard/")
    assert resp.status_code == 303
    assert "Your session has ended" in d.text(resp.headers["Location"])


def test_the_first_request_to_a_fresh_app_gets_a_working_session(make_server_with, new_brand):
    fresh = make_server_with(BASE_URL="https://go.example")
    api = new_brand()
    with requests.Session() as http:
        page = http.get(fresh.url + "/dashboard/login")  # the app derives its session key on this request
        assert page.status_code == 200 and "csrf_token" in page.text
        token = html.unescape(TOKEN.search(page.text).group(1))
        resp = http.post(fresh.url + "/dashboard/login", data={"api_key": api.key, "csrf_token": token})
        assert resp.status_code == 200 and "Sign out" in resp.text


# -- CSRF -----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(dash, new_brand, r, token):
    api = new_brand()
    d = dash(api.key)
    form = {"handle": "jane", "platform": "instagram", "followers": "42000"}
    resp = d.post("/dashboard/manage/influencers/new", form, token=token)
    assert resp.status_code == 400 and "security token" in html.unescape(resp.text)
    assert api.get("/influencers").json()["total"] == 0
    assert d.post("/dashboard/refresh", token=token).status_code == 400
    assert queues.queue(r).count == 0
    assert d.post("/dashboard/logout", token=token).status_code == 400
    assert d.get("/dashboard/").status_code == 200  # still signed in
    anonymous = dash()
    anonymous.get("/dashboard/login")
    assert anonymous.post("/dashboard/login", {"api_key": api.key}, token=token).status_code == 400


def test_a_csrf_token_is_bound_to_its_session(dash, new_brand):
    api = new_brand()
    mine, theirs = dash(api.key), dash(api.key)
    resp = mine.post("/dashboard/manage/campaigns/new", {"name": "X"}, token=theirs.token("/dashboard/manage"))
    assert resp.status_code == 400


# -- managing -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"followers": "many"}, "followers", "Not a valid integer."),
        ({"followers": "-5"}, "followers", "Must be greater than or equal to 0"),
        ({"handle": "jane doe!"}, "handle", "Must be 1-100 letters, digits, '.', '-' or '_'."),
        ({"platform": "myspace"}, "platform", "Must be one of: instagram"),
        ({"email": "not-an-email"}, "email", "Not a valid email address."),
        ({"handle": ""}, "handle", "Missing data for required field."),
    ],
)
def test_the_influencer_form_shows_the_api_messages(dash, new_brand, change, field, message):
    api = new_brand()
    d = dash(api.key)
    resp = d.post("/dashboard/manage/influencers/new", {"handle": "jane", "platform": "instagram",
                                                       "followers": "42000", **change})  # fmt: skip
    assert resp.status_code == 422
    page = html.unescape(resp.text)
    assert re.search(rf'id="err-{field}">{re.escape(message)}', page), page
    assert api.get("/influencers").json()["total"] == 0


def test_forms_create_an_influencer_a_campaign_a_promotion_and_a_link(dash, new_brand):
    api = new_brand()
    d = dash(api.key)
    resp = d.post("/dashboard/manage/influencers/new", {"handle": "@jane", "platform": "instagram",
                                                        "followers": "42000", "tier_override": ""})  # fmt: skip
    assert resp.status_code == 303 and resp.headers["Location"] == "/dashboard/manage/influencers"
    assert "Created influencer @jane (instagram)." in d.text("/dashboard/manage/influencers")
    (jane,) = api.get("/influencers").json()["items"]
    assert (jane["handle"], jane["followers"], jane["tier"], jane["tier_override"]) == ("jane", 42000, "micro", None)
    again = d.post("/dashboard/manage/influencers/new", {"handle": "Jane", "platform": "instagram", "followers": "1"})
    assert again.status_code == 409 and "instagram handle @Jane already exists." in html.unescape(again.text)

    campaign = {"name": "Summer", "slug": "summer-24", "destination_url": "javascript:alert(1)",
                "starts_on": "2026-06-01", "ends_on": "2026-05-01", "discount_codes": "SUMMER, summer-2"}  # fmt: skip
    bad = html.unescape(d.post("/dashboard/manage/campaigns/new", campaign).text)
    assert 'id="err-destination_url">Must be an absolute http:// or https:// URL.' in bad
    assert 'value="javascript:alert(1)"' in bad  # the typed values are kept
    campaign["destination_url"] = "https://shop.example/sale"
    bad = html.unescape(d.post("/dashboard/manage/campaigns/new", campaign).text)
    assert 'id="err-ends_on">Must not be before starts_on.' in bad
    campaign["ends_on"] = ""
    assert d.post("/dashboard/manage/campaigns/new", campaign).status_code == 303
    (summer,) = api.get("/campaigns").json()["items"]
    assert summer["discount_codes"] == ["SUMMER", "summer-2"] and summer["ends_on"] is None

    promo = {"campaign_id": summer["id"], "influencer_id": jane["id"], "style": "long_running", "window_hours": "24",
             "posted_at": "2026-06-02T18:00", "cost.flat_fee": "2,500.50", "cost.commission_percent": "12.5",
             "cost.cost_per_click": "0.10", "discount_codes": "JANE10"}  # fmt: skip
    bad = html.unescape(d.post("/dashboard/manage/promotions/new", promo).text)
    assert 'id="err-window_hours">Only timeboxed promotions have a window.' in bad
    promo.update(window_hours="", **{"cost.flat_fee": "12.345"})
    bad = html.unescape(d.post("/dashboard/manage/promotions/new", promo).text)
    assert 'id="err-cost-flat_fee">Must be an amount with at most 2 decimals.' in bad
    promo.update(discount_codes="summer", **{"cost.flat_fee": "2,500.50"})  # a campaign's code, any case
    taken = d.post("/dashboard/manage/promotions/new", promo)
    assert taken.status_code == 409 and "discount code SUMMER is already registered" in html.unescape(taken.text)
    promo["discount_codes"] = "JANE10"
    assert d.post("/dashboard/manage/promotions/new", {**promo, "campaign_id": "nope"}).status_code == 422
    assert d.post("/dashboard/manage/promotions/new", promo).status_code == 303
    (p,) = api.get("/promotions").json()["items"]
    assert p["cost"] == {"currency": "USD", "flat_fee": 250050, "commission_percent": "12.5", "cost_per_click": 10}
    assert (p["posted_at"], p["tier"], p["discount_codes"]) == ("2026-06-02T18:00:00.000Z", "micro", ["JANE10"])
    assert "$" not in d.text("/dashboard/manage/promotions") and "2,500.50 USD flat" in d.text(
        "/dashboard/manage/promotions"
    )

    link = {"promotion_id": p["id"], "code": "jane-summer", "destination_url": "ftp://shop.example/"}
    bad = html.unescape(d.post("/dashboard/manage/links/new", link).text)
    assert 'id="err-destination_url">Must be an absolute http:// or https:// URL.' in bad
    bad = html.unescape(
        d.post("/dashboard/manage/links/new", {**link, "code": "dashboard", "destination_url": ""}).text
    )
    assert "id=\"err-code\">'dashboard' is reserved." in bad
    assert d.post("/dashboard/manage/links/new", {**link, "destination_url": ""}).status_code == 303
    taken = d.post("/dashboard/manage/links/new", {**link, "destination_url": ""})
    assert taken.status_code == 409 and "The code 'jane-summer' is taken." in html.unescape(taken.text)
    listing = d.text("/dashboard/manage/links")
    assert "https://go.example/jane-summer" in listing
    assert "utm_source=jane&utm_medium=influencer&utm_campaign=summer-24" in listing
    assert "@jane in Summer (long-running)" in listing


def test_edit_forms_save_through_the_api_and_a_disabled_link_stops(dash, new_brand, server, visitor):
    api = new_brand()
    link = api.link(code="spring-sale")
    promo = api.get(f"/promotions/{link['promotion_id']}").json()
    d = dash(api.key)
    form = d.text(f"/dashboard/manage/promotions/{promo['id']}")
    assert 'value="2026-03-02T12:00"' in form and 'name="campaign_id"' not in form  # fixed once created
    edit = {"style": "timeboxed", "window_hours": "", "posted_at": "2026-03-03T09:30", "followers": "2000000",
            "engagements": "", "cost.currency": "USD", "cost.flat_fee": "1000", "cost.commission_percent": "5",
            "cost.cost_per_click": "0", "discount_codes": ""}  # fmt: skip
    assert d.post(f"/dashboard/manage/promotions/{promo['id']}", edit).status_code == 303
    after = api.get(f"/promotions/{promo['id']}").json()
    assert (after["style"], after["window_hours"], after["tier"], after["cost"]["flat_fee"]) == (
        "timeboxed",
        24,
        "celebrity",
        100000,
    )
    assert visitor.get(f"{server.url}/spring-sale", allow_redirects=False).status_code == 302
    form = d.text(f"/dashboard/manage/links/{link['id']}")
    assert "https://go.example/spring-sale" in form
    resp = d.post(f"/dashboard/manage/links/{link['id']}", {"disabled": "on", "destination_url": "", "expires_at": ""})
    assert resp.status_code == 303 and api.get(f"/links/{link['id']}").json()["disabled"] is True
    assert "disabled" in d.text("/dashboard/manage/links")


def test_another_brands_ids_are_404(dash, new_brand):
    mine, theirs = new_brand("Mine"), new_brand("Theirs")
    link = theirs.link()
    promo = theirs.get(f"/promotions/{link['promotion_id']}").json()
    d = dash(mine.key)
    for path in (
        f"/dashboard/manage/influencers/{promo['influencer_id']}",
        f"/dashboard/manage/campaigns/{promo['campaign_id']}",
        f"/dashboard/manage/promotions/{promo['id']}",
        f"/dashboard/manage/links/{link['id']}",
        f"/dashboard/?campaign={promo['campaign_id']}",
        f"/dashboard/influencers?campaign={promo['campaign_id']}",
        f"/dashboard/comparison?campaign={promo['campaign_id']}",
        "/dashboard/manage/brands",
    ):
        resp = d.get(path)
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html"), path
    resp = d.post(f"/dashboard/manage/links/{link['id']}", {"disabled": "on"})
    assert resp.status_code == 404 and theirs.get(f"/links/{link['id']}").json()["disabled"] is False
    new = d.post("/dashboard/manage/links/new", {"promotion_id": promo["id"]})
    assert new.status_code == 422 and f"No promotion {promo['id']} in this brand." in new.text


# -- the report pages over HTTP -------------------------------------------------------------
def test_the_overview_filters_by_dates_and_names_bad_ranges(dash, api, scenario):
    d = dash(api.key)
    page = d.text("/dashboard/?from=2026-10-01&to=2026-10-02")
    assert re.search(r'data-metric="conversions"><span class="label">Conversions</span><span class="value">5<', page)
    bad = d.get("/dashboard/?from=2026-10-05&to=2026-10-01")
    assert bad.status_code == 422 and "Must not be before 'from'." in html.unescape(bad.text)
    assert d.get("/dashboard/?from=yesterday").status_code == 422


def table_of(page: str, table_id: str) -> list[list[str]]:
    """The text of an HTML table's header and body cells, row by row."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def test_the_influencers_csv_is_the_table_as_shown(dash, api, scenario):
    d = dash(api.key)
    query = "?sort=cost_per_conversion&dir=asc"
    shown = table_of(d.text("/dashboard/influencers" + query), "influencers")
    assert [row[0] for row in shown[1:]] == ["@infA (instagram)", "@infB (instagram)", "@infC (instagram)",
                                             "@infD (instagram)"]  # fmt: skip  # D: no conversions, last
    resp = d.get("/dashboard/influencers" + query + "&format=csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert 'filename="influencers.csv"' in resp.headers["Content-Disposition"]
    assert list(csv.reader(io.StringIO(resp.text))) == [csvsafe.row(row) for row in shown]  # '@infA (instagram)
    assert shown[0][:4] == ["Influencer", "Tier", "Promotions", "Spend (USD)"]
    assert shown[1][1:5] == ["micro", "1", "109.20", "92.00"] and shown[4][7] == "n/a"


def test_influencers_sort_with_missing_values_last_and_filter_by_campaign(dash, api, scenario):
    d = dash(api.key)
    api.create("/influencers", handle="newcomer", platform="tiktok", followers=5_000)
    shown = table_of(d.text("/dashboard/influencers?sort=cost_per_conversion&dir=desc"), "influencers")
    names = [row[0] for row in shown[1:]]
    assert names[:3] == ["@infC (instagram)", "@infB (instagram)", "@infA (instagram)"]
    assert sorted(names[3:]) == ["@infD (instagram)", "@newcomer (tiktok)"]  # no conversions: last, either way
    newcomer = next(row for row in shown if row[0] == "@newcomer (tiktok)")
    assert newcomer[1:4] == ["nano", "0", "0.00"]
    campaign = scenario.promos["A"]["campaign_id"]
    in_campaign = table_of(d.text(f"/dashboard/influencers?campaign={campaign}"), "influencers")
    assert "@newcomer (tiktok)" not in [row[0] for row in in_campaign] and len(in_campaign) == 5
    assert 'data-metric="conversions"><span class="label">Conversions</span><span class="value">7<' in d.text(
        f"/dashboard/?campaign={campaign}"
    )


def test_the_comparison_page_over_http(dash, api, scenario):
    d = dash(api.key)
    page = d.text("/dashboard/comparison")
    rows = {row[0]: row[1:] for row in table_of(page, "comparison")}
    assert rows["Cost per conversion"] == ["39.85 USD", "666.67 USD"]
    assert rows["Long-tail share"] == ["75.00%", "33.33%"] and rows["Half-life"] == ["31 h", "11 h"]
    assert rows["Payback day"] == ["never (yet)", "never (yet)"]
    assert "Not enough data" in page and "no 95% interval" in page
    assert len(re.findall(r'<polyline class="line group', page)) == 4  # two charts, two groups each
    per = d.text("/dashboard/comparison?per_promotion=1")
    assert len(re.findall(r'<polyline class="line promo', per)) == 6  # A, B, C on each chart
    assert "@infC in Autumn" in per
    bad = d.get("/dashboard/comparison?group_a=mega:long_running")
    assert bad.status_code == 422 and "Must be &lt;tier&gt;:&lt;style&gt;" in bad.text


def test_refresh_enqueues_a_roll_up_and_reports_its_progress(dash, new_brand, run_worker):
    api, other = new_brand(), new_brand("Other")
    d = dash(api.key)
    resp = d.post("/dashboard/refresh", headers={"Accept": "application/json"})
    assert resp.status_code == 202
    job = resp.json()
    status = d.get(job["url"], headers={"Accept": "application/json"}).json()
    assert (status["status"], status["percent"], status["done"]) == ("queued", 5, False)
    assert dash(other.key).get(job["url"], headers={"Accept": "application/json"}).status_code == 404
    assert dash().get(job["url"], headers={"Accept": "application/json"}).status_code == 401
    assert d.get("/dashboard/jobs/no-such-job", headers={"Accept": "application/json"}).status_code == 404
    assert 'Numbers rolled up <strong id="rolled-up-at">never</strong>' in d.text("/dashboard/")
    run_worker()
    status = d.get(job["url"], headers={"Accept": "application/json"}).json()
    assert (status["status"], status["percent"], status["done"]) == ("finished", 100, True)
    assert status["progress"]["brands_done"] == 1 and status["message"].startswith("Done:")
    assert "UTC" in status["rolled_up_at"]
    plain = d.post("/dashboard/refresh", {"next": "/dashboard/influencers"})
    assert plain.status_code == 303 and plain.headers["Location"] == "/dashboard/influencers"


# -- in a real browser ----------------------------------------------------------------------
def sign_in(tab: Tab, key: str, path: str = "/dashboard/") -> None:
    tab.goto(path)
    tab.page.get_by_label("API key").fill(key)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("button", name="Sign out")).to_be_visible()


def metric(tab: Tab, name: str) -> str:
    return tab.page.locator(f'[data-metric="{name}"] .value').inner_text()


@pytest.mark.slow
def test_browser_sign_in_and_the_overview_numbers(tab, api, scenario):
    tab.goto("/dashboard/login")
    tab.page.get_by_label("API key").fill("il_wrong")
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("alert")).to_have_text("Unknown or revoked API key.")
    sign_in(tab, api.key)
    expect(tab.page.locator(".brand-name")).to_have_text("Acme")
    # A 10920 + B 5020 + C 200000 + D 1000; revenue 9200 + 4000 + 60000; 7 conversions; 3 + 2 + 4 clicks
    assert metric(tab, "spend") == "2,169.40 USD" and metric(tab, "revenue") == "732.00 USD"
    assert metric(tab, "roi") == "-66.26%" and metric(tab, "cost_per_conversion") == "309.91 USD"
    assert (metric(tab, "clicks"), metric(tab, "conversions")) == ("9", "7")
    assert (metric(tab, "unattributed_orders"), metric(tab, "unattributed_revenue")) == ("2", "20.00 USD")
    tab.screenshot("overview.png")
    tab.page.get_by_label("From", exact=True).fill("2026-10-01")
    tab.page.get_by_label("To", exact=True).fill("2026-10-02")
    tab.page.get_by_role("button", name="Show").click()
    expect(tab.page.locator('[data-metric="conversions"] .value')).to_have_text("5")
    assert not tab.outside(), LOCAL_CHECK


@pytest.mark.slow
def test_browser_sorts_the_influencers_and_downloads_the_csv_as_shown(tab, api, scenario):
    sign_in(tab, api.key, "/dashboard/influencers")
    table = tab.page.locator("#influencers")
    tab.page.get_by_role("link", name="Spend (USD)").click()
    expect(table.locator("th[aria-sort=descending]")).to_have_text("Spend (USD)")
    names = table.locator("tbody th").all_inner_texts()
    assert names == ["@infC (instagram)", "@infA (instagram)", "@infB (instagram)", "@infD (instagram)"]
    tab.page.get_by_role("link", name="Spend (USD)").click()
    expect(table.locator("th[aria-sort=ascending]")).to_have_text("Spend (USD)")
    assert table.locator("tbody th").all_inner_texts() == names[::-1]
    shown = [[cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in table.locator("tr").all()]
    with tab.page.expect_download() as info:
        tab.page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "influencers.csv"
    with open(download.path(), encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [csvsafe.row(row) for row in shown]
    download.delete()
    assert not tab.outside(), LOCAL_CHECK


@pytest.mark.slow
def test_browser_comparison_with_its_verdict_and_charts(tab, api, scenario, run_worker):
    scenario.add_clear_difference()
    run_worker()
    sign_in(tab, api.key, "/dashboard/comparison")
    cpc = tab.page.locator('#comparison tr[data-metric="cost_per_conversion"] td').all_inner_texts()
    assert cpc == ["14.65 USD", "494.33 USD"]
    verdict = tab.page.locator("#verdict").inner_text()
    assert verdict.startswith("micro long-running cost ") and "less per conversion than celebrity timeboxed" in verdict
    expect(tab.page.locator("#difference")).to_contain_text("95% interval")
    for chart in ("#chart-conversions", "#chart-roi"):
        assert tab.page.locator(f"{chart} polyline.group").count() == 2
        assert (tab.page.locator(f"{chart} > title").text_content() or "").endswith("per day since posting")
    assert tab.page.get_by_role("img", name="Cumulative conversions per day since posting").count() == 1
    tab.screenshot("comparison.png")
    tab.page.get_by_label("a line per promotion").check()
    tab.page.get_by_role("button", name="Show").click()
    expect(tab.page.locator("#chart-roi polyline.promo")).to_have_count(15)  # 8 micro + 7 celebrity
    assert tab.page.locator("#chart-conversions polyline.group").count() == 2
    assert not tab.outside(), LOCAL_CHECK


@pytest.mark.slow
def test_browser_refresh_shows_progress_then_reloads(tab, api, scenario, run_worker):
    sign_in(tab, api.key)
    assert metric(tab, "clicks") == "9"
    scenario.click("B", "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0")
    tab.page.get_by_role("button", name="Refresh now").click()
    expect(tab.page.locator("#refresh-text")).to_have_text("Queued, waiting for a worker…")
    assert tab.page.locator("#refresh-progress progress").get_attribute("value") == "5"
    with tab.page.expect_navigation():
        run_worker()
    expect(tab.page.locator('[data-metric="clicks"] .value')).to_have_text("10")
    assert not tab.outside(), LOCAL_CHECK
