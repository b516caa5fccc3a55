"""Recording orders and refunds: the one implementation behind every way they arrive (webhooks,
postbacks, `POST /api/v1/conversions`, the journal's replay).

The steps are written once, as generators that yield the I/O they need and are sent its result
(sans-IO), so that the same steps run blocking on a thread (`run`) or awaited on the ASGI event
loop (`run_async`). What a step yields:
- `Append(record)`: append to the order journal and return once it is fsync'd (-> None);
- `Command(key, args)`: one Redis command on the node that holds `key` (-> its reply, as the wire says);
- a `scripts.Call`: a Lua script (-> its parsed result).
Every lookup (`tracker.lookups`) is made before the first effect that writes, so steps run on
cache-only lookups that give up (NotCached) have changed nothing.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tracker import keys
from tracker.conversions import model
from tracker.db import Redis, scripts
from tracker.db.aio import Pipes
from tracker.journal import Journal
from tracker.lookups import Lookups

T = TypeVar("T")
Event = model.Order | model.Refund


@dataclass(frozen=True, slots=True)
class Append:
    """Append `record` to the order journal; resumed once it is fsync'd."""

    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """One Redis command on the node that holds `key`; resumed with its reply (bytes, int, None, list)."""

    key: str
    args: tuple[Any, ...]


Steps = Generator["Append | Command | scripts.Call[Any]", Any, T]


def record(
    look: Lookups, click_keys: list[bytes], brand: dict[str, Any], events: list[Event], journaled: bool = True
) -> Steps[dict[str, Any]]:
    """Record parsed events; the answer says what happened to each. They are in the journal,
    fsync'd, before Redis records them (unless `journaled` is False: a replay of the journal).
    Raises BadInput (a refund in another currency than its order)."""
    orders = [model.order_call(look, brand, e, click_keys) if isinstance(e, model.Order) else None for e in events]
    if journaled and events:
        yield Append(journal_record(brand, events))
    outcomes = []
    for event, call in zip(events, orders, strict=True):
        if call is None:
            call = yield from refund_call(brand, event)
        outcomes.append((yield call))
    return answer(events, outcomes)


def refund_call(brand: dict[str, Any], refund: model.Refund) -> Steps[scripts.Call[tuple[str, str | None]]]:
    """A refund's script call, once its currency is its order's (when the order is known): BadInput if not."""
    b = brand["id"]
    index, conversions = keys.order_index(b), keys.conversions(b)
    existing = yield Command(index, (b"HGET", index, f"{refund.source}:{refund.order_id}"))
    if existing is not None:
        raw = yield Command(conversions, (b"HGET", conversions, existing))
        order_currency = json.loads(raw)["currency"] if raw else refund.currency
        if order_currency != refund.currency:
            raise model.BadInput("currency", f"The refund is in {refund.currency}, its order in {order_currency}.")
    return scripts.record_refund(
        brand_id=b, source=refund.source, order_id=refund.order_id, refund_id=refund.refund_id,
        amount=refund.amount, at_ms=int(refund.occurred_at.timestamp() * 1000),
    )  # fmt: skip


def answer(events: list[Event], outcomes: list[tuple[Any, str | None]]) -> dict[str, Any]:
    """What a recording answers, from each event's script: (created, id) of an order, (outcome, id) of a refund."""
    results = []
    for event, (outcome, cid) in zip(events, outcomes, strict=True):
        if isinstance(event, model.Order):
            outcome = "recorded" if outcome else "duplicate"
            results.append({"kind": "order", "order_id": event.order_id, "outcome": outcome, "conversion_id": cid})
        else:
            results.append({"kind": "refund", "order_id": event.order_id, "refund_id": event.refund_id,
                            "outcome": outcome, "conversion_id": cid})  # fmt: skip
    return {"status": "processed" if results else "ignored", "events": results}


# -- the journal's records ------------------------------------------------------------------
def journal_record(brand: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """What the journal keeps of a delivery: its brand and its events."""
    return {"brand": brand["id"], "events": [_journaled(event) for event in events]}


def _journaled(event: Event) -> dict[str, Any]:
    """An event as JSON: its dataclass fields (read, not deep-copied), times as ISO 8601, amounts as integers."""
    fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in vars(event).items()}
    return {"kind": "order" if isinstance(event, model.Order) else "refund", **fields}


def from_journal(data: dict[str, Any]) -> Event:
    """An event as `journal_record` wrote it (KeyError, TypeError or ValueError if it is not one)."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    fields["occurred_at"] = datetime.fromisoformat(fields["occurred_at"])
    return model.Order(**fields) if data["kind"] == "order" else model.Refund(**fields)


# -- the two drivers ------------------------------------------------------------------------
def run(steps: Steps[T], rdb: Redis, journal: Journal | None) -> T:
    """Perform the steps' I/O blocking (a thread: the WSGI paths); their result, or what they raised."""
    reply: Any = None
    while True:
        try:
            effect = steps.send(reply)
        except StopIteration as done:
            return done.value
        if isinstance(effect, Command):
            reply = rdb.call(effect.key, *effect.args)
        elif isinstance(effect, Append):
            assert journal is not None, "steps that journal need a journal"
            reply = journal.append(effect.record)
        else:
            reply = rdb.run(effect)


async def run_async(steps: Steps[T], pipes: Pipes, journal: Journal) -> T:
    """`run` on the event loop: the journal's fsync and every command awaited, the loop free meanwhile."""
    reply: Any = None
    while True:
        try:
            effect = steps.send(reply)
        except StopIteration as done:
            return done.value
        if isinstance(effect, Command):
            reply = await pipes.call(effect.key, *effect.args)
        elif isinstance(effect, Append):
            reply = await journal.append_async(effect.record)
        else:
            reply = await pipes.run(effect)
