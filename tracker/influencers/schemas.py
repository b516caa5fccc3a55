from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api import FullMatch
from tracker.tiers import TIERS

PLATFORMS = (
    "instagram",
    "tiktok",
    "youtube",
    "x",
    "facebook",
    "twitch",
    "snapchat",
    "pinterest",
    "linkedin",
    "threads",
    "bluesky",
    "blog",
    "podcast",
    "newsletter",
    "other",
)


class InfluencerSchema(Schema):
    id = fields.String(dump_only=True)
    handle = fields.String(
        required=True,
        validate=FullMatch(r"^@?[\w.\-]{1,100}$", error="Must be 1-100 letters, digits, '.', '-' or '_'."),
    )
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    followers = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10**10))
    email = fields.Email(allow_none=True, load_default=None)
    tier_override = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(TIERS),
        metadata={"description": "Pin the influencer to a tier, whatever the followers."},
    )
    tier = fields.String(dump_only=True, metadata={"description": "Derived from followers and the brand's thresholds."})
    created_at = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)


influencer_schema = InfluencerSchema()
