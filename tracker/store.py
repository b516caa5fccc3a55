"""Brand-scoped entity storage in Redis: JSON records, creation order, unique fields.

Every key of one brand shares the brand's hash tag, so a create or update with its unique
indexes is one MULTI transaction (WATCHed against concurrent writers).
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from tracker import keys
from tracker.errors import NotFound


class Taken(Exception):
    """A unique field's value is taken by another record (the area's rules turn it into errors.Conflict)."""

    def __init__(self, field: str, value: str):
        super().__init__(f"{field} {value!r} is already in use")
        self.field = field
        self.value = value


class Store:
    def __init__(self, r: redis.Redis, brand_id: str):
        self.r = r
        self.brand_id = brand_id

    def get(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        raw = self.r.hget(keys.entities(self.brand_id, kind), entity_id)
        return json.loads(raw) if raw else None

    def load(self, kind: str, entity_id: str) -> dict[str, Any]:
        """The stored record; NotFound if it is not this brand's."""
        record = self.get(kind, entity_id)
        if record is None:
            raise NotFound(kind, entity_id)
        return record

    def get_many(self, kind: str, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        raws = self.r.hmget(keys.entities(self.brand_id, kind), ids)
        return [json.loads(raw) for raw in raws if raw]

    def page(self, kind: str, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """Records in creation order, one page of them, and the total count."""
        order = keys.entity_order(self.brand_id, kind)
        start = (page - 1) * page_size
        with self.r.pipeline(transaction=False) as p:
            p.zrange(order, start, start + page_size - 1)
            p.zcard(order)
            ids, total = p.execute()
        return self.get_many(kind, [i.decode() if isinstance(i, bytes) else i for i in ids]), total

    def find_unique(self, name: str, value: str) -> str | None:
        raw = self.r.hget(keys.unique_index(self.brand_id, name), value)
        return raw.decode() if isinstance(raw, bytes) else raw

    def save(
        self,
        kind: str,
        record: dict[str, Any],
        unique: dict[str, list[str]] | None = None,
        old_unique: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """Create or replace `record` (keyed by its id) and its unique index entries atomically.

        `unique` maps an index name to the values this record must own; `old_unique` the values
        it owned before (released). Raises Taken naming the index if a value is taken.
        """
        unique = unique or {}
        old_unique = old_unique or {}
        rid = record["id"]
        data_key = keys.entities(self.brand_id, kind)
        index_keys = {name: keys.unique_index(self.brand_id, name) for name in set(unique) | set(old_unique)}
        with self.r.pipeline(transaction=True) as p:  # MULTI on a cluster client too (its default is none)
            while True:
                try:
                    if index_keys:
                        p.watch(*index_keys.values())
                    for name, values in unique.items():
                        for value in values:
                            owner = p.hget(index_keys[name], value)
                            if owner is not None and owner.decode() != rid:
                                raise Taken(name, value)
                    p.multi()
                    for name, values in old_unique.items():
                        stale = [v for v in values if v not in unique.get(name, [])]
                        if stale:
                            p.hdel(index_keys[name], *stale)
                    for name, values in unique.items():
                        if values:
                            p.hset(index_keys[name], mapping={v: rid for v in values})
                    p.hset(data_key, rid, json.dumps(record, separators=(",", ":")))
                    p.zadd(keys.entity_order(self.brand_id, kind), {rid: time.time()}, nx=True)
                    p.execute()
                    return record
                except redis.WatchError:
                    continue
