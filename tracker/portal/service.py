"""The brand's side of its influencers' private pages: tokens listed, issued (shown once) and revoked.
Token storage and the page's figures in `tracker.portal.model`."""

from __future__ import annotations

from typing import Any

from tracker.errors import NotFound
from tracker.influencers import service as influencers
from tracker.portal.model import create_token, list_tokens, revoke_token
from tracker.scope import Scope


def tokens_of(scope: Scope, influencer_id: str) -> list[dict[str, Any]]:
    """An influencer's live tokens, hints only (NotFound for another brand's influencer)."""
    influencers.load(scope, influencer_id)
    return list_tokens(scope.r, scope.brand_id, influencer_id)


def issue(scope: Scope, influencer_id: str) -> dict[str, Any]:
    """A new private page link for one of the brand's influencers, its token shown this once."""
    influencers.load(scope, influencer_id)
    record, token = create_token(scope.r, scope.brand_id, influencer_id)
    url = f"{scope.base_url}/i/{token}"
    return {"id": record["id"], "token": token, "url": url, "created_at": record["created_at"]}


def revoke(scope: Scope, influencer_id: str, token_id: str) -> None:
    """Revoke a token: its page answers 404 from then on."""
    influencers.load(scope, influencer_id)
    if not revoke_token(scope.r, scope.brand_id, influencer_id, token_id):
        raise NotFound("portal token", token_id)
