"""Webhook sources as the API's /integrations shows and changes them: options, secrets added and
removed (this process's cached secrets dropped at once). Storage in `tracker.integrations.model`."""

from __future__ import annotations

import hashlib
import json
import secrets as token
from typing import Any

from tracker import keys
from tracker.errors import Conflict, Invalid, NotFound
from tracker.integrations.model import MAX_SECRETS, SOURCES, load, load_all, save
from tracker.records import new_id, now_iso
from tracker.scope import Scope


def _known(source: str) -> str:
    if source not in SOURCES:
        raise NotFound("source", source, f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    return source


def describe(scope: Scope, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """A source as shown: where the shop sends its webhooks, its secrets' hints, its options."""
    if source == "postback":
        url = f"{scope.base_url}/postback?tid={{click_id}}&order_id=..."
    else:
        url = f"{scope.base_url}/webhooks/{scope.brand_id}/{source}"
    out = {
        "source": source,
        "webhook_url": url,
        "secrets": [
            {"id": s["id"], "hint": "…" + s["secret"][-4:], "created_at": s["created_at"]} for s in data["secrets"]
        ],
    }
    if "order_topics" in data:
        out["order_topics"] = data["order_topics"]
    return out


def get_all(scope: Scope) -> list[dict[str, Any]]:
    return [describe(scope, s, d) for s, d in load_all(scope.r, scope.brand_id).items()]


def get(scope: Scope, source: str) -> dict[str, Any]:
    return describe(scope, source, load(scope.r, scope.brand_id, _known(source)))


def update(scope: Scope, source: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Set a source's options: `order_topics`, for the shopify source only (Invalid for any other)."""
    if _known(source) != "shopify" and changes:
        raise Invalid("order_topics", "Only the shopify source has order topics.")
    data = {**load(scope.r, scope.brand_id, source), **changes}
    save(scope.r, scope.brand_id, source, data)
    return describe(scope, source, data)


def add_secret(scope: Scope, source: str, value: str | None) -> dict[str, Any]:
    """A new secret for a source (generated when `value` is None), at most MAX_SECRETS (Conflict);
    returned in full this once."""
    brand_id = scope.brand_id
    data = load(scope.r, brand_id, _known(source))
    if len(data["secrets"]) >= MAX_SECRETS:
        raise Conflict(None, f"At most {MAX_SECRETS} secrets per source; delete an old one first.")
    if value is None:
        value = ("pb_" if source == "postback" else "il_whsec_") + token.token_urlsafe(32)
    entry = {"id": new_id(), "secret": value, "created_at": now_iso()}
    data["secrets"].append(entry)
    try:
        with scope.r.pipeline(transaction=False) as p:  # two slots
            p.hset(keys.integrations(brand_id), source, json.dumps(data))
            if source == "postback":
                p.set(keys.postback_token(hashlib.sha256(value.encode()).hexdigest()), brand_id)
            p.execute()
    finally:
        scope.lookups.forget("secrets", brand_id, source)
    return entry


def remove_secret(scope: Scope, source: str, secret_id: str) -> None:
    """Delete a secret: deliveries signed with it are refused from now on."""
    data = load(scope.r, scope.brand_id, _known(source))
    gone = next((s for s in data["secrets"] if s["id"] == secret_id), None)
    if gone is None:
        raise NotFound("secret", secret_id)
    data["secrets"] = [s for s in data["secrets"] if s["id"] != secret_id]
    with scope.r.pipeline(transaction=False) as p:
        p.hset(keys.integrations(scope.brand_id), source, json.dumps(data))
        if source == "postback":
            p.delete(keys.postback_token(hashlib.sha256(gone["secret"].encode()).hexdigest()))
        p.execute()
    scope.lookups.forget("secrets", scope.brand_id, source)
