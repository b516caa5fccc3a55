"""Links: codes, aliases, UTM tagging, disabling and expiry over the API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


def test_a_link_gets_a_short_code_a_short_url_and_utm_tags(api):
    link = api.link()
    assert len(link["code"]) == 8
    assert link["short_url"] == f"https://go.example/{link['code']}"
    q = parse_qs(urlsplit(link["tracked_url"]).query)
    assert q["utm_medium"] == ["influencer"] and q["utm_source"][0].startswith("inf")
    assert q["utm_campaign"][0].startswith("spring-") and q["ref"] == ["ig"]
    assert link["stats"] == {"clicks": 0, "unique_clicks": 0, "bot_hits": 0, "bots_by_family": {}}


def test_utm_tags_already_in_the_destination_are_kept(api):
    dest = "https://shop.example/p?utm_source=newsletter&utm_campaign=own&tid=stale#buy"
    link = api.link(destination_url=dest)
    parts = urlsplit(link["tracked_url"])
    q = parse_qs(parts.query)
    assert q["utm_source"] == ["newsletter"] and q["utm_campaign"] == ["own"] and q["utm_medium"] == ["influencer"]
    assert "tid" not in q
    assert parts.fragment == "buy"


def test_non_ascii_destinations_are_percent_encoded(api):
    link = api.link(destination_url="https://shop.example/böcker?q=ä")
    assert link["tracked_url"].startswith("https://shop.example/b%C3%B6cker?q=%C3%A4&")


def test_custom_aliases_are_unique_case_insensitively(api, new_brand):
    assert api.link(code="Jane-Spring")["code"] == "Jane-Spring"
    other = new_brand("Rival").promotion()
    resp = new_brand("Rival2").post("/links", json={"promotion_id": other["id"], "code": "jane-spring"})
    assert resp.status_code in (409, 422)
    promo = api.promotion()
    taken = api.post("/links", json={"promotion_id": promo["id"], "code": "JANE-SPRING"})
    assert taken.status_code == 409 and "code" in taken.json()["errors"]["json"]


@pytest.mark.parametrize("alias", ["api", "dashboard", "Healthz", "ab", "-lead", "has space", "dot.ted", "x" * 65])
def test_bad_or_reserved_aliases_are_422(api, alias):
    promo = api.promotion()
    resp = api.post("/links", json={"promotion_id": promo["id"], "code": alias})
    assert resp.status_code == 422 and "code" in resp.json()["errors"]["json"]


def test_links_can_be_disabled_reenabled_and_given_an_expiry(api):
    link = api.link()
    off = api.patch(f"/links/{link['id']}", json={"disabled": True}).json()
    assert off["disabled"] is True and off["code"] == link["code"]
    on = api.patch(f"/links/{link['id']}", json={"disabled": False, "expires_at": "2030-01-01T00:00:00+02:00"}).json()
    assert on["disabled"] is False and on["expires_at"] == "2029-12-31T22:00:00.000Z"
    assert api.patch(f"/links/{link['id']}", json={"code": "new"}).status_code == 422
