"""The shop's click-id snippet (`/snippet/<brand>.js`) in a real Chromium, on test shop pages served
from another origin: landing page -> second page -> checkout, Shopify's cart attribute carried to
a real signed order webhook, a visitor who refuses storage, and the script's HTTP caching."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests import browser as browser_plugin
from tests import platforms
from tests.conftest import wait_for

browser = browser_plugin.browser  # the fixture: Chromium once per module

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,">{shopify}
<script src="{tracker}/snippet/{brand}.js" {attrs}></script></head>
<body><h1>{title}</h1><a id="next" href="{next}">next</a>
<a id="pay" href="https://buy.stripe.com/test_abc?locale=en">Pay</a><p id="cid"></p>
<script>document.getElementById("cid").textContent = String(window.influenceLedger.clickId());</script>
</body></html>"""
NEXT = {"landing": "second", "second": "checkout", "checkout": "landing"}
REFUSE_STORAGE = """
Object.defineProperty(Document.prototype, "cookie", {
  get() { throw new DOMException("cookies are blocked", "SecurityError"); },
  set(v) { throw new DOMException("cookies are blocked", "SecurityError"); },
  configurable: true,
});
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("storage is blocked", "SecurityError"); },
  configurable: true,
});
"""


class Shop:
    """A test shop on its own origin (localhost, its own port): pages /<mode>/<brand>/<page> where
    mode is plain, shopify (window.Shopify set) or stripe (data-stripe-links), and a fake Shopify
    `/cart/update.js` that records what it gets."""

    def __init__(self, tracker: str):
        self.tracker = tracker
        self.cart_posts: list[dict[str, Any]] = []
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path).path.strip("/").split("/")
                if len(parts) != 3 or parts[2] not in NEXT:
                    self.send_error(404)
                    return
                mode, brand, name = parts
                body = PAGE.format(
                    title=name, tracker=shop.tracker, brand=brand, next=f"/{mode}/{brand}/{NEXT[name]}",
                    shopify='<script>window.Shopify = {routes: {root: "/"}};</script>' if mode == "shopify" else "",
                    attrs="data-stripe-links" if mode == "stripe" else "",
                ).encode()  # fmt: skip
                self._send(200, "text/html; charset=utf-8", body)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/cart/update.js":
                    self.send_error(404)
                    return
                shop.cart_posts.append({"type": self.headers.get("Content-Type"), "json": json.loads(body)})
                self._send(200, "application/json", b'{"token": "cart-1", "attributes": {}}')

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}"  # another origin than the tracker's 127.0.0.1
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shop_site(server) -> Iterator[Shop]:
    shop = Shop(server.url)
    yield shop
    shop.stop()


@pytest.fixture
def shop(shop_site: Shop) -> Shop:
    shop_site.cart_posts.clear()
    return shop_site


class Visitor:
    """A Chromium context on the shop, with every page error and console error it saw."""

    def __init__(self, browser: Browser, init_script: str | None = None):
        self.context = browser.new_context()
        if init_script:
            self.context.add_init_script(init_script)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))

    def shown(self) -> str:
        return self.page.locator("#cid").inner_text()

    def next(self) -> None:
        with self.page.expect_navigation():
            self.page.click("#next")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Browser) -> Iterator[Any]:
    opened: list[Visitor] = []

    def make(init_script: str | None = None) -> Visitor:
        opened.append(Visitor(browser, init_script))
        return opened[-1]

    yield make
    for v in opened:
        v.close()


def real_click(server, api, param: str = "tid") -> tuple[dict[str, Any], str]:
    """A link of a new promotion, and the click id of a real redirect through it."""
    link = api.link()
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    resp = requests.get(f"{server.url}/{link['code']}", headers={"User-Agent": ua}, allow_redirects=False)
    assert resp.status_code == 302
    return link, parse_qs(urlsplit(resp.headers["Location"]).query)[param][0]


def test_the_click_id_survives_from_the_landing_page_to_checkout_in_a_first_party_cookie(server, api, shop, visit):
    assert api.patch("/brand", json={"attribution_window_days": 7}).status_code == 200
    _, tid = real_click(server, api)
    v = visit()
    v.page.goto(f"{shop.url}/plain/{api.brand['id']}/landing?tid={tid}&utm_source=x")
    assert v.shown() == tid
    v.next()
    assert urlsplit(v.page.url).query == "" and v.shown() == tid
    v.next()
    assert v.page.url.endswith("/checkout")
    assert v.shown() == tid
    assert v.page.evaluate("window.influenceLedger.clickId()") == tid

    cookies = {c["name"]: c for c in v.context.cookies()}
    assert set(cookies) == {"il_click"}  # nothing from the tracker's origin: no third-party cookie
    kept = cookies["il_click"]
    assert kept["value"] == tid and kept["domain"] == "localhost" and kept["sameSite"] == "Lax"
    assert abs(kept["expires"] - (time.time() + 7 * 86400)) < 120  # the brand's attribution window
    stored = json.loads(v.page.evaluate("localStorage.getItem('il_click')"))
    assert stored["id"] == tid
    assert not v.errors
    assert shop.cart_posts == []  # not a Shopify store: no cart call


def test_a_newer_click_replaces_the_kept_one_and_an_altered_value_is_ignored(server, api, shop, visit):
    _, first = real_click(server, api)
    _, second = real_click(server, api)
    v = visit()
    base = f"{shop.url}/plain/{api.brand['id']}"
    v.page.goto(f"{base}/landing?tid={first}")
    v.page.goto(f"{base}/landing?tid={second}")
    v.page.goto(f"{base}/checkout")
    assert v.shown() == second  # last click wins
    v.page.goto(f"{base}/landing?tid=<script>")
    assert v.shown() == second  # not an id: ignored, the kept one stays
    assert not v.errors


def test_on_shopify_the_cart_attribute_reaches_the_order_and_attributes_it(server, api, shop, visit):
    assert api.patch("/brand", json={"click_param": "via"}).status_code == 200
    link, tid = real_click(server, api, param="via")
    secret = api.post("/integrations/shopify/secrets", json={}).json()["secret"]
    v = visit()
    v.page.goto(f"{shop.url}/shopify/{api.brand['id']}/landing?via={tid}")
    wait_for("the cart update", lambda: shop.cart_posts, 10)
    assert shop.cart_posts[0] == {"type": "application/json", "json": {"attributes": {"via": tid}}}
    v.next()
    v.next()
    assert v.shown() == tid and not v.errors

    # The order Shopify sends: the landing page's query is gone, the cart attribute is in note_attributes.
    attributes = shop.cart_posts[-1]["json"]["attributes"]
    body, headers = platforms.shopify_order(
        secret, order_id=7_100_200_300, total="59.90", currency="USD", landing_site="/collections/all",
        note_attributes=attributes,
    )  # fmt: skip
    resp = requests.post(f"{server.url}/webhooks/{api.brand['id']}/shopify", data=body, headers=headers)
    assert resp.status_code == 200, resp.text
    conversion = api.get(f"/conversions/{resp.json()['events'][0]['conversion_id']}").json()
    a = conversion["attribution"]
    assert a["status"] == "attributed" and a["matched_by"] == "click_id"
    assert a["promotion_id"] == link["promotion_id"] and a["click"]["id"] == tid


def test_stripe_payment_links_carry_the_click_id_when_asked(server, api, shop, visit):
    _, tid = real_click(server, api)
    v = visit()
    v.page.goto(f"{shop.url}/stripe/{api.brand['id']}/landing?tid={tid}")
    href = v.page.get_attribute("#pay", "href")
    assert parse_qs(urlsplit(href).query) == {"locale": ["en"], "client_reference_id": [tid]}
    v.page.goto(f"{shop.url}/plain/{api.brand['id']}/landing")
    assert v.page.get_attribute("#pay", "href") == "https://buy.stripe.com/test_abc?locale=en"  # not asked: untouched
    assert not v.errors


@pytest.mark.parametrize("mode", ["plain", "shopify"])
def test_a_visitor_who_refuses_storage_gets_no_errors_and_the_landing_page_still_has_the_id(
    server, api, shop, visit, mode
):
    _, tid = real_click(server, api)
    v = visit(REFUSE_STORAGE)
    v.page.goto(f"{shop.url}/{mode}/{api.brand['id']}/landing?tid={tid}")
    probe = "(() => { try { document.cookie; return 'readable'; } catch (e) { return 'refused'; } })()"
    assert v.page.evaluate(probe) == "refused"
    assert v.shown() == tid
    if mode == "shopify":
        wait_for("the cart update", lambda: shop.cart_posts, 10)
        assert shop.cart_posts[0]["json"] == {"attributes": {"tid": tid}}
    v.next()
    assert v.shown() == "null"  # nothing could be kept: no id, and no error either
    assert v.page.evaluate("window.influenceLedger.clickId()") is None
    assert not v.errors


def test_the_script_is_small_cacheable_and_knows_the_brand(server, api):
    api.patch("/brand", json={"click_param": "ref_id", "attribution_window_days": 14})
    url = f"{server.url}/snippet/{api.brand['id']}.js"
    resp = requests.get(url)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Cache-Control"] == "public, max-age=300" and resp.headers["ETag"]
    assert len(resp.content) < 5_000
    assert 'PARAM = "ref_id", DAYS = 14' in resp.text
    again = requests.get(url, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_an_unknown_brand_has_no_script(server):
    resp = requests.get(f"{server.url}/snippet/nobrand123.js")
    assert resp.status_code == 404 and resp.json()["message"] == "brand nobrand123 not found"
