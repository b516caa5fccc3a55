"""The one webhook intake: the hand validator of the generic format against GenericEventSchema on
generated payloads, and a refused delivery handled once by the lean adapter and the Flask view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from tests import platforms
from tracker.conversions.schemas import GenericEventSchema, load_generic_fast

SCHEMA = GenericEventSchema()

# Values around each field's limits, of every JSON type, for every field of the generic format.
_TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", " ", " A1 ", "\n", "x" * 64, "x" * 65, "x" * 200, "x" * 201, "x" * 300, "x" * 301]),
    st.sampled_from(["x" * 2048, "x" * 2049]),
)
_ANY_SCALAR = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(-5, 5), _TEXT)
_TIMES = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-06-03T10:00:00Z",
            "2026-06-03T10:00:00.123456+02:00",
            "2026-06-03T10:00:00",
            "2026-06-03 10:00:00Z",
            "2026-06-03",
            "2026-13-03T10:00:00Z",
            "2026-06-03T10:00:00+0200",
            "2026-06-03T10:00Z",
            "20260603T100000Z",
            "2026-06-03T10:00:00.1234567Z",
        ]
    ),
)
_FIELDS = {
    "type": st.one_of(st.sampled_from(["order", "refund", "sale", "Order"]), _ANY_SCALAR),
    "order_id": st.one_of(_TEXT, st.integers(), st.just(10**201), _ANY_SCALAR),
    "refund_id": st.one_of(_TEXT, st.integers(), _ANY_SCALAR),
    "amount": st.one_of(st.integers(-2, 10**15 + 2), st.sampled_from([10**15, 10**15 + 1, 4990]), _ANY_SCALAR),
    "currency": st.one_of(st.sampled_from(["USD", "usd", "JPY", "KWD", "XXX", "EURO", "US"]), _ANY_SCALAR),
    "occurred_at": st.one_of(_TIMES, _ANY_SCALAR),
    "click_id": _ANY_SCALAR,
    "discount_code": _ANY_SCALAR,
    "landing_url": _ANY_SCALAR,
    "customer_id": _ANY_SCALAR,
    "discount_codes": st.one_of(st.lists(_TEXT, max_size=22), st.lists(_ANY_SCALAR, max_size=3), _ANY_SCALAR),
    "colour": _ANY_SCALAR,  # not a field of the format
}
_VALID = {"order_id": st.just("A1"), "amount": st.just(4990), "currency": st.just("USD")}
PAYLOADS = st.one_of(
    st.fixed_dictionaries({}, optional=_FIELDS),
    st.fixed_dictionaries(_VALID, optional={k: v for k, v in _FIELDS.items() if k not in _VALID and k != "colour"}),
    st.lists(st.integers(), max_size=2),
    _ANY_SCALAR,
)


def _schema(payload: Any) -> dict[str, Any] | str:
    try:
        return SCHEMA.load(payload)
    except ValidationError as exc:
        return f"refused: {exc.messages}"


@settings(max_examples=600, deadline=None, derandomize=True, database=None)  # the same cases every run
@given(PAYLOADS)
def test_the_hand_validator_accepts_exactly_what_the_schema_accepts_with_the_same_result(payload):
    fast = load_generic_fast(payload)
    slow = _schema(payload)
    if isinstance(slow, str):
        assert fast is None, f"the hand validator accepts what the schema {slow}"
    else:
        assert fast == slow


@pytest.mark.parametrize(
    "payload",
    [
        {"order_id": "A", "amount": 1, "currency": "USD", "refund_id": None},
        {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": None},
        {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": "2026-06-03T10:00:00"},
        {"order_id": "A", "amount": 1, "currency": "USD", "occurred_at": "2026-06-03T10:00:00.123456+02:00"},
    ],
)
def test_payloads_the_hand_validator_once_got_wrong_are_decided_as_the_schema_decides(payload):
    slow = _schema(payload)
    assert load_generic_fast(payload) == (None if isinstance(slow, str) else slow)
    if not isinstance(slow, str) and slow["occurred_at"] is not None:
        assert load_generic_fast(payload)["occurred_at"].tzinfo == slow["occurred_at"].tzinfo


# -- a refusal is handled once ----------------------------------------------------------------
def _journaled(spool: Path) -> list[dict[str, Any]]:
    return [
        event
        for path in sorted(spool.glob("orders-*.jsonl"))
        for line in path.read_text().splitlines()
        for event in json.loads(line)["events"]
    ]


def test_a_delivery_refused_after_it_was_journaled_is_journaled_once_not_again_by_the_flask_view(
    make_server_with, new_brand, tmp_path
):
    live = make_server_with()
    api = new_brand(base=live.url)
    secret = api.create("/integrations/generic/secrets")["secret"]
    url = f"{live.url}/webhooks/{api.brand['id']}/generic"
    body, headers = platforms.generic_order(secret, order_id="o-1", amount=5000, currency="USD")
    resp = requests.post(url, data=body, headers=headers)
    assert resp.status_code == 200, resp.text
    body, headers = platforms.generic_refund(secret, order_id="o-1", refund_id="r-1", amount=100, currency="EUR")
    resp = requests.post(url, data=body, headers=headers)
    assert resp.status_code == 422, resp.text
    assert resp.json()["message"] == "currency: The refund is in EUR, its order in USD."
    refunds = [e for e in _journaled(tmp_path / "spool") if e["kind"] == "refund"]
    assert [e["refund_id"] for e in refunds] == ["r-1"]  # the lean adapter's run; the Flask view only words it
