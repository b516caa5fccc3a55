"""The brand dashboard: server-rendered pages under /dashboard (filled in by its own module)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates", static_folder="static")
