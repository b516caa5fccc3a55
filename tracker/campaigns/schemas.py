from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tracker.api import Date, DestinationUrl, DiscountCodes, FullMatch


class CampaignSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    slug = fields.String(
        required=True,
        validate=FullMatch(
            r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Must be lowercase letters and digits joined by single '-'."
        ),
        metadata={"description": "Used as utm_campaign."},
    )
    destination_url = DestinationUrl(required=True)
    starts_on = Date(required=True)
    ends_on = Date(allow_none=True, load_default=None, metadata={"description": "Not before starts_on (else 422)."})
    discount_codes = DiscountCodes(load_default=list)
    created_at = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("Must not be before starts_on.", "ends_on")


campaign_schema = CampaignSchema()
