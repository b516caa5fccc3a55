"""Roll-ups written in an older layout are brought up to the current one, once per brand.

Both doors that read or write roll-ups call `ensure` first (the roll-up job, and reports), so an
upgrade needs no step of its own. Each migration is a script per promotion that gives the same
result when run again or after roll-ups in the new layout (see tracker/db/lua), so two processes
running it at once do no harm; the brand's schema hash records it once all its promotions are done.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from tracker import db, keys
from tracker.db import scripts

# 2026-11-26: since-posting fields in a hash of their own; all-time totals and time-to-conversion
# histogram per promotion.
ROLLUPS_V2 = "rollups-v2"


def current() -> dict[str, str]:
    """The schema record of a brand born in the current layout."""
    return {ROLLUPS_V2: datetime.now(UTC).isoformat(timespec="seconds")}


def ensure(r: redis.Redis, brand_id: str) -> None:
    if r.hexists(keys.schema(brand_id), ROLLUPS_V2):
        return
    for promotion in sorted(p.decode() for p in r.hkeys(keys.entities(brand_id, "promotion"))):
        db.run(r, scripts.migrate_promotion(brand_id=brand_id, promotion_id=promotion))
    r.hset(keys.schema(brand_id), mapping=current())
