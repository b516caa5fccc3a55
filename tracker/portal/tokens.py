"""The brand's API for influencer page tokens: `/api/v1/influencers/<id>/portal-tokens`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from tracker import api
from tracker.portal import api_blp, service


class PortalTokenSchema(Schema):
    id = fields.String()
    token = fields.String(metadata={"description": "Shown in full only in the answer that created it."})
    url = fields.String(metadata={"description": "The influencer's private page: BASE_URL/i/<token>."})
    created_at = fields.String()


class PortalTokenHintSchema(Schema):
    id = fields.String()
    hint = fields.String(metadata={"description": "The token's last characters."})
    created_at = fields.String()


@api_blp.route("/<influencer_id>/portal-tokens")
class PortalTokens(MethodView):
    @api_blp.response(200, PortalTokenHintSchema(many=True))
    def get(self, influencer_id: str) -> list[dict[str, Any]]:
        """The influencer's live page tokens (hints only)."""
        return service.tokens_of(api.scope(), influencer_id)

    @api_blp.response(201, PortalTokenSchema)
    def post(self, influencer_id: str) -> dict[str, Any]:
        """A private page link for the influencer: their links, QR codes, clicks, conversions, commission."""
        return service.issue(api.scope(), influencer_id)


@api_blp.route("/<influencer_id>/portal-tokens/<token_id>")
class PortalToken(MethodView):
    @api_blp.response(204)
    def delete(self, influencer_id: str, token_id: str) -> None:
        """Revoke a token: its page answers 404 from now on."""
        service.revoke(api.scope(), influencer_id, token_id)
