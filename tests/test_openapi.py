"""The served OpenAPI document: valid OpenAPI 3, and as strict as the validation behind it."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30WriteValidator
from openapi_spec_validator import validate


@pytest.fixture(scope="module")
def spec(server) -> dict[str, Any]:
    return requests.get(f"{server.url}/api/openapi.json").json()


def body_schema(spec: dict[str, Any], method: str, path: str) -> OAS30WriteValidator:
    """A validator of the operation's JSON request body, as a client generating from the document sees it."""
    schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return OAS30WriteValidator({**schema, "components": spec["components"]})


def test_the_served_document_is_valid_openapi(spec):
    validate(spec)  # raises, naming the first problem (e.g. a string `maximum`)
    assert spec["openapi"].startswith("3.")


# Each body breaks one rule of the real validation: the document must refuse it too, and the API does.
# (`{promotion}` is replaced by a real promotion id.)
REFUSED = [
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "code": "ab"}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "code": "has space"}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "code": "-dash-first"}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "code": "Dashboard"}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "code": "x" * 65}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "channel": "-bio"}),
    ("post", "/api/v1/links", {"promotion_id": "{promotion}", "channel": "x" * 41}),
    ("post", "/api/v1/conversions", {"order_id": "", "amount": 100, "currency": "USD"}),
    ("post", "/api/v1/conversions", {"order_id": "   ", "amount": 100, "currency": "USD"}),
    ("post", "/api/v1/conversions", {"order_id": "x" * 201, "amount": 100, "currency": "USD"}),
    ("post", "/api/v1/conversions", {"order_id": "1", "amount": 100, "currency": "ZZZ"}),
    (
        "post",
        "/api/v1/conversions",
        {"type": "refund", "order_id": "1", "refund_id": " ", "amount": 1, "currency": "USD"},
    ),
    ("patch", "/api/v1/campaigns/{campaign_id}", {"destination_url": "http://[shop.example/"}),  # was a 500
    ("patch", "/api/v1/campaigns/{campaign_id}", {"destination_url": "http://:80/"}),
    ("patch", "/api/v1/campaigns/{campaign_id}", {"discount_codes": ["TEN OFF"]}),
    ("patch", "/api/v1/campaigns/{campaign_id}", {"discount_codes": ["x" * 65]}),
    ("patch", "/api/v1/promotions/{promotion_id}", {"discount_codes": ["10%"]}),
    ("patch", "/api/v1/promotions/{promotion_id}", {"cost": {"commission_percent": "100.5"}}),
    ("patch", "/api/v1/promotions/{promotion_id}", {"cost": {"commission_percent": "-0"}}),
    ("patch", "/api/v1/promotions/{promotion_id}", {"cost": {"currency": "usd"}}),
    ("put", "/api/v1/brand/rates/{currency}", {"rate": "0"}),
    ("put", "/api/v1/brand/rates/{currency}", {"rate": "1000000000.5"}),
    ("put", "/api/v1/brand/rates/{currency}", {"rate": "-2"}),
    ("patch", "/api/v1/brand", {"attribution_priority": ["click_id", "click_id"]}),
    ("patch", "/api/v1/brand", {"currency": "EURO"}),
    ("patch", "/api/v1/brand", {"tier_thresholds": {}}),  # was a 500
    ("patch", "/api/v1/brand", {"tier_thresholds": {"micro": 5000}}),  # was a 500
    ("patch", "/api/v1/integrations/{source}", {"order_topics": ["orders/cancelled"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), REFUSED)
def test_the_document_refuses_what_the_api_refuses(spec, api, method, path, body):
    promotion = api.promotion()
    body = {k: promotion["id"] if v == "{promotion}" else v for k, v in body.items()}
    assert not body_schema(spec, method, path).is_valid(body), f"the document accepts {body}"
    ids = {"campaign_id": promotion["campaign_id"], "promotion_id": promotion["id"], "currency": "EUR",
           "source": "shopify"}  # fmt: skip
    url = path.removeprefix("/api/v1").format(**ids)
    resp = getattr(api, method)(url, json=body)
    assert resp.status_code == 422, resp.text
    assert "422" in spec["paths"][path][method]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/links", {"promotion_id": "p", "code": "spring-26_A"}),
        ("post", "/api/v1/conversions", {"order_id": "#1001", "amount": 4990, "currency": "EUR"}),
        ("patch", "/api/v1/promotions/{promotion_id}", {"cost": {"commission_percent": "12.5"}}),
        ("patch", "/api/v1/promotions/{promotion_id}", {"discount_codes": ["SPRING-10", "a_1"]}),
        ("patch", "/api/v1/promotions/{promotion_id}", {"cost": {"commission_percent": "100"}}),
        ("put", "/api/v1/brand/rates/{currency}", {"rate": "1.08"}),
        ("put", "/api/v1/brand/rates/{currency}", {"rate": "0.0001"}),
        ("put", "/api/v1/brand/rates/{currency}", {"rate": "1000000000"}),
    ],
)
def test_the_document_accepts_plain_valid_bodies(spec, method, path, body):
    assert body_schema(spec, method, path).is_valid(body)


@pytest.mark.parametrize(
    ("where", "rule"),
    [
        (("paths", "/api/v1/reports", "get", "parameters", "to"), "not before `from`"),
        (("paths", "/api/v1/reports/comparison", "get", "parameters", "to"), "not before `from`"),
        (("components", "schemas", "Brand", "properties", "tier_thresholds"), "micro < macro < celebrity"),
        (("components", "schemas", "BrandPatch", "properties", "tier_thresholds"), "micro < macro < celebrity"),
        (("paths", "/api/v1/integrations/{source}", "patch", "summary"), "shopify source only"),
        (("components", "schemas", "IntegrationPatch", "properties", "order_topics"), "only the shopify source"),
        (("components", "schemas", "Campaign", "properties", "ends_on"), "Not before starts_on"),
        (("components", "schemas", "Promotion", "properties", "window_hours"), "only timeboxed"),
        (("components", "schemas", "GenericEvent", "properties", "refund_id"), "Required when `type` is refund"),
        (("components", "schemas", "BotPatterns", "properties", "exclude", "items"), "RE2 regular expression"),
    ],
)
def test_rules_json_schema_cannot_express_are_stated_in_the_document(spec, where, rule):
    """Rules across fields (or across records) are written where a client reads them."""
    node: Any = spec
    for key in where:
        node = next(p for p in node if p["name"] == key) if isinstance(node, list) else node[key]
    text = node if isinstance(node, str) else node["description"]
    assert rule in text
