"""The influencer's private page: /i/<token>, and the brand's API for its tokens.

`bp` serves the page and its QR codes (no API key: the token in the URL is the credential);
`api_blp` is the brand-side API under /api/v1/influencers/<id>/portal-tokens, registered with
flask-smorest's Api by `create_app` (`api.register_blueprint(portal.api_blp)`).
"""

from __future__ import annotations

from flask import Blueprint

from tracker.errors import Blueprint as ApiBlueprint

bp = Blueprint("portal", __name__, url_prefix="/i", template_folder="templates", static_folder="static",
               static_url_path="/-")  # /i/-/copy.js: no token has a "-" alone
api_blp = ApiBlueprint(
    "portal_tokens",
    __name__,
    url_prefix="/api/v1/influencers",
    description="Private page links for influencers (scoped, revocable tokens)",
)


from tracker.portal import tokens, views  # noqa: E402, F401  (routes register on the blueprints above)
