"""The influencer's private page: tokens the brand mints and revokes, the page's own numbers, QR codes."""

from __future__ import annotations

import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import segno

from tests import platforms
from tests.conftest import LiveServer, base_config
from tracker import keys
from tracker.portal import views

BASE = "https://go.example"
UA1 = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
UA2 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
UA3 = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari"


@pytest.fixture(scope="module")
def site(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose short links are under BASE."""
    live = LiveServer(base_config(redis_url, str(tmp_path_factory.mktemp("portal")), BASE_URL=BASE))
    yield live
    live.stop()


@pytest.fixture
def brand(new_brand, site):
    return new_brand("Acme", base=site.url)


def mint(api, influencer_id: str) -> dict:
    resp = api.post(f"/influencers/{influencer_id}/portal-tokens")
    assert resp.status_code == 201, resp.text
    return resp.json()


def open_page(site, token: str, path: str = "") -> requests.Response:
    return requests.get(f"{site.url}/i/{token}{path}")


class Story:
    """Two influencers of one brand; A's figures computed by hand (USD, EUR at 1.10).

    A, promotion P1 (long-running, 12.5%, flat fee 432.10): links L1, L2.
       L1 clicks: UA1, UA1, UA2 + a bot -> 3 clicks, 2 unique; L2: UA1 -> 1 click, 1 unique.
       Orders: o1 100.04 by L1's click id; o2 50.00 by code JANE10, refunded 10.00.
       -> revenue 10004 + 4000 = 14004, commission 12.5% = 1750.5 -> 1750 (half-even).
    A, promotion P2 (24-hour, 10%, flat fee 987.65): link L3, clicked by UA3 once.
       Orders: o3 EUR 20.00 by L3's click id -> 22.00 USD; o4 33.33 by click id, fully refunded.
       -> 1 conversion, revenue 2200, commission 220.
    A in all: clicks 5, unique 4, conversions 3, revenue 162.04 USD, commission 19.70 USD.
    B (@otherperson, 20%, flat fee 555.55): link LB clicked twice, order 77.77.
    """

    def __init__(self, api, site):
        self.api, self.site = api, site
        self.secret = api.post("/integrations/generic/secrets", json={}).json()["secret"]
        api.put("/brand/rates/EUR", json={"rate": "1.10"})
        c1 = api.create("/campaigns", name="Spring Run", slug="spring", destination_url="https://s.example/",
                        starts_on="2026-03-01")  # fmt: skip
        c2 = api.create("/campaigns", name="Flash Friday", slug="flash", destination_url="https://s.example/f",
                        starts_on="2026-03-01")  # fmt: skip
        self.a = api.create("/influencers", handle="jane.runs", platform="instagram", followers=40_000)
        self.b = api.create("/influencers", handle="otherperson", platform="tiktok", followers=60_000)

        def promotion(camp, inf, style, percent, flat, codes=()):
            return api.create(
                "/promotions", campaign_id=camp["id"], influencer_id=inf["id"], style=style,
                posted_at="2026-03-02T12:00:00Z", discount_codes=list(codes),
                cost={"flat_fee": flat, "commission_percent": percent},
            )  # fmt: skip

        self.p1 = promotion(c1, self.a, "long_running", "12.5", 43_210, ["JANE10"])
        self.p2 = promotion(c2, self.a, "timeboxed", "10", 98_765)
        self.pb = promotion(c1, self.b, "long_running", "20", 55_555, ["OTHER20"])
        self.links = {
            name: api.create("/links", promotion_id=p["id"])
            for name, p in (("L1", self.p1), ("L2", self.p1), ("L3", self.p2), ("LB", self.pb))
        }

    def click(self, name: str, ua: str) -> str:
        resp = requests.get(f"{self.site.url}/{self.links[name]['code']}", headers={"User-Agent": ua},
                            allow_redirects=False)  # fmt: skip
        assert resp.status_code == 302
        return parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0]

    def post(self, signed: tuple[bytes, dict]) -> None:
        body, headers = signed
        resp = requests.post(f"{self.site.url}/webhooks/{self.api.brand['id']}/generic", data=body, headers=headers)
        assert resp.status_code == 200, resp.text

    def order(self, order_id: str, amount: int, currency: str = "USD", **keys: str) -> None:
        self.post(platforms.generic_order(self.secret, order_id=order_id, amount=amount, currency=currency, **keys))

    def refund(self, order_id: str, amount: int) -> None:
        signed = platforms.generic_refund(
            self.secret, order_id=order_id, refund_id=f"r-{order_id}", amount=amount, currency="USD"
        )
        self.post(signed)

    def play(self) -> None:
        t1 = self.click("L1", UA1)
        self.click("L1", UA1)
        self.click("L1", UA2)
        self.click("L1", "Twitterbot/1.0")
        self.click("L2", UA1)
        t3 = self.click("L3", UA3)
        tb = self.click("LB", UA1)
        self.click("LB", UA2)
        self.order("o1", 10_004, click_id=t1)
        self.order("o2", 5_000, discount_code="jane10")
        self.refund("o2", 1_000)
        self.order("o3", 2_000, "EUR", click_id=t3)
        self.order("o4", 3_333, click_id=t3)
        self.refund("o4", 3_333)
        self.order("ob", 7_777, click_id=tb)


@pytest.fixture
def story(brand, site, run_worker) -> Story:
    s = Story(brand, site)
    s.play()
    run_worker()
    return s


def test_a_token_opens_the_page_until_the_brand_revokes_it(brand, site, r):
    inf = brand.create("/influencers", handle="jane", platform="instagram", followers=20_000)
    made = mint(brand, inf["id"])
    assert set(made) == {"id", "token", "url", "created_at"}
    assert made["url"] == f"{BASE}/i/{made['token']}"
    page = open_page(site, made["token"])
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "@jane" in page.text

    listed = brand.get(f"/influencers/{inf['id']}/portal-tokens")
    assert listed.status_code == 200
    assert listed.json() == [{"id": made["id"], "hint": "…" + made["token"][-4:], "created_at": made["created_at"]}]
    assert made["token"] not in listed.text

    other = mint(brand, inf["id"])
    assert brand.delete(f"/influencers/{inf['id']}/portal-tokens/{made['id']}").status_code == 204
    gone = open_page(site, made["token"])
    assert gone.status_code == 404 and gone.headers["Content-Type"].startswith("text/html")
    assert "revoked" in gone.text
    assert open_page(site, other["token"]).status_code == 200  # the other token still works
    assert [t["id"] for t in brand.get(f"/influencers/{inf['id']}/portal-tokens").json()] == [other["id"]]
    assert brand.delete(f"/influencers/{inf['id']}/portal-tokens/{made['id']}").status_code == 404


def test_only_a_hash_of_the_token_is_stored(brand, r):
    inf = brand.create("/influencers", handle="jane", platform="instagram", followers=20_000)
    token = mint(brand, inf["id"])["token"]
    assert r.get(keys.portal_token(hashlib.sha256(token.encode()).hexdigest())) is not None
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        dump = repr(r.hgetall(key) if kind == "hash" else r.get(key) if kind == "string" else b"")
        assert token not in key.decode() and token not in dump


@pytest.mark.parametrize("token", ["nope", "x" * 43, "a" * 40 + ".svg", "a" * 40 + "%20b", "", "x" * 43 + "/qr/"])
def test_an_unknown_or_malformed_token_is_a_404_page(site, token):
    resp = open_page(site, token)
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html")


def test_the_page_shows_this_influencers_own_numbers_and_nothing_else(story, site):
    token = mint(story.api, story.a["id"])["token"]
    resp = open_page(site, token)
    html = resp.text
    assert resp.status_code == 200
    figure = {name: re.search(rf'id="{name}">([^<]*)<', html).group(1) for name in
              ("clicks", "conversions", "revenue", "commission")}  # fmt: skip
    assert figure == {"clicks": "5", "conversions": "3", "revenue": "162.04 USD", "commission": "19.70 USD"}
    assert "4 unique" in html
    for name, (clicks, unique) in {"L1": (3, 2), "L2": (1, 1), "L3": (1, 1)}.items():
        card = html.split(f'id="link-{story.links[name]["id"]}"')[1].split("</article>")[0]
        assert f"{BASE}/{story.links[name]['code']}" in card and f"{clicks} clicks · {unique} unique" in card
    assert "Spring Run" in html and "Flash Friday" in html
    assert "17.50 USD" in html and "2.20 USD" in html  # per promotion: 1750 and 220
    # Nothing of the other influencer, and nothing of the brand's costs.
    assert "otherperson" not in html and story.links["LB"]["code"] not in html and "77.77" not in html
    for fee in ("432.10", "987.65", "555.55"):
        assert fee not in html
    assert "spend" not in html.lower() and "ROI" not in html and "ROAS" not in html


def test_the_page_loads_nothing_from_elsewhere_and_is_not_cached(story, site):
    token = mint(story.api, story.a["id"])["token"]
    resp = open_page(site, token)
    refs = re.findall(r'(?:src|href)="([^"]*)"', resp.text)
    assert refs and all(ref.startswith(f"/i/{token}/qr/") or ref == "/i/-/copy.js" for ref in refs)
    assert "<style>" in resp.text and "<link" not in resp.text
    assert re.findall(r"<script[^>]*>", resp.text) == ['<script src="/i/-/copy.js" defer>']  # the copy buttons'
    assert requests.get(f"{site.url}/i/-/copy.js").status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    imgs = re.findall(r'<img src="([^"]+)"', resp.text)
    assert sorted(imgs) == sorted(f"/i/{token}/qr/{story.links[n]['id']}.svg" for n in ("L1", "L2", "L3"))


def test_qr_codes_encode_the_links_short_url_as_svg_and_png(story, site):
    token = mint(story.api, story.a["id"])["token"]
    link = story.links["L1"]
    short_url = f"{BASE}/{link['code']}"
    svg = open_page(site, token, f"/qr/{link['id']}.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "Content-Disposition" not in svg.headers
    assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"
    png = open_page(site, token, f"/qr/{link['id']}.png?download=1")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"] == f'attachment; filename="qr-{link["code"]}.png"'
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    for kind, resp in (("svg", svg), ("png", png)):
        expected = io.BytesIO()
        segno.make(short_url, micro=False, error=views.QR_ERROR).save(
            expected, kind=kind, scale=views.QR_SCALE, border=views.QR_BORDER
        )
        assert resp.content == expected.getvalue()  # exactly the code of the short URL
    download = open_page(site, token, f"/qr/{link['id']}.svg?download=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="qr-{link["code"]}.svg"'


@pytest.mark.parametrize("path", ["/qr/{other}.svg", "/qr/{other}.png", "/qr/nope.png", "/qr/{own}.gif"])
def test_a_qr_code_of_a_link_that_is_not_the_influencers_is_404(story, site, path):
    token = mint(story.api, story.a["id"])["token"]
    resp = open_page(site, token, path.format(other=story.links["LB"]["id"], own=story.links["L1"]["id"]))
    assert resp.status_code == 404


def test_another_brand_can_neither_mint_list_nor_revoke_an_influencers_tokens(brand, new_brand, site):
    inf = brand.create("/influencers", handle="jane", platform="instagram", followers=20_000)
    made = mint(brand, inf["id"])
    intruder = new_brand("Other", base=site.url)
    path = f"/influencers/{inf['id']}/portal-tokens"
    assert intruder.post(path).status_code == 404
    assert intruder.get(path).status_code == 404
    assert intruder.delete(f"{path}/{made['id']}").status_code == 404
    assert requests.get(f"{site.url}/api/v1{path}").status_code == 401
    assert open_page(site, made["token"]).status_code == 200
