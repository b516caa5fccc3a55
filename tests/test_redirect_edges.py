"""The redirect's edges: codes no link can have, a flood of unknown codes, and user agents that
are not ASCII, the last over HTTP to the real served stack (granian, as `tracker web` starts it)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import Api, served
from workers import archive

ANDROID = "Mozilla/5.0 (Linux; U; Android 4.0.3; pt-br; GT-I9100 Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) "
# (bytes sent, what the click must record): UTF-8 as browsers send it; a latin-1 byte, read as latin-1.
AGENTS = [
    ((ANDROID + "Versão/4.0 Mobile Safari/534.30").encode(), ANDROID + "Versão/4.0 Mobile Safari/534.30"),
    (
        "Mozilla/5.0 (Linux; Android 14; Galaxy™ S24) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile "
        "Safari/537.36".encode(),
        "Mozilla/5.0 (Linux; Android 14; Galaxy™ S24) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile "
        "Safari/537.36",
    ),
    ((ANDROID + "Versão/4.0 Safari/534.30").encode("latin-1"), ANDROID + "Versão/4.0 Safari/534.30"),
]


@pytest.fixture(scope="module")
def granian(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web server as `tracker web` starts it (one worker), on a free port; its base URL."""
    with served(redis_url, tmp_path_factory.mktemp("sp")) as base:
        yield base


def raw_click(base: str, code: str, user_agent: bytes) -> int:
    """GET /<code> with the User-Agent header's bytes exactly as given; the status."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.putrequest("GET", f"/{code}")
        conn.putheader("User-Agent", user_agent)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_browsers_with_non_ascii_user_agents_are_counted_as_humans_over_granian(
    granian, new_brand, r, run_worker, archive_dir
):
    api: Api = new_brand(base=granian)  # the API too goes through the served stack: bodies, JSON answers
    link = api.link()
    for sent, _ in AGENTS:
        assert raw_click(granian, link["code"], sent) == 302
    run_worker()
    stats = api.get(f"/links/{link['id']}").json()["stats"]
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_hits"]) == (3, 3, 0)  # three visitors, no bot
    events = sorted(archive.read(archive_dir, api.brand["id"]), key=lambda e: e["e"])  # as counted, then archived
    assert [e["ua"] for e in events] == [text for _, text in AGENTS]


def cmdstats(r) -> dict[str, int]:
    return {name: row["calls"] for name, row in r.info("commandstats").items()}


def test_codes_no_link_can_have_are_a_404_without_redis_or_cache(api, make_server_with, r):
    link = api.link()
    live = make_server_with()
    impossible = ["a" * 5000, "x" * 65, "ab", "-abc", "abc%21", "caf%C3%A9", "abc%0A", "abc%00", "a%20b"]
    before = cmdstats(r)
    with requests.Session() as http:
        for code in impossible:
            resp = http.get(f"{live.url}/{code}", allow_redirects=False)
            assert resp.status_code == 404, code
    after = cmdstats(r)
    assert {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)} == {"cmdstat_info": 1}
    assert not live.app.links.cache and live.app.links.cache_bytes == 0
    assert requests.get(f"{live.url}/{link['code']}", allow_redirects=False).status_code == 302


def test_a_flood_of_unknown_codes_stays_within_the_cache_budget(api, make_server_with):
    link = api.link()
    live = make_server_with(LINK_CACHE_BYTES=20_000)
    with requests.Session() as http:
        assert http.get(f"{live.url}/{link['code']}", allow_redirects=False).status_code == 302
        for n in range(300):  # 300 misses under 64-character codes: ~100 kB if each were kept
            assert http.get(f"{live.url}/{n:064d}", allow_redirects=False).status_code == 404
        assert 0 < live.app.links.cache_bytes <= 20_000 and len(live.app.links.cache) <= 20_000 // 256
        assert link["code"].lower() not in live.app.links.cache  # the oldest went first (codes kept lower-cased)
        assert http.get(f"{live.url}/{link['code']}", allow_redirects=False).status_code == 302
