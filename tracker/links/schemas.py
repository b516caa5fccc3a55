from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields

from tracker.api import DestinationUrl, UtcDateTime
from tracker.links import channels
from tracker.links.model import ALIAS_RE, RESERVED


def check_alias(value: str) -> None:
    if not ALIAS_RE.fullmatch(value):
        raise ValidationError("Must be 3-64 letters, digits, '-' or '_', starting with a letter or digit.")
    if value.lower() in RESERVED:
        raise ValidationError(f"{value!r} is reserved.")


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# What check_alias takes, as the OpenAPI document says it: the pattern, and none of the reserved words.
ALIAS_SCHEMA = {"pattern": ALIAS_RE.pattern, "not": {"pattern": f"^({'|'.join(map(_any_case, sorted(RESERVED)))})$"}}


class LinkStatsSchema(Schema):
    clicks = fields.Integer()
    unique_clicks = fields.Integer()
    bot_hits = fields.Integer(metadata={"description": "Hits not counted as clicks: bots, previews, HEAD requests."})
    bots_by_family = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": 'bot_hits by why they are not clicks, e.g. {"crawler": 3, "head": 1}.'},
    )


class Channel(fields.String):
    """A channel label, stored normalised ('Instagram bio' -> 'instagram-bio'). The document gives the
    plain-ASCII labels (words joined by single spaces); letters of any script are taken too."""

    def __init__(self, **kw: Any):
        metadata = {"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*( [A-Za-z0-9_.-]+)*$", "maxLength": 40}
        super().__init__(**{**kw, "metadata": {**metadata, **kw.get("metadata", {})}})

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        return channels.normalise(super()._deserialize(value, attr, data, **kw))


class LinkSchema(Schema):
    id = fields.String(dump_only=True)
    promotion_id = fields.String(required=True, metadata={"description": "A promotion of this brand (else 422)."})
    code = fields.String(
        validate=check_alias, metadata={**ALIAS_SCHEMA, "description": "Custom alias; generated if omitted."}
    )
    destination_url = DestinationUrl(
        allow_none=True, load_default=None, metadata={"description": "Default: the campaign's destination."}
    )
    tracked_url = fields.String(dump_only=True, metadata={"description": "Destination with UTM tags."})
    short_url = fields.String(dump_only=True)
    disabled = fields.Boolean(load_default=False)
    channel = Channel(
        allow_none=True, load_default=None, metadata={"description": "Where it is posted, e.g. instagram-bio."}
    )
    created_by = fields.String(dump_only=True, metadata={"description": '"brand" (the API) or "influencer".'})
    expires_at = UtcDateTime(allow_none=True, load_default=None)
    stats = fields.Nested(LinkStatsSchema, dump_only=True)
    created_at = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)


class LinkUpdateSchema(LinkSchema):
    class Meta:
        exclude = ("promotion_id", "code", "channel")
