"""The service functions of each area (`tracker/<area>/service.py`), called directly with a real Redis:
they raise domain errors naming what is wrong (not found, conflict on a field, invalid field), and the
API and the dashboard say what those errors say."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import base_config
from tracker import create_app, keys
from tracker.brands import service as brands
from tracker.brands.model import add_api_key, create_brand
from tracker.campaigns import service as campaigns
from tracker.engagement import service as engagement
from tracker.errors import Conflict, Invalid, NotFound
from tracker.influencers import service as influencers
from tracker.integrations import service as integrations
from tracker.links import service as links
from tracker.portal import service as portal
from tracker.promotions import service as promotions
from tracker.scope import Scope

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(base_config(redis_url, str(tmp_path_factory.mktemp("services")), BASE_URL="https://go.example"))


@pytest.fixture
def brand(app: Flask, r: redis.Redis) -> Callable[..., Scope]:
    """A new brand's scope in the app."""

    def make(name: str = "Acme", max_self_links: int | None = None) -> Scope:
        record, _ = create_brand(r, name)
        if max_self_links is not None:
            record = brands.update(Scope.of(app, record), {"max_self_links": max_self_links})
        return Scope.of(app, record)

    return make


@pytest.fixture
def scope(brand: Callable[..., Scope]) -> Scope:
    return brand()


def campaign(scope: Scope, slug: str = "summer", **extra: Any) -> dict[str, Any]:
    data = {"name": "Summer", "slug": slug, "destination_url": "https://shop.example/sale",
            "starts_on": date(2026, 6, 1), "ends_on": None, "discount_codes": []}  # fmt: skip
    return campaigns.create(scope, {**data, **extra})


def influencer(scope: Scope, handle: str = "jane") -> dict[str, Any]:
    data = {"handle": handle, "platform": "instagram", "followers": 42_000, "email": None, "tier_override": None}
    return influencers.create(scope, data)


def promotion(scope: Scope, **extra: Any) -> dict[str, Any]:
    n = os.urandom(3).hex()
    data = {"campaign_id": campaign(scope, f"c{n}")["id"], "influencer_id": influencer(scope, f"i{n}")["id"],
            "style": "long_running",
            "posted_at": "2026-03-02T12:00:00Z", "cost": {}, "discount_codes": []}  # fmt: skip
    return promotions.create(scope, {**data, **extra})


def link(scope: Scope, promotion_id: str, **extra: Any) -> dict[str, Any]:
    data = {"promotion_id": promotion_id, "destination_url": None, "disabled": False, "channel": None,
            "expires_at": None}  # fmt: skip
    return links.create(scope, {**data, **extra})


# -- not found ------------------------------------------------------------------------------
FINDERS = {
    "influencer": (influencer, influencers.get),
    "campaign": (campaign, campaigns.get),
    "promotion": (promotion, promotions.get),
    "link": (lambda s: link(s, promotion(s)["id"]), links.get),
}


@pytest.mark.parametrize("kind", sorted(FINDERS))
def test_another_brands_record_is_not_found_by_its_id(brand, kind):
    mine, theirs = brand("Mine"), brand("Theirs")
    make, get = FINDERS[kind]
    record = make(theirs)
    assert get(theirs, record["id"])["id"] == record["id"]
    with pytest.raises(NotFound) as caught:
        get(mine, record["id"])
    assert caught.value.message == f"{kind} {record['id']} not found" and caught.value.errors is None
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, p: promotions.update(s, "nope", {"followers": 1}), "promotion nope not found"),
        (lambda s, p: engagement.document(s, "nope"), "promotion nope not found"),
        (lambda s, p: engagement.confirm(s, p["id"], "2026-03-05"),
         "no self-reported metrics of 2026-03-05 for promotion {id}"),
        (lambda s, p: engagement.reject(s, p["id"], "not-a-day"),
         "no self-reported metrics of not-a-day for promotion {id}"),
        (lambda s, p: integrations.get(s, "magento"),
         "unknown source 'magento'; one of generic, shopify, woocommerce, stripe, postback"),
        (lambda s, p: integrations.remove_secret(s, "generic", "nope"), "secret nope not found"),
        (lambda s, p: brands.delete_rate(s, "EUR"), "no rate for EUR"),
        (lambda s, p: brands.set_rate(s, "USD", "1"), "'USD': not an ISO 4217 code other than the reporting currency"),
        (lambda s, p: portal.revoke(s, p["influencer_id"], "nope"), "portal token nope not found"),
        (lambda s, p: portal.issue(s, "nope"), "influencer nope not found"),
    ],
)  # fmt: skip
def test_what_is_not_there_is_not_found_with_the_apis_message(scope, call, message):
    p = promotion(scope)
    with pytest.raises(NotFound) as caught:
        call(scope, p)
    assert caught.value.message == message.format(id=p["id"])


# -- conflicts ------------------------------------------------------------------------------
def test_a_taken_handle_slug_or_discount_code_is_a_conflict_naming_the_field_and_stores_nothing(scope, r):
    jane = influencer(scope, "@Jane")
    with pytest.raises(Conflict) as caught:
        influencer(scope, "jane")
    assert (caught.value.field, caught.value.problem) == ("handle", "instagram handle @jane already exists.")
    assert caught.value.errors == {"json": {"handle": ["instagram handle @jane already exists."]}}
    assert r.hlen(keys.entities(scope.brand_id, "influencer")) == 1

    first = campaign(scope, "summer", discount_codes=["SUMMER"])
    with pytest.raises(Conflict) as caught:
        campaign(scope, "summer")
    assert caught.value.message == "slug: slug 'summer' is already used by another campaign."
    with pytest.raises(Conflict) as caught:  # codes are one namespace per brand, whatever the case
        promotion(scope, discount_codes=["summer"])
    assert caught.value.field == "discount_codes"
    assert caught.value.problem == "discount code SUMMER is already registered for this brand."
    assert influencers.update(scope, jane["id"], {"followers": 1})["handle"] == "Jane"  # its own value is no conflict
    assert campaigns.update(scope, first["id"], {"name": "Summer 26"})["slug"] == "summer"


def test_a_taken_link_code_and_a_second_link_for_a_channel_are_conflicts_naming_the_field(brand, r):
    scope = brand(max_self_links=5)
    p = promotion(scope)
    link(scope, p["id"], code="jane-summer")
    with pytest.raises(Conflict) as caught:
        link(scope, p["id"], code="jane-summer")
    assert caught.value.message == "code: The code 'jane-summer' is taken." and caught.value.status == 409

    first = links.create_for_influencer(scope, p, "instagram-bio")
    assert first["created_by"] == "influencer" and first["channel"] == "instagram-bio"
    with pytest.raises(Conflict) as caught:
        links.create_for_influencer(scope, p, "instagram-bio")
    assert caught.value.field == "channel"
    assert caught.value.problem == "You already have a link for Instagram bio in this promotion."
    assert int(r.get(keys.self_links(scope.brand_id, p["influencer_id"]))) == 1  # the refused one gave its slot back


def test_limits_are_conflicts_of_no_one_field(brand):
    scope = brand("Acme", max_self_links=1)
    p = promotion(scope)
    links.create_for_influencer(scope, p, "tiktok-video")
    with pytest.raises(Conflict) as caught:
        links.create_for_influencer(scope, p, "x")
    assert caught.value.field is None and caught.value.errors is None
    assert caught.value.message.startswith("You have made 1 links, the most Acme allows.")
    for _ in range(5):
        integrations.add_secret(scope, "generic", None)
    with pytest.raises(Conflict) as caught:
        integrations.add_secret(scope, "generic", None)
    assert caught.value.message == "At most 5 secrets per source; delete an old one first."


# -- invalid fields -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "field", "problem"),
    [
        (lambda s, p: promotions.create(s, {"campaign_id": "nope", "influencer_id": p["influencer_id"],
                                            "style": "timeboxed", "discount_codes": []}),
         "campaign_id", "No campaign nope in this brand."),
        (lambda s, p: promotions.create(s, {"campaign_id": p["campaign_id"], "influencer_id": "nope",
                                            "style": "timeboxed", "discount_codes": []}),
         "influencer_id", "No influencer nope in this brand."),
        (lambda s, p: promotions.update(s, p["id"], {"window_hours": 12}),
         "window_hours", "Only timeboxed promotions have a window."),
        (lambda s, p: campaigns.update(s, p["campaign_id"], {"ends_on": date(2026, 5, 1)}),
         "ends_on", "Must not be before starts_on."),
        (lambda s, p: link(s, "nope"), "promotion_id", "No promotion nope in this brand."),
        (lambda s, p: integrations.update(s, "stripe", {"order_topics": ["orders/create"]}),
         "order_topics", "Only the shopify source has order topics."),
        (lambda s, p: engagement.add(s, p["id"], {"date": date(2026, 3, 1), "likes": 5}),
         "date", "Must be on or after the promotion's posting day, 2026-03-02."),
    ],
)  # fmt: skip
def test_a_refused_value_is_invalid_naming_the_field(scope, r, call, field, problem):
    p = promotion(scope)
    before = {k: r.dump(k) for k in r.scan_iter("*")}
    with pytest.raises(Invalid) as caught:
        call(scope, p)
    assert (caught.value.field, caught.value.problem, caught.value.status) == (field, problem, 422)
    assert caught.value.message == f"{field}: {problem}"
    assert caught.value.errors == {"json": {field: [problem]}}
    assert {k: r.dump(k) for k in r.scan_iter("*")} == before  # nothing stored


def test_invalid_rows_of_a_series_or_a_csv_name_their_place(scope):
    p = promotion(scope)
    with pytest.raises(Invalid) as caught:
        engagement.replace_series(scope, p["id"], [{"date": date(2026, 3, 3), "likes": 1},
                                                   {"date": date(2026, 3, 3), "likes": 2}])  # fmt: skip
    assert caught.value.message == "series.1.date: Each date at most once."
    assert caught.value.errors == {"json": {"series": {1: {"date": ["Each date at most once."]}}}}
    with pytest.raises(Invalid) as caught:
        engagement.import_csv(scope, p["id"], b"date,likes\n2026-03-03,1\n2026-03-01,2\n", lambda row: {
            **row, "date": date.fromisoformat(row["date"])})  # fmt: skip
    problem = "Must be on or after the promotion's posting day, 2026-03-02."
    assert caught.value.message == f"csv, line 3, date: {problem}"
    assert caught.value.errors == {"csv": {"line 3": {"date": [problem]}}}
    assert engagement.document(scope, p["id"])["series"] == []  # all or nothing


# -- the adapters say what the domain errors say ----------------------------------------------
def _csrf(client: FlaskClient, path: str) -> str:
    found = TOKEN.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    assert found, path
    return html.unescape(found.group(1))


@pytest.fixture
def dashboard(app: Flask) -> Iterator[Callable[[str], FlaskClient]]:
    def signed_in(key: str) -> FlaskClient:
        client = app.test_client()
        token = _csrf(client, "/dashboard/login")
        assert client.post("/dashboard/login", data={"api_key": key, "csrf_token": token}).status_code == 303
        return client

    yield signed_in


def test_the_dashboard_and_the_api_give_the_domain_errors_message_for_the_same_conflict(app, r, scope, dashboard):
    key = add_api_key(r, scope.brand_id)
    campaign(scope, "summer")
    form = {"name": "Again", "slug": "summer", "destination_url": "https://shop.example/", "starts_on": "2026-06-01"}
    with pytest.raises(Conflict) as caught:
        campaign(scope, "summer")
    said = caught.value

    api = app.test_client().post("/api/v1/campaigns", json=form, headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == said.status == 409
    assert api.get_json() == {"code": 409, "status": "Conflict", "message": said.message, "errors": said.errors}

    page = dashboard(key)
    token = _csrf(page, "/dashboard/manage/campaigns/new")
    shown = page.post("/dashboard/manage/campaigns/new", data={**form, "csrf_token": token})
    assert shown.status_code == 409
    assert said.problem in html.unescape(shown.get_data(as_text=True))  # next to the slug field


def test_another_brands_id_is_the_dashboards_404_page_with_the_apis_message(app, r, brand, dashboard):
    mine, theirs = brand("Mine"), brand("Theirs")
    key = add_api_key(r, mine.brand_id)
    other = influencer(theirs)
    page = dashboard(key).get(f"/dashboard/manage/influencers/{other['id']}")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert f"influencer {other['id']} not found" in page.get_data(as_text=True)
    api = app.test_client().get(f"/api/v1/influencers/{other['id']}",
                                headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert api.status_code == 404 and api.get_json()["message"] == f"influencer {other['id']} not found"
