"""The brand API over HTTP: auth, CRUD, validation, pagination, isolation, OpenAPI."""

from __future__ import annotations

import pytest
import requests

from tracker import keys


def test_requests_without_a_key_are_401_with_the_json_error_shape(server):
    resp = requests.get(f"{server.url}/api/v1/influencers")
    assert resp.status_code == 401
    body = resp.json()
    assert body["code"] == 401 and body["status"] == "Unauthorized"
    assert "Authorization" in body["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_or_revoked_key_is_401(server, api, r):
    bad = requests.get(f"{server.url}/api/v1/brand", headers={"Authorization": "Bearer il_nope"})
    assert bad.status_code == 401
    from tracker.brands.model import revoke_api_key

    assert api.get("/brand").status_code == 200
    revoke_api_key(r, api.key)
    assert api.get("/brand").status_code == 401


def test_api_keys_are_stored_only_as_hashes(api, r):
    dump = b"".join(r.dump(k) or b"" for k in r.scan_iter("*"))
    assert api.key.encode() not in dump
    assert r.exists(keys.api_key(__import__("hashlib").sha256(api.key.encode()).hexdigest()))


def test_brand_settings_read_and_update(api):
    brand = api.get("/brand").json()
    assert brand["currency"] == "USD" and brand["attribution_window_days"] == 30
    assert brand["tier_thresholds"] == {"micro": 10_000, "macro": 100_000, "celebrity": 1_000_000}
    resp = api.patch("/brand", json={"currency": "EUR", "attribution_window_days": 14})
    assert resp.status_code == 200
    assert api.get("/brand").json()["currency"] == "EUR"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "EURO"}, "currency"),
        ({"attribution_window_days": 0}, "attribution_window_days"),
        ({"tier_thresholds": {"micro": 5, "macro": 4, "celebrity": 10}}, "tier_thresholds"),
        ({"click_param": "a b"}, "click_param"),
        ({"id": "x"}, "id"),
    ],
)
def test_bad_brand_settings_are_422_naming_the_field(api, body, field):
    resp = api.patch("/brand", json=body)
    assert resp.status_code == 422
    assert field in resp.json()["errors"]["json"]


@pytest.mark.parametrize(
    ("followers", "tier"),
    [(0, "nano"), (9_999, "nano"), (10_000, "micro"), (99_999, "micro"), (100_000, "macro"), (1_000_000, "celebrity")],
)
def test_tier_is_derived_from_followers(api, followers, tier):
    inf = api.create("/influencers", handle=f"h{followers}", platform="tiktok", followers=followers)
    assert inf["tier"] == tier


def test_tier_thresholds_are_per_brand_and_a_tier_can_be_pinned(api):
    inf = api.create("/influencers", handle="amy", platform="youtube", followers=8_000)
    assert inf["tier"] == "nano"
    api.patch("/brand", json={"tier_thresholds": {"micro": 5_000, "macro": 10_000, "celebrity": 1_000_000}})
    assert api.get(f"/influencers/{inf['id']}").json()["tier"] == "micro"
    pinned = api.patch(f"/influencers/{inf['id']}", json={"tier_override": "celebrity"}).json()
    assert pinned["tier"] == "celebrity"


def test_promotion_tier_uses_followers_at_the_time_of_the_promotion(api):
    promo = api.promotion(followers=2_000_000, style="timeboxed")
    assert promo["tier"] == "celebrity" and promo["followers"] == 2_000_000
    api.patch(f"/influencers/{promo['influencer_id']}", json={"followers": 50_000})
    assert api.get(f"/promotions/{promo['id']}").json()["tier"] == "celebrity"


def test_influencer_crud_and_handle_uniqueness(api):
    inf = api.create("/influencers", handle="@Jane.Doe", platform="instagram", followers=42_000, email="j@x.io")
    assert inf["handle"] == "Jane.Doe" and inf["tier"] == "micro"
    dup = api.post("/influencers", json={"handle": "jane.doe", "platform": "instagram", "followers": 1})
    assert dup.status_code == 409 and "handle" in dup.json()["errors"]["json"]
    assert (
        api.post("/influencers", json={"handle": "jane.doe", "platform": "tiktok", "followers": 1}).status_code == 201
    )
    changed = api.patch(f"/influencers/{inf['id']}", json={"followers": 150_000}).json()
    assert changed["followers"] == 150_000 and changed["tier"] == "macro" and changed["email"] == "j@x.io"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "instagram", "followers": 1}, "handle"),
        ({"handle": "a b", "platform": "instagram", "followers": 1}, "handle"),
        ({"handle": "a", "platform": "myspace", "followers": 1}, "platform"),
        ({"handle": "a", "platform": "instagram", "followers": -1}, "followers"),
        ({"handle": "a", "platform": "instagram", "followers": "many"}, "followers"),
        ({"handle": "a", "platform": "instagram", "followers": 1.5}, "followers"),
        ({"handle": "a", "platform": "instagram", "followers": 1, "email": "nope"}, "email"),
        ({"handle": "a", "platform": "instagram", "followers": 1, "tier_override": "mega"}, "tier_override"),
        ({"handle": "a", "platform": "instagram", "followers": 1, "color": "red"}, "color"),
    ],
)
def test_bad_influencers_are_422_naming_the_field_and_store_nothing(api, r, body, field):
    resp = api.post("/influencers", json=body)
    assert resp.status_code == 422
    assert field in resp.json()["errors"]["json"]
    assert resp.json()["message"].startswith(f"{field}: ")
    assert r.hlen(keys.entities(api.brand["id"], "influencer")) == 0


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "/relative/path",
        "shop.example/no-scheme",
        "ftp://shop.example/file",
        "https://",
        "https://shop.example/" + "a" * 2040,
        "https://shop.example/a b",
    ],
)
def test_destinations_must_be_absolute_http_urls_of_at_most_2048_chars(api, url):
    body = {"name": "X", "slug": "x", "destination_url": url, "starts_on": "2026-01-01"}
    resp = api.post("/campaigns", json=body)
    assert resp.status_code == 422
    assert "destination_url" in resp.json()["errors"]["json"]


def test_a_2048_char_destination_is_accepted(api):
    url = "https://shop.example/" + "a" * (2048 - len("https://shop.example/"))
    body = {"name": "X", "slug": "x", "destination_url": url, "starts_on": "2026-01-01"}
    assert api.post("/campaigns", json=body).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"ends_on": "2025-01-01"}, "ends_on"),
        ({"starts_on": "yesterday"}, "starts_on"),
        ({"discount_codes": ["ok", "not ok"]}, "discount_codes"),
    ],
)
def test_bad_campaigns_are_422_naming_the_field(api, change, field):
    body = {"name": "X", "slug": "x", "destination_url": "https://s.example", "starts_on": "2026-01-01", **change}
    resp = api.post("/campaigns", json=body)
    assert resp.status_code == 422
    assert field in resp.json()["errors"]["json"]


def test_campaign_slugs_and_discount_codes_are_unique_per_brand(api, new_brand):
    base = {"name": "X", "destination_url": "https://s.example", "starts_on": "2026-01-01"}
    api.create("/campaigns", slug="spring", discount_codes=["JANE10"], **base)
    assert api.post("/campaigns", json={**base, "slug": "spring"}).json()["errors"]["json"].keys() == {"slug"}
    clash = api.post("/campaigns", json={**base, "slug": "autumn", "discount_codes": ["jane10"]})
    assert clash.status_code == 409 and "discount_codes" in clash.json()["errors"]["json"]
    other = new_brand("Other")
    assert other.post("/campaigns", json={**base, "slug": "spring", "discount_codes": ["JANE10"]}).status_code == 201


def test_promotion_defaults_and_cost_terms_in_minor_units(api):
    promo = api.promotion(style="timeboxed", cost={"flat_fee": 250_000, "commission_percent": "12.5"})
    assert promo["window_hours"] == 24 and promo["platform"] == "instagram"
    assert promo["cost"] == {"currency": "USD", "flat_fee": 250_000, "commission_percent": "12.5", "cost_per_click": 0}
    jpy = api.promotion(cost={"currency": "JPY", "flat_fee": 50_000, "cost_per_click": 20})
    assert jpy["cost"]["currency"] == "JPY" and jpy["window_hours"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"style": "forever"}, "style"),
        ({"cost": {"flat_fee": 10.5}}, "cost"),
        ({"cost": {"flat_fee": -1}}, "cost"),
        ({"cost": {"currency": "XYZ"}}, "cost"),
        ({"cost": {"commission_percent": "101"}}, "cost"),
        ({"posted_at": "not a time"}, "posted_at"),
        ({"window_hours": 24}, "window_hours"),
        ({"campaign_id": "nope"}, "campaign_id"),
        ({"influencer_id": "nope"}, "influencer_id"),
    ],
)
def test_bad_promotions_are_422_naming_the_field(api, r, change, field):
    ok = api.promotion()
    body = {"campaign_id": ok["campaign_id"], "influencer_id": ok["influencer_id"], "style": "long_running", **change}
    resp = api.post("/promotions", json=body)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]["json"]
    assert r.hlen(keys.entities(api.brand["id"], "promotion")) == 1


def test_malformed_json_is_400_not_500(api):
    resp = api.post("/influencers", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["code"] == 400 and resp.json()["message"]


def test_nested_field_errors_are_named_with_their_path(api):
    promo = api.promotion()
    body = {"campaign_id": promo["campaign_id"], "influencer_id": promo["influencer_id"], "style": "long_running"}
    resp = api.post("/promotions", json={**body, "cost": {"flat_fee": -5}})
    assert resp.status_code == 422
    assert (
        resp.json()["message"]
        == "cost.flat_fee: Must be greater than or equal to 0 and less than or equal to 1000000000000000."
    )


def test_lists_are_paginated_in_creation_order(api):
    for i in range(7):
        api.create("/influencers", handle=f"p{i}", platform="x", followers=i)
    first = api.get("/influencers", params={"page_size": 3}).json()
    assert first["total"] == 7 and [i["handle"] for i in first["items"]] == ["p0", "p1", "p2"]
    last = api.get("/influencers", params={"page": 3, "page_size": 3}).json()
    assert [i["handle"] for i in last["items"]] == ["p6"]
    assert api.get("/influencers", params={"page_size": 0}).status_code == 422


def test_the_default_page_size_is_the_api_page_size_setting(make_server_with, new_brand):
    live = make_server_with(API_PAGE_SIZE=2)
    api = new_brand(base=live.url)
    for i in range(3):
        api.create("/influencers", handle=f"s{i}", platform="x", followers=i)
    page = api.get("/influencers").json()
    assert page["page_size"] == 2 and [i["handle"] for i in page["items"]] == ["s0", "s1"] and page["total"] == 3


@pytest.mark.parametrize("kind", ["influencers", "campaigns", "promotions", "links"])
def test_another_brands_ids_answer_404(api, new_brand, kind):
    link = api.link()
    ids = {"links": link["id"], "promotions": link["promotion_id"]}
    promo = api.get(f"/promotions/{link['promotion_id']}").json()
    ids |= {"influencers": promo["influencer_id"], "campaigns": promo["campaign_id"]}
    other = new_brand("Rival")
    assert other.get(f"/{kind}/{ids[kind]}").status_code == 404
    assert other.patch(f"/{kind}/{ids[kind]}", json={}).status_code == 404
    assert other.get(f"/{kind}").json()["total"] == 0
    assert api.get(f"/{kind}/{ids[kind]}").status_code == 200


def test_a_brand_cannot_build_on_another_brands_records(api, new_brand):
    promo = api.promotion()
    other = new_brand("Rival")
    body = {"campaign_id": promo["campaign_id"], "influencer_id": promo["influencer_id"], "style": "long_running"}
    assert other.post("/promotions", json=body).status_code == 422
    assert other.post("/links", json={"promotion_id": promo["id"]}).status_code == 422


def test_openapi_document_and_offline_docs_are_served(server):
    spec = requests.get(f"{server.url}/api/openapi.json").json()
    assert {"/api/v1/links", "/api/v1/promotions/{promotion_id}", "/api/v1/brand"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    docs = requests.get(f"{server.url}/api/docs")
    assert docs.status_code == 200 and "/api/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "//cdn" not in docs.text and "unpkg" not in docs.text
    asset = requests.get(f"{server.url}/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


def test_health_endpoints(server, make_server_with):
    assert requests.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = requests.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
    dead = make_server_with(REDIS_URL="redis://127.0.0.1:1/0")
    assert requests.get(f"{dead.url}/healthz").status_code == 200
    not_ready = requests.get(f"{dead.url}/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["status"] == "unavailable"
