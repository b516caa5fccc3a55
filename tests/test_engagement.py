"""Post metrics of a promotion: the brand's series (API, CSV, dashboard), the influencer's
self-reported figures (kept apart until confirmed), and the engagement figures of reports,
checked against numbers computed by hand (tests/test_reports.py's scenario)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests import browser as browser_plugin
from tracker import keys

browser, tab = browser_plugin.browser, browser_plugin.tab
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
POSTED_DAY = "2026-03-02"  # Api.promotion() posts at 2026-03-02T12:00:00Z

# A's post (micro, 50k followers, spend 10920, 3 clicks): two snapshots; the later one counts.
A_EARLY = {"date": "2026-10-02", "impressions": 40_000, "reach": 30_000, "likes": 1_000, "comments": 100,
           "shares": 50, "saves": 50}  # fmt: skip
A_LATE = {"date": "2026-10-05", "impressions": 60_000, "reach": 45_000, "views": 9_000, "likes": 1_500,
          "comments": 150, "shares": 80, "saves": 70}  # fmt: skip
# C's story (celebrity, 2M followers, spend 200000, 4 clicks): 40000 engagements, 2% of followers.
C_POST = {"date": "2026-10-02", "impressions": 3_000_000, "reach": 2_500_000, "likes": 30_000, "comments": 2_000,
          "shares": 5_000, "saves": 3_000}  # fmt: skip


def metrics(api, promotion_id: str, method: str = "get", **kw) -> requests.Response:
    return getattr(api, method)(f"/promotions/{promotion_id}/metrics", **kw)


def csv_import(api, promotion_id: str, text: str) -> requests.Response:
    return api.post(f"/promotions/{promotion_id}/metrics/import", data=text.encode(),
                    headers={"Content-Type": "text/csv"})  # fmt: skip


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"date": "2026-03-03", "likes": -1}, "likes", "Must be a whole number from 0 to 1000000000000."),
        ({"date": "2026-03-03", "likes": 1.5}, "likes", "Not a valid integer."),
        ({"date": "2026-03-03", "likes": "12"}, "likes", "Not a valid integer."),
        ({"date": "2026-03-03", "reach": 10**13}, "reach", "Must be a whole number from 0 to 1000000000000."),
        ({"likes": 5}, "date", "Missing data for required field."),
        ({"date": "03/03/2026", "likes": 5}, "date", "Not a valid date."),
        ({"date": "2026-03-01", "likes": 5}, "date", "Must be on or after the promotion's posting day, 2026-03-02."),
        ({"date": "2099-01-01", "likes": 5}, "date", "Must not be in the future."),
        ({"date": "2026-03-03"}, "_schema", None),
    ],
)
def test_bad_metrics_are_a_422_naming_the_field_and_store_nothing(api, r, body, field, message):
    promo = api.promotion()
    resp = metrics(api, promo["id"], "post", json=body)
    assert resp.status_code == 422, resp.text
    problems = resp.json()["errors"]["json"]
    assert field in problems
    if message:
        assert problems[field] == [message] and resp.json()["message"] == f"{field}: {message}"
    assert not r.exists(keys.promotion_metrics(api.brand["id"], promo["id"]))


def test_a_promotion_not_yet_posted_takes_no_metrics(api):
    promo = api.promotion(posted_at=None)
    resp = metrics(api, promo["id"], "post", json={"date": "2026-03-03", "likes": 5})
    assert resp.status_code == 422 and resp.json()["errors"]["json"]["date"] == [
        "The promotion has not been posted (no posted_at): set posted_at first."
    ]


def test_a_series_names_the_bad_snapshot_and_replaces_all_or_nothing(api):
    promo = api.promotion()
    assert metrics(api, promo["id"], "put", json={"series": [{"date": "2026-03-03", "likes": 10}]}).status_code == 200
    bad = {"series": [{"date": "2026-03-04", "likes": 20}, {"date": "2026-03-04", "likes": 30}]}
    resp = metrics(api, promo["id"], "put", json=bad)
    assert resp.status_code == 422 and resp.json()["message"] == "series.1.date: Each date at most once."
    resp = metrics(api, promo["id"], "put", json={"series": [{"date": "2026-03-05", "likes": -3}]})
    assert resp.status_code == 422 and "likes" in resp.json()["errors"]["json"]["series"]["0"]
    doc = metrics(api, promo["id"]).json()
    assert [s["date"] for s in doc["series"]] == ["2026-03-03"] and doc["latest"]["likes"] == 10


def test_the_series_keeps_snapshots_by_date_and_the_latest(api):
    promo = api.promotion()
    metrics(api, promo["id"], "post", json={"date": "2026-03-05", "likes": 50, "comments": 5, "views": 900})
    doc = metrics(api, promo["id"], "post", json={"date": "2026-03-03", "likes": 10, "impressions": 1000}).json()
    assert [s["date"] for s in doc["series"]] == ["2026-03-03", "2026-03-05"]
    assert doc["latest"]["date"] == "2026-03-05" and doc["latest"]["engagements"] == 55  # views are not engagements
    assert doc["latest"]["source"] == "brand" and doc["self_reported"] == [] and doc["followers"] == 50_000
    doc = metrics(api, promo["id"], "post", json={"date": "2026-03-05", "likes": 60}).json()  # the same day again
    assert len(doc["series"]) == 2 and doc["latest"]["likes"] == 60 and "comments" not in doc["latest"]
    assert metrics(api, promo["id"], "put", json={"series": []}).json()["latest"] is None


GOOD_CSV = "date,impressions,reach,views,likes,comments,shares,saves\n2026-03-03,1000,800,,40,4,2,1\n" \
           "2026-03-04,2000,1500,300,90,9,3,2\n"  # fmt: skip


@pytest.mark.parametrize(
    ("text", "where", "field", "message"),
    [
        (GOOD_CSV + "2026-03-05,3000,2000,,-5,1,1,1\n", "line 4", "likes",
         "Must be a whole number from 0 to 1000000000000."),
        (GOOD_CSV + "2026-03-05,3000,2000,,12.5,1,1,1\n", "line 4", "likes", "Not a valid integer."),
        (GOOD_CSV + "2026-03-05,lots,2000,,5,1,1,1\n", "line 4", "impressions", "Not a valid integer."),
        (GOOD_CSV + "2026-02-01,3000,2000,,5,1,1,1\n", "line 4", "date",
         "Must be on or after the promotion's posting day, 2026-03-02."),
        (GOOD_CSV + "2026-03-04,3000,2000,,5,1,1,1\n", "line 4", "date", "Each date at most once."),
        (GOOD_CSV + "not-a-day,3000,2000,,5,1,1,1\n", "line 4", "date", "Not a valid date."),
        ("date,likes,clicks\n2026-03-03,1,2\n", "header", "clicks", None),
    ],
)
def test_a_bad_csv_row_is_a_422_naming_line_and_column_and_imports_nothing(api, text, where, field, message):
    promo = api.promotion()
    resp = csv_import(api, promo["id"], text)
    assert resp.status_code == 422, resp.text
    problems = resp.json()["errors"]["csv"][where]
    assert field in problems
    if message:
        assert problems[field] == [message] and resp.json()["message"] == f"csv, {where}, {field}: {message}"
    assert metrics(api, promo["id"]).json()["series"] == []


@pytest.mark.parametrize(
    ("text", "where"),
    [("", "header"), ("likes,comments\n1,2\n", "header"), ("date,likes\n", "header"),
     ("date,likes\n2026-03-03,1,2\n", "line 2"), ("date,likes\n2026-03-03\n", "line 2")],
)  # fmt: skip
def test_a_csv_without_its_shape_is_a_422(api, text, where):
    promo = api.promotion()
    resp = csv_import(api, promo["id"], text)
    assert resp.status_code == 422 and where in resp.json()["errors"]["csv"], resp.text


def test_a_csv_import_adds_its_rows(api):
    promo = api.promotion()
    doc = csv_import(api, promo["id"], "\ufeff" + GOOD_CSV).json()
    assert [(s["date"], s["engagements"], s.get("views")) for s in doc["series"]] == [
        ("2026-03-03", 47, None),
        ("2026-03-04", 104, 300),
    ]
    assert csv_import(api, promo["id"], b"\xff\xfe".decode("latin-1")).status_code == 422
    resp = api.post(f"/promotions/{promo['id']}/metrics/import", data=b"date\n\xff\n")
    assert resp.status_code == 400 and resp.json()["message"].startswith("body:")


def test_another_brands_promotion_is_a_404_everywhere(api, new_brand):
    promo = api.promotion()
    other = new_brand("Other")
    assert metrics(other, promo["id"]).status_code == 404
    assert metrics(other, promo["id"], "post", json={"date": "2026-03-03", "likes": 1}).status_code == 404
    assert metrics(other, promo["id"], "put", json={"series": []}).status_code == 404
    assert csv_import(other, promo["id"], GOOD_CSV).status_code == 404
    assert other.post(f"/promotions/{promo['id']}/metrics/self-reported/2026-03-03/confirm").status_code == 404
    assert metrics(api, promo["id"]).json()["series"] == []


# -- self-reported --------------------------------------------------------------------------
class InfluencerPage:
    """The influencer's page over HTTP, with its own session cookie (for the CSRF token)."""

    def __init__(self, api, server, influencer_id: str):
        token = api.post(f"/influencers/{influencer_id}/portal-tokens").json()["token"]
        self.url = f"{server.url}/i/{token}"
        self.http = requests.Session()

    def csrf(self) -> str:
        return html.unescape(TOKEN.search(self.http.get(self.url).text).group(1))

    def report(self, promotion_id: str, csrf: str | None = "auto", **counts) -> requests.Response:
        form = {"promotion_id": promotion_id, **{k: str(v) for k, v in counts.items()}}
        if csrf is not None:
            form["csrf_token"] = self.csrf() if csrf == "auto" else csrf
        return self.http.post(f"{self.url}/metrics", data=form, allow_redirects=False)


@pytest.fixture
def page_of(server) -> Iterator:
    opened: list[InfluencerPage] = []

    def make(api, influencer_id: str) -> InfluencerPage:
        opened.append(InfluencerPage(api, server, influencer_id))
        return opened[-1]

    yield make
    for p in opened:
        p.http.close()


def test_the_influencers_report_is_kept_apart_until_the_brand_confirms_it(api, page_of):
    promo = api.promotion()
    page = page_of(api, promo["influencer_id"])
    assert page.report(promo["id"], csrf=None, date="2026-03-03", likes=9).status_code == 400
    resp = page.report(promo["id"], date="2026-03-03", likes="1,200", comments=30, reach=20_000)
    assert resp.status_code == 303 and "reported=" in resp.headers["Location"]
    doc = metrics(api, promo["id"]).json()
    assert doc["series"] == [] and doc["latest"] is None
    (mine,) = doc["self_reported"]
    assert (mine["label"], mine["source"], mine["likes"], mine["engagements"]) == ("self-reported", "influencer",
                                                                                   1200, 1230)  # fmt: skip
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    assert row["engagements"] is None and row["engagement_rate_reach"] is None
    assert "self-reported, awaiting confirmation" in page.http.get(page.url).text
    assert api.post(f"/promotions/{promo['id']}/metrics/self-reported/2026-03-04/confirm").status_code == 404
    doc = api.post(f"/promotions/{promo['id']}/metrics/self-reported/2026-03-03/confirm").json()
    assert doc["self_reported"] == [] and doc["latest"]["likes"] == 1200 and doc["latest"]["source"] == "influencer"
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    assert (row["engagements"], row["engagement_rate_followers"], row["engagement_rate_reach"]) == (
        1230, "0.0246", "0.0615")  # 1230 / 50000, 1230 / 20000  # fmt: skip
    assert "confirmed by Acme" in page.http.get(page.url).text


@pytest.mark.parametrize(
    ("counts", "message"),
    [({"date": "2026-03-03", "likes": "-4"}, "Likes: Must be a whole number from 0 to 1000000000000."),
     ({"date": "2026-03-03", "likes": "many"}, "Likes: Not a valid integer."),
     ({"date": "2026-02-03", "likes": "4"}, "Date: Must be on or after the promotion's posting day, 2026-03-02."),
     ({"date": "2026-03-03"},
      "Metrics: Give at least one of impressions, reach, views, likes, comments, shares, saves.")],
)  # fmt: skip
def test_the_influencers_form_names_what_is_wrong_and_stores_nothing(api, page_of, counts, message):
    promo = api.promotion()
    page = page_of(api, promo["influencer_id"])
    resp = page.report(promo["id"], **counts)
    assert resp.status_code == 422
    assert html.unescape(re.search(r'id="metrics-error">([^<]*)<', resp.text).group(1)) == message
    assert metrics(api, promo["id"]).json()["self_reported"] == []


def test_an_influencer_reports_only_on_their_own_promotions(api, page_of, new_brand):
    mine, theirs = api.promotion(), api.promotion()
    page = page_of(api, mine["influencer_id"])
    assert page.report(theirs["id"], date="2026-03-03", likes=5).status_code == 404
    other = new_brand("Other").promotion()
    assert page.report(other["id"], date="2026-03-03", likes=5).status_code == 404
    assert metrics(api, theirs["id"]).json()["self_reported"] == []


def test_a_rejected_report_never_counts(api, page_of):
    promo = api.promotion()
    page_of(api, promo["influencer_id"]).report(promo["id"], date="2026-03-03", likes=7)
    assert api.delete(f"/promotions/{promo['id']}/metrics/self-reported/2026-03-03").status_code == 204
    assert api.delete(f"/promotions/{promo['id']}/metrics/self-reported/2026-03-03").status_code == 404
    doc = metrics(api, promo["id"]).json()
    assert doc["self_reported"] == [] and doc["series"] == []


# -- reports --------------------------------------------------------------------------------
def enter(api, scenario) -> None:
    ids = {n: p["id"] for n, p in scenario.promos.items()}
    assert metrics(api, ids["A"], "put", json={"series": [A_LATE, A_EARLY]}).status_code == 200
    assert metrics(api, ids["C"], "post", json=C_POST).status_code == 200


def test_engagement_figures_per_promotion_match_the_hand_computation(scenario, api):
    enter(api, scenario)
    rows = {row["promotion"]: row for row in api.get("/reports", params={"by": "promotion"}).json()["rows"]}
    a, b, c, d = (rows[scenario.promos[n]["id"]] for n in "ABCD")
    # A, as of its latest snapshot: 1500 + 150 + 80 + 70 = 1800 engagements
    assert (a["engagements"], a["impressions"], a["reach"], a["views"]) == (1800, 60_000, 45_000, 9_000)
    assert a["engagement_rate_followers"] == "0.0360" and a["engagement_rate"] == "0.0360"  # 1800 / 50000
    assert a["engagement_rate_reach"] == "0.0400"  # 1800 / 45000
    assert a["cost_per_engagement"] == 6  # 10920 / 1800 = 6.07 cents
    assert a["cpm"] == 182  # 10920 * 1000 / 60000
    assert a["ctr_impressions"] == "0.0000"  # 3 / 60000 = 0.00005: four places, half-even
    assert (c["engagements"], c["engagement_rate_followers"], c["engagement_rate_reach"]) == (40_000, "0.0200",
                                                                                              "0.0160")  # fmt: skip
    assert (c["cost_per_engagement"], c["cpm"], c["ctr_impressions"]) == (5, 67, "0.0000")  # 200000/40000, 66.67
    for row in (b, d):
        assert [row[k] for k in ("engagements", "engagement_rate_followers", "engagement_rate_reach",
                                 "cost_per_engagement", "cpm", "ctr_impressions")] == [None] * 6  # fmt: skip
    # to 2026-10-03: A's snapshot of 10-02 (1200 engagements, 40000 impressions); spend to then is the
    # flat fee + 10% of 7000 = 10700 (the clicks came later)
    dated = {row["promotion"]: row for row in api.get("/reports", params={"by": "promotion", "to": "2026-10-03"})
             .json()["rows"]}  # fmt: skip
    a = dated[scenario.promos["A"]["id"]]
    assert (a["engagements"], a["impressions"], a["spend"]) == (1200, 40_000, 10_700)
    assert (a["cpm"], a["cost_per_engagement"], a["engagement_rate_followers"]) == (268, 9, "0.0240")  # 267.5, 8.92
    before = {row["promotion"]: row for row in api.get("/reports", params={"by": "promotion", "to": "2026-10-01"})
              .json()["rows"]}  # fmt: skip
    assert before[scenario.promos["A"]["id"]]["engagements"] is None


def test_tiers_and_the_comparison_against_their_expected_ranges(scenario, api):
    enter(api, scenario)
    tiers = {row["tier"]: row for row in api.get("/reports", params={"by": "tier"}).json()["rows"]}
    micro, celeb, macro = tiers["micro"], tiers["celebrity"], tiers["macro"]
    # micro = A (with metrics) + B (without): A's engagements over A's followers and spend only
    assert (micro["engagements"], micro["engagement_rate_followers"], micro["cost_per_engagement"]) == (1800, "0.0360",
                                                                                                       6)  # fmt: skip
    assert micro["expected_engagement_rate"] == {"min": "2.4", "max": None}
    assert micro["engagement_vs_expected"] == "within"
    assert celeb["expected_engagement_rate"] == {"min": "2", "max": "5"} and celeb["engagement_vs_expected"] == "within"
    assert macro["engagement_vs_expected"] is None  # no metrics, and no default range
    ranges = {"micro": {"min": "4"}, "celebrity": {"min": "1", "max": "1.5"}}
    resp = api.patch("/brand", json={"engagement_ranges": ranges})
    assert resp.status_code == 200 and resp.json()["engagement_ranges"]["nano"] == {"min": None, "max": None}
    tiers = {row["tier"]: row for row in api.get("/reports", params={"by": "tier"}).json()["rows"]}
    assert [tiers[t]["engagement_vs_expected"] for t in ("micro", "celebrity")] == ["below", "above"]
    groups = api.get("/reports/comparison").json()["groups"]
    assert [(g["engagement_rate_followers"], g["engagement_vs_expected"]) for g in groups] == [
        ("0.0360", "below"), ("0.0200", "above")]  # fmt: skip
    csv_text = api.get("/reports", params={"by": "tier", "format": "csv"}).text
    assert csv_text.splitlines()[0].endswith(",expected_engagement_rate,engagement_vs_expected")


@pytest.mark.parametrize(
    ("ranges", "field"),
    [({"micro": {"min": "-1"}}, "min"), ({"micro": {"min": "101"}}, "min"),
     ({"micro": {"min": "5", "max": "4"}}, "max"), ({"micro": {"min": 2.4}}, None), ({"mega": {"min": "2"}}, "mega")],
)  # fmt: skip
def test_engagement_ranges_are_percent_text_and_checked(api, ranges, field):
    resp = api.patch("/brand", json={"engagement_ranges": ranges})
    if field is None:  # a JSON number is taken too, as for other decimals
        assert resp.status_code == 200 and resp.json()["engagement_ranges"]["micro"]["min"] == "2.4"
        return
    assert resp.status_code == 422 and field in resp.json()["message"], resp.text


def test_reports_read_one_field_per_promotion(scenario, api, r):
    """The latest snapshot sits in one hash field: a report covering all time reads only it."""
    enter(api, scenario)
    latest = r.hget(keys.promotion_metrics(api.brand["id"], scenario.promos["A"]["id"]), "latest")
    assert latest and b'"2026-10-05"' in latest


# -- the dashboard and the influencer's page in a browser -----------------------------------
def test_the_dashboard_form_enters_a_snapshot_and_names_bad_fields(api, server):
    promo = api.promotion()
    http = requests.Session()
    login = http.get(f"{server.url}/dashboard/login").text
    csrf = html.unescape(TOKEN.search(login).group(1))
    assert http.post(f"{server.url}/dashboard/login", data={"api_key": api.key, "csrf_token": csrf},
                     allow_redirects=False).status_code == 303  # fmt: skip
    url = f"{server.url}/dashboard/manage/promotions/{promo['id']}/metrics"
    csrf = html.unescape(TOKEN.search(http.get(url).text).group(1))
    bad = http.post(url, data={"csrf_token": csrf, "date": "2026-03-01", "likes": "-2"})
    assert bad.status_code == 422 and 'id="err-likes"' in bad.text
    bad = http.post(url, data={"csrf_token": csrf, "date": "2026-03-01", "likes": "2"})
    assert bad.status_code == 422 and "posting day, 2026-03-02" in html.unescape(bad.text)
    ok = http.post(url, data={"csrf_token": csrf, "date": "2026-03-04", "likes": "1,000", "reach": "20000"},
                   allow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    assert metrics(api, promo["id"]).json()["latest"]["likes"] == 1000
    http.close()


@pytest.mark.slow
def test_browser_the_influencer_reports_and_the_brand_confirms(api, server, browser, tab):
    promo = api.promotion()
    token = api.post(f"/influencers/{promo['influencer_id']}/portal-tokens").json()["token"]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{server.url}/i/{token}")
    form = page.locator("#metrics-form")
    form.get_by_label("Date").fill("2026-03-04")
    form.get_by_label("Likes").fill("900")
    form.get_by_label("Comments").fill("100")
    form.get_by_label("Reach").fill("25000")
    form.get_by_role("button", name="Send metrics").click()
    expect(page.locator("#metrics-saved")).to_be_visible()
    expect(page.locator("#your-metrics tbody tr")).to_contain_text("self-reported, awaiting confirmation")
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    assert row["engagements"] is None  # not in reports until confirmed
    # the brand signs in, sees it labelled self-reported, and confirms it
    tab.goto(f"/dashboard/manage/promotions/{promo['id']}/metrics")
    tab.page.get_by_label("API key").fill(api.key)
    tab.page.get_by_role("button", name="Sign in").click()
    pending = tab.page.locator("#metrics-self-reported tbody tr")
    expect(pending).to_contain_text("self-reported")
    tab.page.get_by_role("button", name="Confirm 2026-03-04").click()
    expect(tab.page.locator("#metrics-series tbody tr")).to_contain_text("confirmed from the influencer")
    expect(tab.page.locator("#metrics-self-reported")).to_have_count(0)
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    rates = (row["engagements"], row["engagement_rate_followers"], row["engagement_rate_reach"])
    assert rates == (1000, "0.0200", "0.0400")  # 1000 / 50000 followers, 1000 / 25000 reach
    page.reload()
    expect(page.locator("#your-metrics tbody tr")).to_contain_text("confirmed by Acme")
    assert not tab.outside()
    context.close()
