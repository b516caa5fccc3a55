"""One link resolver (tracker/resolve.py) for the redirect and attribution: in one process, a
change made through it is seen at once by both, whatever LINK_CACHE_SECONDS says; while Redis is
down the redirect answers from what it last resolved, changes made here included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from tests import platforms
from tests.conftest import Api, Clock, free_port, served
from tests.test_conversions import Shop
from tracker import embedded

# Far longer than any test: without invalidation, what a process cached would outlive the test.
TTL = 60


@pytest.fixture(scope="module")
def granian(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One web process as `tracker web` serves it (granian, one worker), caching links for a minute."""
    with served(redis_url, tmp_path_factory.mktemp("sp"), LINK_CACHE_SECONDS=str(TTL)) as base:
        yield base


@pytest.fixture
def shop(new_brand, granian, visitor) -> Shop:
    """A brand with a link and webhook secrets, its API calls, clicks and orders all to `granian`."""
    return Shop(new_brand(base=granian), SimpleNamespace(url=granian), visitor)


def get(http: requests.Session, base: str, code: str) -> requests.Response:
    return http.get(f"{base}/{code}", allow_redirects=False)


def order(shop: Shop, tid: str) -> dict:
    """The conversion recorded for an order carrying click id `tid`, as the API shows it."""
    signed = platforms.generic_order(shop.secrets["generic"], order_id=f"o-{time.time_ns()}", amount=4990,
                                     currency="USD", click_id=tid)  # fmt: skip
    return shop.conversion(shop.post("generic", signed))


def test_disabling_a_link_makes_its_next_redirect_410_in_every_spelling(shop, visitor):
    code = shop.link["code"]
    assert [get(visitor, shop.server.url, c).status_code for c in (code, code.upper())] == [302, 302]  # cached
    tid = shop.click()
    assert shop.api.patch(f"/links/{shop.link['id']}", json={"disabled": True}).status_code == 200
    assert [get(visitor, shop.server.url, c).status_code for c in (code, code.upper(), code.lower())] == [410] * 3
    # Attribution reads the same record; a click made before the link was disabled still counts
    # (README, Attribution: the signature, the brand and the window decide).
    a = order(shop, tid)["attribution"]
    assert (a["status"], a["click"]["link_id"]) == ("attributed", shop.link["id"])


def test_a_new_destination_is_redirected_to_at_once(shop, visitor):
    first = get(visitor, shop.server.url, shop.link["code"])
    assert first.headers["Location"].startswith("https://shop.example/landing?")
    changed = shop.api.patch(f"/links/{shop.link['id']}", json={"destination_url": "https://shop.example/sale"})
    assert changed.status_code == 200
    location = get(visitor, shop.server.url, shop.link["code"]).headers["Location"]
    assert location.startswith("https://shop.example/sale?utm_source=")
    tid = parse_qs(urlsplit(location).query)["tid"][0]
    a = order(shop, tid)["attribution"]
    assert (a["status"], a["click"]["link_id"]) == ("attributed", shop.link["id"])


def test_a_new_click_parameter_is_in_the_next_redirect(shop, visitor):
    assert "tid=" in get(visitor, shop.server.url, shop.link["code"]).headers["Location"]
    assert shop.api.patch("/brand", json={"click_param": "il_click"}).status_code == 200
    q = parse_qs(urlsplit(get(visitor, shop.server.url, shop.link["code"]).headers["Location"]).query)
    assert "il_click" in q and "tid" not in q


def test_a_code_created_after_a_miss_is_found_at_once(shop, visitor):
    assert get(visitor, shop.server.url, "Fresh-Code-1").status_code == 404  # the miss is cached
    link = shop.api.create("/links", promotion_id=shop.promotion["id"], code="fresh-code-1")
    resp = get(visitor, shop.server.url, "Fresh-Code-1")
    assert resp.status_code == 302
    a = order(shop, parse_qs(urlsplit(resp.headers["Location"]).query)["tid"][0])["attribution"]
    assert (a["status"], a["click"]["link_id"], a["click"]["code"]) == ("attributed", link["id"], "Fresh-Code-1")


@pytest.fixture
def own_redis() -> Iterator[SimpleNamespace]:
    """A redis-server of the test's own, which the test stops."""
    port = free_port()
    state = SimpleNamespace(proc=embedded.start(port, persist=False), url=f"redis://127.0.0.1:{port}/0")
    yield state
    state.proc.terminate()
    state.proc.wait(10)


def test_while_redis_is_down_the_redirect_serves_the_link_as_last_changed_here(own_redis, make_server_with, visitor):
    from tracker.brands.model import create_brand

    live = make_server_with(REDIS_URL=own_redis.url, LINK_CACHE_SECONDS=TTL, LINK_STALE_SECONDS=600)
    clock = live.app.links.clock = Clock()  # a fixed clock: freshness and staleness without waiting
    own = redis.Redis.from_url(own_redis.url)
    api = Api(live.url, *create_brand(own, "Outage"))
    own.close()
    link, other = api.link(), api.link()
    assert get(visitor, live.url, link["code"]).status_code == 302
    assert get(visitor, live.url, other["code"]).status_code == 302
    assert api.patch(f"/links/{link['id']}", json={"destination_url": "https://shop.example/sale"}).status_code == 200
    assert get(visitor, live.url, link["code"]).headers["Location"].startswith("https://shop.example/sale?")
    assert api.patch(f"/links/{other['id']}", json={"disabled": True}).status_code == 200
    assert get(visitor, live.url, other["code"]).status_code == 410

    own_redis.proc.terminate()
    own_redis.proc.wait(10)
    clock.now += TTL + 1  # past freshness, within LINK_STALE_SECONDS: the stale copies answer
    down = get(visitor, live.url, link["code"])
    assert down.status_code == 302 and down.headers["Location"].startswith("https://shop.example/sale?")
    assert get(visitor, live.url, other["code"]).status_code == 410  # disabled here: not resurrected
    assert get(visitor, live.url, "neverseen").status_code == 503  # unknown and unresolvable
    clock.now += 600
    assert get(visitor, live.url, link["code"]).status_code == 503  # too stale to answer for
