"""The influencer's private page: /i/<token> (filled in by its own module)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/i", template_folder="templates")
