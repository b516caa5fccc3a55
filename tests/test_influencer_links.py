"""Links influencers make from their page: one per channel in their own promotions, CSRF-protected,
within the brand's cap; the brand lists, filters and disables them; reports split a promotion by
channel (exactly once); and the whole form in a real Chromium."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests import browser as browser_plugin
from tests import platforms

browser = browser_plugin.browser  # the fixture: Chromium once per module
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
UA2 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


class Page:
    """The influencer's page over HTTP, as their browser sees it (its own session cookie)."""

    def __init__(self, server, token: str):
        self.url = f"{server.url}/i/{token}"
        self.http = requests.Session()

    def text(self) -> str:
        resp = self.http.get(self.url)
        assert resp.status_code == 200
        return html.unescape(resp.text)

    def csrf(self) -> str:
        found = TOKEN.search(self.http.get(self.url).text)
        assert found, "no CSRF token on the page"
        return html.unescape(found.group(1))

    def make(self, promotion_id: str, channel: str = "instagram-bio", other: str = "", csrf: str | None = "auto"):
        form = {"promotion_id": promotion_id, "channel": channel, "channel_other": other}
        if csrf is not None:
            form["csrf_token"] = self.csrf() if csrf == "auto" else csrf
        return self.http.post(f"{self.url}/links", data=form, allow_redirects=False)

    def error(self, resp: requests.Response) -> str:
        found = re.search(r'id="form-error">([^<]*)<', resp.text)
        assert found, resp.text[:300]
        return html.unescape(found.group(1))


class Setup:
    """A brand with an influencer who has two promotions and a page; another influencer and brand."""

    def __init__(self, new_brand, server):
        self.server = server
        self.api = new_brand("Acme")
        self.p1 = self.api.promotion(cost={"flat_fee": 10_000, "commission_percent": "10"})
        self.influencer_id = self.p1["influencer_id"]
        camp = self.api.create("/campaigns", name="Autumn", slug="autumn", destination_url="https://shop.example/a",
                               starts_on="2026-03-01")  # fmt: skip
        self.p2 = self.api.create("/promotions", campaign_id=camp["id"], influencer_id=self.influencer_id,
                                  style="timeboxed", posted_at="2026-03-05T12:00:00Z")  # fmt: skip
        self.other = self.api.promotion()  # another influencer's promotion, same brand
        self.token = self.api.post(f"/influencers/{self.influencer_id}/portal-tokens").json()["token"]
        self.page = Page(server, self.token)

    def links(self, **query: str) -> list[dict[str, Any]]:
        resp = self.api.get("/links", params=query)
        assert resp.status_code == 200, resp.text
        return resp.json()["items"]

    def click(self, link: dict[str, Any], ua: str = UA) -> str:
        resp = requests.get(f"{self.server.url}/{link['code']}", headers={"User-Agent": ua}, allow_redirects=False)
        assert resp.status_code == 302
        return parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0]


@pytest.fixture
def setup(new_brand, server) -> Iterator[Setup]:
    s = Setup(new_brand, server)
    yield s
    s.page.http.close()


def test_an_influencer_makes_an_ordinary_tracked_link_for_a_channel(setup):
    resp = setup.page.make(setup.p1["id"], "tiktok-video")
    assert resp.status_code == 303
    (link,) = setup.links(created_by="influencer")
    assert link["channel"] == "tiktok-video" and link["promotion_id"] == setup.p1["id"]
    assert link["created_by"] == "influencer" and link["disabled"] is False
    assert resp.headers["Location"].endswith(f"/i/{setup.token}?made={link['id']}#link-{link['id']}")
    assert "utm_source=" in link["tracked_url"]  # the promotion's destination, tagged like any link
    setup.click(link)  # and it redirects like any link
    page = setup.page.text()
    assert link["short_url"] in page and "TikTok video" in page
    assert "You have made 1 of the 10 links Acme allows." in page


@pytest.mark.parametrize(
    ("channel", "other", "stored"),
    [("youtube-description", "", "youtube-description"), ("instagram-bio", "  Discord   Server ", "discord-server"),
     ("x", "Xiaohongshu_小红书", "xiaohongshu_小红书")],
)  # fmt: skip
def test_a_typed_channel_wins_over_the_list_and_is_normalised(setup, channel, other, stored):
    assert setup.page.make(setup.p1["id"], channel, other).status_code == 303
    assert [link["channel"] for link in setup.links(created_by="influencer")] == [stored]


@pytest.mark.parametrize("other", ["<script>", "-dash-first", "a" * 41, "emoji 🎉"])
def test_a_channel_that_is_not_a_label_is_refused_with_its_reason(setup, other):
    resp = setup.page.make(setup.p1["id"], "instagram-bio", other)
    assert resp.status_code == 422
    assert setup.page.error(resp).startswith("Channel: Must be 1-40 letters, digits, spaces")
    assert other in html.unescape(resp.text)  # the form keeps what was typed
    assert setup.links(created_by="influencer") == []


def test_one_link_per_channel_in_a_promotion(setup):
    assert setup.page.make(setup.p1["id"], "instagram-bio").status_code == 303
    again = setup.page.make(setup.p1["id"], "", "Instagram Bio")
    assert again.status_code == 409
    assert setup.page.error(again) == "You already have a link for Instagram bio in this promotion."
    assert setup.page.make(setup.p2["id"], "instagram-bio").status_code == 303  # another promotion: fine
    assert len(setup.links(created_by="influencer")) == 2
    assert "You have made 2 of the 10" in setup.page.text()  # the refused one gave its slot back


@pytest.mark.parametrize("csrf", [None, "forged-token"])
def test_the_form_needs_the_pages_csrf_token(setup, csrf):
    resp = setup.page.make(setup.p1["id"], csrf=csrf)
    assert resp.status_code == 400
    assert "This form expired or was not sent from your page; nothing was made." in setup.page.error(resp)
    assert setup.links(created_by="influencer") == []


def test_a_token_from_another_browser_is_refused(setup, server):
    stranger = Page(server, setup.token)
    token = stranger.csrf()  # a valid token, but of another session
    assert setup.page.make(setup.p1["id"], csrf=token).status_code == 400
    stranger.http.close()


def test_another_influencers_or_brands_promotion_is_a_404(setup, new_brand):
    elsewhere = new_brand("Other").promotion()
    for promotion_id in (setup.other["id"], elsewhere["id"], "nope"):
        resp = setup.page.make(promotion_id)
        assert resp.status_code == 404 and "Page not found" in resp.text
    assert setup.links(created_by="influencer") == []


def test_a_revoked_page_makes_nothing(setup):
    token_id = setup.api.get(f"/influencers/{setup.influencer_id}/portal-tokens").json()[0]["id"]
    csrf = setup.page.csrf()
    setup.api.delete(f"/influencers/{setup.influencer_id}/portal-tokens/{token_id}")
    assert setup.page.make(setup.p1["id"], csrf=csrf).status_code == 404
    assert setup.links(created_by="influencer") == []


def test_the_brand_caps_how_many_links_an_influencer_makes(setup):
    assert setup.api.get("/brand").json()["max_self_links"] == 10
    assert setup.api.patch("/brand", json={"max_self_links": 2}).json()["max_self_links"] == 2
    assert setup.page.make(setup.p1["id"], "instagram-bio").status_code == 303
    csrf = setup.page.csrf()  # a page opened before the cap is reached
    assert setup.page.make(setup.p2["id"], "tiktok-bio").status_code == 303
    refused = setup.page.make(setup.p1["id"], "blog", csrf=csrf)
    assert refused.status_code == 409
    message = "You have made 2 links, the most Acme allows. Reuse one of your links, or ask Acme to allow more."
    assert setup.page.error(refused) == message
    assert len(setup.links(created_by="influencer")) == 2
    page = setup.page.text()
    assert message in page and '/links">' not in page  # no link form once the cap is reached
    # Disabling a link does not give its slot back; raising the cap does.
    link = setup.links(created_by="influencer")[0]
    setup.api.patch(f"/links/{link['id']}", json={"disabled": True})
    assert setup.page.make(setup.p1["id"], "blog", csrf=csrf).status_code == 409
    setup.api.patch("/brand", json={"max_self_links": 3})
    assert setup.page.make(setup.p1["id"], "blog").status_code == 303
    setup.api.patch("/brand", json={"max_self_links": 0})
    assert "Acme does not let you make links." in setup.page.text()


@pytest.mark.parametrize(
    ("value", "message"), [(-1, "Must be greater than or equal to 0"), ("5", "Not a valid integer.")]
)
def test_the_cap_is_a_small_whole_number(setup, value, message):
    resp = setup.api.patch("/brand", json={"max_self_links": value})
    assert resp.status_code == 422 and message in resp.json()["message"]
    assert resp.json()["message"].startswith("max_self_links:")


def test_the_api_shows_filters_and_takes_channels(setup):
    by_brand = setup.api.create("/links", promotion_id=setup.p1["id"], channel="Newsletter")
    assert by_brand["channel"] == "newsletter" and by_brand["created_by"] == "brand"
    setup.page.make(setup.p1["id"], "instagram-bio")
    setup.page.make(setup.p2["id"], "instagram-bio")
    assert [x["channel"] for x in setup.links(channel="Instagram bio")] == ["instagram-bio", "instagram-bio"]
    assert [x["id"] for x in setup.links(created_by="brand", promotion_id=setup.p1["id"])] == [by_brand["id"]]
    page = setup.api.get("/links", params={"channel": "instagram-bio", "page_size": 1, "page": 2}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    bad = setup.api.get("/links", params={"channel": "<b>"})
    assert bad.status_code == 422 and bad.json()["message"].startswith("channel: Must be 1-40")
    patched = setup.api.patch(f"/links/{by_brand['id']}", json={"channel": "blog"})
    assert patched.status_code == 422 and "channel" in patched.json()["message"]


def test_reports_split_a_promotion_by_channel_exactly_once(setup, run_worker):
    api = setup.api
    secret = api.post("/integrations/generic/secrets", json={}).json()["secret"]
    api.patch(f"/promotions/{setup.p1['id']}", json={"discount_codes": ["ACME5"]})
    setup.page.make(setup.p1["id"], "instagram-bio")
    setup.page.make(setup.p1["id"], "tiktok-video")
    bio, tiktok = sorted(setup.links(created_by="influencer"), key=lambda x: x["channel"])
    plain = api.create("/links", promotion_id=setup.p1["id"])  # the brand's own link, no channel
    t1, t2 = setup.click(bio), setup.click(bio, UA2)
    t3 = setup.click(tiktok)
    setup.click(plain)

    def order(order_id: str, amount: int, **key: str) -> None:
        body, headers = platforms.generic_order(secret, order_id=order_id, amount=amount, currency="USD", **key)
        resp = requests.post(f"{setup.server.url}/webhooks/{api.brand['id']}/generic", data=body, headers=headers)
        assert resp.status_code == 200, resp.text

    order("o1", 5_000, click_id=t1)
    order("o2", 2_500, click_id=t2)
    order("o3", 1_000, click_id=t3)
    order("o4", 700, discount_code="acme5")  # attributed by code: no link, no channel
    body, headers = platforms.generic_refund(secret, order_id="o2", refund_id="r1", amount=500, currency="USD")
    assert requests.post(f"{setup.server.url}/webhooks/{api.brand['id']}/generic", data=body,
                         headers=headers).status_code == 200  # fmt: skip
    run_worker()
    run_worker()  # a second roll-up adds nothing

    report = api.get("/reports", params={"by": "channel", "promotion_id": setup.p1["id"]}).json()
    rows = {row["channel"]: row for row in report["rows"]}
    assert set(rows) == {"instagram-bio", "tiktok-video", None}
    assert {k: rows["instagram-bio"][k] for k in ("name", "links", "clicks", "unique_clicks", "conversions",
                                                  "revenue", "refunds", "conversion_rate", "average_order_value")} == {
        "name": "Instagram bio", "links": 1, "clicks": 2, "unique_clicks": 2, "conversions": 2, "revenue": 7_000,
        "refunds": 500, "conversion_rate": "1.0000", "average_order_value": 3_500,
    }  # fmt: skip
    assert (rows["tiktok-video"]["clicks"], rows["tiktok-video"]["revenue"]) == (1, 1_000)
    assert (rows[None]["name"], rows[None]["clicks"], rows[None]["conversions"]) == ("no channel", 1, 0)
    assert report["totals"]["clicks"] == 4 and report["totals"]["revenue"] == 8_700
    assert report["without_link"] == {"conversions": 1, "revenue": 700}

    everything = api.get("/reports", params={"by": "channel"}).json()
    assert {r["channel"]: r["clicks"] for r in everything["rows"]} == {"instagram-bio": 2, "tiktok-video": 1, None: 1}
    as_csv = api.get("/reports", params={"by": "channel", "format": "csv"})
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert table[0]["channel"] == "instagram-bio" and table[0]["revenue"] == "7000"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [({"from": "2026-03-01"}, 422, "from: Reports by channel cover all time"),
     ({"promotion_id": "nope"}, 404, "promotion nope not found")],
)  # fmt: skip
def test_a_channel_report_names_what_it_cannot_do(setup, params, status, message):
    resp = setup.api.get("/reports", params={"by": "channel", **params})
    assert resp.status_code == status and resp.json()["message"].startswith(message)


def test_in_the_browser_make_a_link_see_it_disabled_and_hit_the_cap(setup, browser):
    setup.api.patch("/brand", json={"max_self_links": 2})
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(setup.page.url)
    expect(page.locator("#links-left")).to_have_text("You have made 0 of the 2 links Acme allows.")
    page.select_option("select[name=promotion_id]", setup.p2["id"])
    page.select_option("select[name=channel]", "youtube-description")
    page.click("button[type=submit]")
    (link,) = setup.links(created_by="influencer")
    card = page.locator(f"#link-{link['id']}")
    expect(card).to_contain_text(link["short_url"])
    expect(card).to_contain_text("YouTube description")
    expect(card).to_have_class(re.compile(r"\bnew\b"))
    assert card.get_attribute("data-state") == "active"

    setup.api.patch(f"/links/{link['id']}", json={"disabled": True})
    page.reload()
    expect(page.locator(f"#link-{link['id']} .state")).to_have_text("(disabled by Acme)")
    assert page.locator(f"#link-{link['id']}").get_attribute("data-state") == "disabled"

    page.fill("input[name=channel_other]", "Discord server")
    page.click("button[type=submit]")
    expect(page.locator("#cap-reached")).to_have_text(
        "You have made 2 links, the most Acme allows. Reuse one of your links, or ask Acme to allow more."
    )
    assert page.locator("form.make:not(.report)").count() == 0
    # A page left open while the cap was reached elsewhere: the refused form says why, in place.
    setup.api.patch("/brand", json={"max_self_links": 3})
    page.reload()
    setup.page.make(setup.p1["id"], "blog")
    page.select_option("select[name=channel]", "pinterest")
    page.click("button[type=submit]")
    expect(page.locator("#form-error")).to_have_text(
        "You have made 3 links, the most Acme allows. Reuse one of your links, or ask Acme to allow more."
    )
    assert not errors
    context.close()


def test_the_dashboard_lists_a_links_channel_and_who_made_it(setup, server):
    setup.page.make(setup.p1["id"], "tiktok-bio")
    dash = requests.Session()
    login = dash.get(f"{server.url}/dashboard/login").text
    csrf = html.unescape(TOKEN.search(login).group(1))
    assert dash.post(f"{server.url}/dashboard/login", data={"api_key": setup.api.key, "csrf_token": csrf},
                     allow_redirects=False).status_code == 303  # fmt: skip
    listing = html.unescape(dash.get(f"{server.url}/dashboard/manage/links").text)
    assert re.search(r'<td class="channel">tiktok-bio <small>\(made by the influencer\)</small></td>', listing)
    assert 'name="channel"' in dash.get(f"{server.url}/dashboard/manage/links/new").text
    dash.close()
