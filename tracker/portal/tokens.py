"""The brand's API for influencer page tokens: `/api/v1/influencers/<id>/portal-tokens`."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from tracker import api, influencers
from tracker.errors import abort
from tracker.portal import api_blp, model


class PortalTokenSchema(Schema):
    id = fields.String()
    token = fields.String(metadata={"description": "Shown in full only in the answer that created it."})
    url = fields.String(metadata={"description": "The influencer's private page: BASE_URL/i/<token>."})
    created_at = fields.String()


class PortalTokenHintSchema(Schema):
    id = fields.String()
    hint = fields.String(metadata={"description": "The token's last characters."})
    created_at = fields.String()


def _r():
    return current_app.extensions["redis"]


@api_blp.route("/<influencer_id>/portal-tokens")
class PortalTokens(MethodView):
    @api_blp.response(200, PortalTokenHintSchema(many=True))
    def get(self, influencer_id: str) -> list[dict[str, Any]]:
        """The influencer's live page tokens (hints only)."""
        influencers.load(influencer_id)
        return model.list_tokens(_r(), api.brand()["id"], influencer_id)

    @api_blp.response(201, PortalTokenSchema)
    def post(self, influencer_id: str) -> dict[str, Any]:
        """A private page link for the influencer: their links, QR codes, clicks, conversions, commission."""
        influencers.load(influencer_id)
        record, token = model.create_token(_r(), api.brand()["id"], influencer_id)
        base = current_app.config["BASE_URL"].rstrip("/")
        return {"id": record["id"], "token": token, "url": f"{base}/i/{token}", "created_at": record["created_at"]}


@api_blp.route("/<influencer_id>/portal-tokens/<token_id>")
class PortalToken(MethodView):
    @api_blp.response(204)
    def delete(self, influencer_id: str, token_id: str) -> None:
        """Revoke a token: its page answers 404 from now on."""
        influencers.load(influencer_id)
        if not model.revoke_token(_r(), api.brand()["id"], influencer_id, token_id):
            abort(404, message=f"portal token {token_id} not found")
