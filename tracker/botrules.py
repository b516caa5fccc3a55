"""A brand's own user-agent patterns, applied by the roll-up on top of the classifier.

`exclude` makes a hit a bot of family "brand-rule" (e.g. the brand's own uptime monitor); `count`
makes it a click (e.g. a partner app the classifier flags). A user agent matching both is
excluded. HEAD requests stay bot hits whatever the patterns. Patterns are RE2 regular
expressions, case-insensitive: RE2 matches in time linear in the user agent's length whatever the
pattern, so no pattern can make the roll-up backtrack for ever. A change applies to clicks
rolled up after it: workers compare the patterns' version with the one they compiled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import re2
import redis

from tracker import keys

HEAD = "head"  # the family of HEAD requests: bot hits by rule, never classified
BRAND_RULE = "brand-rule"  # the family of hits a brand's `exclude` pattern matched
MAX_PATTERNS = 50  # per list
MAX_LENGTH = 200  # characters per pattern
LISTS = ("exclude", "count")

_options = re2.Options()
_options.case_sensitive = False
_options.log_errors = False  # a bad pattern is the brand's 422, not a line on the server's stderr


def problem(pattern: str) -> str | None:
    """What is wrong with a pattern, or None when it may be used."""
    try:
        compiled = re2.compile(pattern, _options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return f"Not a valid RE2 regular expression: {reason}."
    if compiled.search(""):
        return "Must not match an empty string (it would match any user agent)."
    return None


def _set(patterns: list[str]) -> re2.Set | None:
    if not patterns:
        return None
    matcher = re2.Set.SearchSet(_options)
    for pattern in patterns:
        if problem(pattern) is None:  # checked when saved; a pattern a newer RE2 rejects is skipped
            matcher.Add(pattern)
    matcher.Compile()
    return matcher


@dataclass(frozen=True)
class Rules:
    """One brand's compiled patterns, at one version."""

    version: int
    exclude: re2.Set | None = None
    count: re2.Set | None = None

    def family(self, ua: str, classified: str) -> str:
        """The bot family of a (non-HEAD) hit after the brand's patterns; "" for a click."""
        if self.exclude is not None and self.exclude.Match(ua):
            return BRAND_RULE
        if classified and self.count is not None and self.count.Match(ua):
            return ""
        return classified


NONE = Rules(0)


def get(r: redis.Redis, brand_id: str) -> dict[str, Any]:
    """The brand's patterns as the API shows them."""
    raw = {k.decode(): v.decode() for k, v in r.hgetall(keys.bot_rules(brand_id)).items()}
    return {
        **{name: json.loads(raw.get(name, "[]")) for name in LISTS},
        "version": int(raw.get("version", 0)),
        "updated_at": raw.get("updated_at"),
    }


def put(r: redis.Redis, brand_id: str, exclude: list[str], count: list[str]) -> dict[str, Any]:
    """Replace the brand's patterns (already validated) and bump their version."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    key = keys.bot_rules(brand_id)
    with r.pipeline(transaction=True) as p:  # one key: the patterns and their version move together
        p.hset(key, mapping={"exclude": json.dumps(exclude), "count": json.dumps(count), "updated_at": now})
        p.hincrby(key, "version", 1)
        p.execute()
    return get(r, brand_id)


class Cache:
    """Each brand's compiled patterns in a worker, compiled again only when their version moved."""

    def __init__(self) -> None:
        self.rules: dict[str, Rules] = {}

    def load(self, r: redis.Redis, brand_id: str) -> Rules:
        """The brand's patterns as they are now: one HGET when they did not change."""
        version = int(r.hget(keys.bot_rules(brand_id), "version") or 0)
        rules = self.rules.get(brand_id, NONE)
        if rules.version != version:
            saved = get(r, brand_id)
            rules = Rules(saved["version"], _set(saved["exclude"]), _set(saved["count"]))
            self.rules[brand_id] = rules
        return rules

    def of(self, brand_id: str) -> Rules:
        """The brand's patterns as last loaded."""
        return self.rules.get(brand_id, NONE)
