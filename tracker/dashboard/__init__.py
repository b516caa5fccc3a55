"""The brand dashboard: server-rendered pages under /dashboard.

`signin` holds the session, CSRF and sign-in; `views` the reports (overview, influencers,
comparison, refresh); `manage` the forms for influencers, campaigns, promotions and links.
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates", static_folder="static")


@bp.record_once
def _cookie_defaults(state: BlueprintSetupState) -> None:
    """The dashboard's session cookie is HttpOnly (Flask's default) and SameSite=Lax unless configured."""
    if not state.app.config.get("SESSION_COOKIE_SAMESITE"):
        state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    state.app.config["SESSION_COOKIE_HTTPONLY"] = True


from tracker.dashboard import manage, signin, views  # noqa: E402, F401
