"""Series by local day and hour, and breakdowns by referrer, country, device, browser and OS,
checked against a hand-made scenario played at fixed times (never the wall clock)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import platforms
from tracker import keys

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
BOT = "curl/8.4.0"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Brand:
    """Promotion P (links L1, L2, discount code PCODE) and promotion Q of another influencer (link L3).

    Clicks (UTC): L1 3 from one iPhone visitor via instagram.com in FR at 10 Mar 10:05-10:25
    (1 unique), a bot at 11:00, Firefox via tiktok.com in DE at 11 Mar 09:00 (unique); L2 two
    Chrome visitors, direct, no country, at 10 Mar 23:30 (2 unique); L3 an iPhone at 10 Mar 12:00.
    Orders: $50.00 by the first L1 click at 10 Mar 12:00; $20.00 by code PCODE at 11 Mar 08:00.
    """

    def __init__(self, api, make_server_with, time_zone: str | None = None):
        self.api = api
        if time_zone:
            assert api.patch("/brand", json={"time_zone": time_zone}).status_code == 200
        self.redirect = make_server_with(COUNTRY_HEADER="CF-IPCountry").app
        self.p = api.promotion(discount_codes=["PCODE"])
        self.q = api.promotion()
        self.l1 = api.create("/links", promotion_id=self.p["id"])
        self.l2 = api.create("/links", promotion_id=self.p["id"])
        self.l3 = api.create("/links", promotion_id=self.q["id"])
        self.secret = api.post("/integrations/generic/secrets", json={}).json()["secret"]

    def click(self, link, when: datetime, ua: str = IPHONE, referrer: str = "", country: str = "",
              address: str = "203.0.113.9") -> str:  # fmt: skip
        environ = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": address, "HTTP_USER_AGENT": ua}
        if referrer:
            environ["HTTP_REFERER"] = f"https://{referrer}/some/post"
        if country:
            environ["HTTP_CF_IPCOUNTRY"] = country
        status, headers, _ = self.redirect.handle(environ, link["code"], when.timestamp())
        assert status.startswith("302"), status
        return parse_qs(urlsplit(dict(headers)["Location"]).query)["tid"][0]

    def order(self, when: datetime, amount: int, **key: str):
        body, headers = platforms.generic_order(self.secret, order_id=f"o-{time.time_ns()}", amount=amount,
                                                currency="USD", occurred_at=when, **key)  # fmt: skip
        resp = self.api.http.post(f"{self.api.base}/webhooks/{self.api.brand['id']}/generic", data=body,
                                  headers=headers)  # fmt: skip
        assert resp.status_code == 200, resp.text

    def play(self) -> None:
        first = self.click(self.l1, at(10, 10, 5), referrer="instagram.com", country="FR")
        self.click(self.l1, at(10, 10, 15), referrer="instagram.com", country="FR")
        self.click(self.l1, at(10, 10, 25), referrer="l.instagram.com", country="fr")
        self.click(self.l1, at(10, 11), ua=BOT)
        self.click(self.l1, at(11, 9), ua=FIREFOX, referrer="tiktok.com", country="DE")
        self.click(self.l2, at(10, 23, 30), ua=CHROME, address="198.51.100.1")
        self.click(self.l2, at(10, 23, 30), ua=CHROME, address="198.51.100.2")
        self.click(self.l3, at(10, 12), referrer="q.example")
        self.order(at(10, 12), 5000, click_id=first)
        self.order(at(11, 8), 2000, discount_code="PCODE")


@pytest.fixture
def brand(api, make_server_with, run_worker) -> Brand:
    b = Brand(api, make_server_with)
    b.play()
    run_worker()
    return b


def series(api, **params) -> dict:
    resp = api.get("/reports/series", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def figures(row: dict) -> tuple:
    return row["clicks"], row["unique_clicks"], row["bot_hits"], row["conversions"], row["revenue"]


def by_day(api, **params) -> dict[str, tuple]:
    return {row["period"]: figures(row) for row in series(api, **params)["rows"]}


def test_series_by_day_of_a_link_a_promotion_an_influencer_and_the_brand(brand, api):
    span = {"from": "2026-03-10", "to": "2026-03-12"}
    assert by_day(api, by="link", id=brand.l1["id"], **span) == {
        "2026-03-10": (3, 1, 1, 1, 5000), "2026-03-11": (1, 1, 0, 0, 0), "2026-03-12": (0, 0, 0, 0, 0),
    }  # fmt: skip
    assert by_day(api, by="link", id=brand.l2["id"], **span)["2026-03-10"] == (2, 2, 0, 0, 0)
    promotion = {"2026-03-10": (5, 3, 1, 1, 5000), "2026-03-11": (1, 1, 0, 1, 2000), "2026-03-12": (0, 0, 0, 0, 0)}
    assert by_day(api, by="promotion", id=brand.p["id"], **span) == promotion
    assert by_day(api, by="influencer", id=brand.p["influencer_id"], **span) == promotion
    assert by_day(api, by="campaign", id=brand.q["campaign_id"], **span)["2026-03-10"] == (1, 1, 0, 0, 0)
    whole = series(api, by="brand", **span)
    assert whole["interval"] == "day" and whole["time_zone"] == "UTC" and whole["currency"] == "USD"
    assert figures(whole["totals"]) == (7, 5, 1, 2, 7000)
    # the same figures as the summary report of the same days
    summary = api.get("/reports", params={"by": "promotion", **span}).json()["totals"]
    assert (summary["clicks"], summary["unique_clicks"], summary["bot_hits"], summary["conversions"]) == (7, 5, 1, 2)


def test_series_by_hour_for_two_days_or_less(brand, api):
    got = series(api, by="link", id=brand.l1["id"], **{"from": "2026-03-10", "to": "2026-03-10"})
    assert got["interval"] == "hour" and len(got["rows"]) == 24
    hours = {row["period"]: figures(row) for row in got["rows"] if any(figures(row))}
    assert hours == {"2026-03-10T10:00": (3, 1, 0, 0, 0), "2026-03-10T11:00": (0, 0, 1, 0, 0),
                     "2026-03-10T12:00": (0, 0, 0, 1, 5000)}  # fmt: skip
    two = series(api, by="brand", **{"from": "2026-03-10", "to": "2026-03-11"})
    assert two["interval"] == "hour" and len(two["rows"]) == 48
    daily = series(api, by="brand", interval="day", **{"from": "2026-03-10", "to": "2026-03-11"})
    assert [figures(r) for r in daily["rows"]] == [(6, 4, 1, 1, 5000), (1, 1, 0, 1, 2000)]


def hgetall_calls(r) -> int:
    return r.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)


def test_a_year_long_series_reads_only_the_days_that_can_hold_events(brand, api, r):
    """A report's cost is bounded by the days with events, not by the dates asked: a year of a brand
    whose events fall on two days reads those days and one on each side, with the same figures."""

    def reads(path: str, **params) -> tuple[dict, int]:
        before = hgetall_calls(r)
        resp = api.get(path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json(), hgetall_calls(r) - before

    year, days = {"from": "2025-06-01", "to": "2026-05-31"}, {"from": "2026-03-09", "to": "2026-03-12"}
    got, read = reads("/reports/series", by="brand", **year)
    assert len(got["rows"]) == 365 and figures(got["totals"]) == (7, 5, 1, 2, 7000)
    assert read == reads("/reports/series", by="brand", **days)[1]  # not 365 days x 5 subjects
    got, read = reads("/reports/breakdown", by="brand", dimension="country", **year)
    assert got["total"] == 7 and read == reads("/reports/breakdown", by="brand", dimension="country", **days)[1]
    got, read = reads("/reports/series", by="brand", **{"from": "2025-01-01", "to": "2025-12-31"})
    subjects = 3 + 2  # the brand's three links, and its two promotions' orders without a click
    assert figures(got["totals"]) == (0,) * 5 and read == reads("/reports/series", by="brand", **days)[1] - 4 * subjects


def breakdown(api, **params) -> dict:
    resp = api.get("/reports/breakdown", params={"from": "2026-03-10", "to": "2026-03-12", **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_breakdowns_top_n_and_other_with_exact_totals(brand, api):
    p = {"by": "promotion", "id": brand.p["id"]}
    got = breakdown(api, dimension="referrer", top=2, **p)
    assert [(x["value"], x["clicks"]) for x in got["rows"]] == [("(direct)", 2), ("instagram.com", 2)]  # ties by value
    assert got["other"] == {"clicks": 2, "share": "0.3333", "values": 2, "folded_at_rollup": 0}
    assert got["total"] == 6  # every click of the promotion in the dates, bot hits apart
    rows = lambda **kw: [(x["value"], x["clicks"]) for x in breakdown(api, **kw)["rows"]]  # noqa: E731
    assert rows(dimension="country", **p) == [("FR", 3), ("(unknown)", 2), ("DE", 1)]
    assert rows(dimension="device", **p) == [("desktop", 3), ("mobile", 3)]
    assert rows(dimension="browser", **p) == [("Mobile Safari", 3), ("Chrome", 2), ("Firefox", 1)]
    assert rows(dimension="os", **p) == [("iOS", 3), ("Windows", 2), ("Linux", 1)]
    assert dict(rows(dimension="referrer", by="link", id=brand.l1["id"])) == {
        "instagram.com": 2, "l.instagram.com": 1, "tiktok.com": 1}  # fmt: skip
    assert breakdown(api, dimension="os", by="brand")["total"] == 7
    text = api.get("/reports/breakdown", params={"from": "2026-03-10", "to": "2026-03-12", "dimension": "referrer",
                                                 "top": 1, "format": "csv", **p}).text  # fmt: skip
    assert list(csv.reader(io.StringIO(text))) == [
        ["value", "clicks", "share"], ["(direct)", "2", "0.3333"], ["other", "4", "0.6667"], ["total", "6", "1.0000"]
    ]  # fmt: skip


def test_counted_exactly_once_across_a_rerun_and_duplicate_deliveries(api, make_server_with, run_worker, r):
    b = Brand(api, make_server_with)
    b.play()
    stream = keys.clicks_stream(api.brand["id"])
    copies = [fields for _, fields in r.xrange(stream)]  # the raw events, as a redelivery would send them again
    run_worker()
    before = series(api, by="brand", **{"from": "2026-03-10", "to": "2026-03-12"})
    referrers = breakdown(api, dimension="referrer", by="brand")
    for fields in copies:
        r.xadd(stream, fields)
    b.order(at(10, 12), 5000, discount_code="PCODE")  # a new order: the only thing that changes
    run_worker()
    run_worker()
    after = series(api, by="brand", **{"from": "2026-03-10", "to": "2026-03-12"})
    assert figures(after["totals"]) == (7, 5, 1, 3, 12000)
    assert figures(before["totals"]) == (7, 5, 1, 2, 7000)
    assert breakdown(api, dimension="referrer", by="brand") == referrers


def test_values_past_the_cap_are_folded_into_other_at_rollup(api, make_server_with, run_worker):
    b = Brand(api, make_server_with)
    for n, host in enumerate(("a.example", "a.example", "b.example", "c.example", "d.example")):
        b.click(b.l1, at(10, 9, n), referrer=host, address=f"192.0.2.{n}")
    run_worker(BREAKDOWN_VALUES_PER_DAY=2)
    got = breakdown(api, dimension="referrer", by="link", id=b.l1["id"], top=10)
    assert got["total"] == 5
    assert len(got["rows"]) == 2 and got["other"]["values"] == 0
    assert sum(x["clicks"] for x in got["rows"]) + got["other"]["folded_at_rollup"] == 5
    assert got["other"]["clicks"] == got["other"]["folded_at_rollup"] >= 2


def test_days_and_hours_follow_the_brands_time_zone(api, make_server_with, run_worker):
    """India is UTC+5:30: 18:15 UTC is 23:45 on the same day there, 18:45 UTC is 00:15 the next day."""
    b = Brand(api, make_server_with, time_zone="Asia/Kolkata")
    assert api.get("/brand").json()["time_zone"] == "Asia/Kolkata"
    b.click(b.l1, at(10, 18, 15), referrer="a.example")
    b.click(b.l1, at(10, 18, 45), ua=FIREFOX, referrer="b.example")
    b.order(at(10, 18, 50), 1000, discount_code="PCODE")
    run_worker()
    span = {"from": "2026-03-10", "to": "2026-03-11"}
    got = series(api, by="promotion", id=b.p["id"], interval="day", **span)
    assert got["time_zone"] == "Asia/Kolkata"
    assert [figures(x) for x in got["rows"]] == [(1, 1, 0, 0, 0), (1, 1, 0, 1, 1000)]
    rows = series(api, by="promotion", id=b.p["id"], **span)["rows"]
    hours = {x["period"]: figures(x) for x in rows if any(figures(x))}
    assert hours == {"2026-03-10T23:00": (1, 1, 0, 0, 0), "2026-03-11T00:00": (1, 1, 0, 1, 1000)}
    day = {"from": "2026-03-11", "to": "2026-03-11"}
    assert [x["value"] for x in breakdown(api, dimension="referrer", by="link", id=b.l1["id"], **day)["rows"]] == [
        "b.example"]  # fmt: skip


def test_another_brand_sees_none_of_it(brand, new_brand):
    other = new_brand("Other")
    for by, key in (("link", "l1"), ("promotion", "p")):
        resp = other.get("/reports/series", params={"by": by, "id": getattr(brand, key)["id"]})
        assert resp.status_code == 404, resp.text
    resp = other.get("/reports/breakdown", params={"by": "link", "id": brand.l1["id"], "dimension": "country"})
    assert resp.status_code == 404
    got = other.get("/reports/series", params={"by": "brand", "from": "2026-03-10", "to": "2026-03-12"}).json()
    assert figures(got["totals"]) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("series", {}, "by"),
        ("series", {"by": "everything"}, "by"),
        ("series", {"by": "link"}, "id"),
        ("series", {"by": "brand", "from": "2026-03-10", "to": "2026-03-09"}, "to"),
        ("series", {"by": "brand", "from": "2025-01-01", "to": "2026-03-09"}, "from"),
        ("series", {"by": "brand", "from": "2026-03-10", "to": "2026-03-12", "interval": "hour"}, "interval"),
        ("series", {"by": "brand", "interval": "minute"}, "interval"),
        ("series", {"by": "brand", "from": "March"}, "from"),
        ("breakdown", {"by": "brand"}, "dimension"),
        ("breakdown", {"by": "brand", "dimension": "city"}, "dimension"),
        ("breakdown", {"by": "brand", "dimension": "os", "top": "0"}, "top"),
    ],
)
def test_bad_queries_are_422_naming_the_field(api, path, params, field):
    resp = api.get(f"/reports/{path}", params=params)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]["query"], resp.json()


def test_the_time_zone_must_be_an_iana_name(api):
    resp = api.patch("/brand", json={"time_zone": "Mars/Olympus"})
    assert resp.status_code == 422 and "time_zone" in resp.json()["errors"]["json"], resp.text
    assert api.get("/brand").json()["time_zone"] == "UTC"


# -- in a real browser ----------------------------------------------------------------------
from playwright.sync_api import expect  # noqa: E402

from tests import browser as browser_plugin  # noqa: E402
from tests.test_dashboard import LOCAL_CHECK, sign_in  # noqa: E402

browser, tab = browser_plugin.browser, browser_plugin.tab  # Chromium once per module, a page per test
DATES = "from=2026-03-10&to=2026-03-12"


@pytest.mark.slow
def test_browser_the_per_link_page_shows_its_chart_table_and_breakdowns(tab, api, brand):
    sign_in(tab, api.key, f"/dashboard/links/{brand.l1['id']}?{DATES}")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(f"Link {brand.l1['code']}")
    chart = tab.page.get_by_role("img", name=f"Link {brand.l1['code']}: clicks and conversions")
    expect(chart).to_have_count(1)
    assert tab.page.locator("#link-series polyline.group").count() == 2  # clicks and conversions
    desc = tab.page.locator("#link-series > desc").text_content() or ""
    assert "Daily clicks (4 in all) and conversions (1)" in desc
    assert tab.page.locator("#link-series circle title").first.text_content() == "2026-03-10: 3 clicks"
    tab.page.get_by_text("Every day as a table").click()
    row = tab.page.locator('tr[data-period="2026-03-10"] td').all_inner_texts()
    assert row == ["3", "1", "1", "1", "50.00"]
    referrers = tab.page.locator('[data-dimension="referrer"] tbody tr')
    assert [r.locator("th, td").all_inner_texts()[:2] for r in referrers.all()] == [
        ["instagram.com", "2"], ["l.instagram.com", "1"], ["tiktok.com", "1"]]  # fmt: skip
    expect(tab.page.locator('[data-dimension="country"] tfoot td').first).to_have_text("4")
    tab.screenshot("link.png")
    assert not tab.outside(), LOCAL_CHECK
    tab.goto(f"/dashboard/promotions/{brand.p['id']}/report?{DATES}")
    assert tab.page.locator("#promotion-series polyline.group").count() == 2
    expect(tab.page.locator('[data-dimension="device"] tfoot td').first).to_have_text("6")
    tab.goto(f"/dashboard/?{DATES}")
    expect(tab.page.locator("#overview-series")).to_have_count(1)
    assert tab.page.locator("#series tfoot td").first.text_content() == "7"  # in the closed table


@pytest.mark.slow
def test_browser_the_influencer_page_charts_their_days_copies_links_and_lists_referrers(tab, api, brand):
    token = api.post(f"/influencers/{brand.p['influencer_id']}/portal-tokens").json()["token"]
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.goto(f"/i/{token}?{DATES}")
    chart = tab.page.get_by_role("img", name="Your clicks and conversions per day")
    expect(chart).to_have_count(1)
    assert "Daily clicks (6 in all) and conversions (2)" in (tab.page.locator("#daily > desc").text_content() or "")
    text = tab.page.locator("#referrers tbody").inner_text()
    assert "instagram.com" in text and "tiktok.com" in text and "q.example" not in text  # Q is another influencer
    assert "revenue" not in tab.page.locator("#series").inner_text().lower()  # no money in the per-day table
    button = tab.page.locator(f"#link-{brand.l1['id']} button.copy")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Copied")
    assert tab.page.evaluate("navigator.clipboard.readText()").endswith(f"/{brand.l1['code']}")
    tab.screenshot("influencer-page-per-day.png")
    assert not tab.outside(), LOCAL_CHECK
