"""Property-based fuzz of the whole API from its own OpenAPI document (schemathesis).

Every operation of /api/openapi.json gets requests generated from the document, valid ones and
invalid ones, against the real app (the served WSGI stack) on a real Redis, signed in as a real
brand. Nothing may answer 5xx, and every answer must conform to the document: a documented status,
the documented content type, a body that matches the documented schema.

Bounded and reproducible: a fixed number of examples per operation, derandomized, no example
database; the summary line gives operations, requests and 5xx answers.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

from tests.conftest import base_config
from tracker import create_wsgi
from tracker.brands.model import create_brand

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation and mode: 38 operations x (valid + invalid) take about 20 s on one core.
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
EXAMPLES = {POSITIVE: 25, NEGATIVE: 15}
# Ids in bodies that must name a record of the brand for the request to get past the 422.
BODY_IDS = ("promotion_id", "campaign_id", "influencer_id")


def _seed(app: Any, key: str) -> dict[str, str]:
    """One record of each kind, made through the API, so generated requests also reach real records."""
    http = Client(app)
    headers = {"Authorization": f"Bearer {key}"}

    def post(path: str, **body: Any) -> dict[str, Any]:
        resp = http.post(f"/api/v1{path}", json=body, headers=headers)
        assert resp.status_code == 201, resp.text
        return resp.json

    influencer = post("/influencers", handle="fuzzed", platform="instagram", followers=50_000)
    campaign = post(
        "/campaigns", name="Fuzz", slug="fuzz", destination_url="https://shop.example/", starts_on="2026-03-01"
    )
    promotion = post(
        "/promotions", campaign_id=campaign["id"], influencer_id=influencer["id"], style="timeboxed",
        posted_at="2026-03-02T12:00:00Z", discount_codes=["FUZZ10"],
    )  # fmt: skip
    link = post("/links", promotion_id=promotion["id"])
    order = http.post(
        "/api/v1/conversions", json={"order_id": "fuzz-1", "amount": 4990, "currency": "USD"}, headers=headers
    )
    assert order.status_code == 200, order.text
    secret = post("/integrations/shopify/secrets")
    token = post(f"/influencers/{influencer['id']}/portal-tokens")
    job = http.post("/api/v1/reports/refresh", headers=headers)
    assert job.status_code == 202, job.text
    return {
        "influencer_id": influencer["id"],
        "campaign_id": campaign["id"],
        "promotion_id": promotion["id"],
        "link_id": link["id"],
        "conversion_id": order.json["events"][0]["conversion_id"],
        "source": "shopify",
        "secret_id": secret["id"],
        "token_id": token["id"],
        "currency": "EUR",
        "job_id": job.json["job_id"],
    }


class Tally:
    """What the fuzz sent and what came back wrong, per operation."""

    def __init__(self, auth: dict[str, str]):
        self.auth = auth
        self.requests: collections.Counter[str] = collections.Counter()
        self.server_errors: list[str] = []
        self.failures: dict[str, str] = {}

    def check(self, name: str, case: schemathesis.Case) -> None:
        response = case.call()
        self.requests[case.operation.label] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{name} -> {response.status_code}")
        try:
            case.validate_response(response, checks=CHECKS, headers=self.auth)
        except FailureGroup as exc:
            self.failures.setdefault(name, str(exc)[:3000])


def fuzz(name: str, cases: st.SearchStrategy, examples: int, real: dict[str, str], tally: Tally) -> None:
    """Send `examples` requests drawn from `cases`; ids in bodies are the seeded records' half the time."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, use_real_ids=st.booleans())
    def run(case: schemathesis.Case, use_real_ids: bool) -> None:
        if use_real_ids and isinstance(case.body, dict):
            case.body = {k: real[k] if k in BODY_IDS and k in case.body else v for k, v in case.body.items()}
        tally.check(name, case)

    run()


def test_fuzzing_every_operation_from_the_openapi_document_finds_no_5xx_and_no_nonconformance(
    r, redis_url, tmp_path, capsys
):
    app = create_wsgi(base_config(redis_url, str(tmp_path), TESTING=False, BASE_URL="https://go.example"))
    brand, key = create_brand(r, "Fuzz", "USD")
    auth = {"Authorization": f"Bearer {key}"}
    real = _seed(app, key)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    tally = Tally(auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    for op in operations:
        ours = {name: real[name] for name in re.findall(r"{(\w+)}", op.path) if name in real}
        for mode, examples in EXAMPLES.items():
            # The key is a fixed header: never negated, so invalid requests get past authentication.
            # Invalid requests need a query or a body to break (any text is a valid path segment).
            if mode == NEGATIVE and not (len(op.query) or len(op.body)):
                continue
            strategies = [op.as_strategy(generation_mode=mode, headers=auth)]
            if ours:  # half the requests reach the seeded records
                strategies.append(op.as_strategy(generation_mode=mode, headers=auth, path_parameters=ours))
            fuzz(f"{op.label} ({mode.value})", st.one_of(strategies), examples, real, tally)

    total = sum(tally.requests.values())
    with capsys.disabled():
        print(f"\nOpenAPI fuzz: {len(operations)} operations, {total} requests, {len(tally.server_errors)} 5xx answers")
    assert len(operations) >= 36 and set(tally.requests) == {op.label for op in operations}
    assert not tally.server_errors, tally.server_errors
    assert not tally.failures, "\n\n".join(f"== {name}\n{text}" for name, text in tally.failures.items())
