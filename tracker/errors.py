"""One JSON error shape for every error: {code, status, message, errors?}.

flask-smorest's handler produces it for every HTTPException (webargs validation errors
included); views raise with `abort(code, message=...)` or `field_error`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException

__all__ = ["TrackerApi", "abort", "field_error"]


def field_error(field: str, message: str, code: int = 422, location: str = "json") -> NoReturn:
    """Abort naming one field and what is wrong with it."""
    abort(code, message=f"{field}: {message}", errors={location: {field: [message]}})
    raise AssertionError("unreachable")


def _first(errors: Any, path: str = "") -> str | None:
    """'field.sub: problem' for the first problem in a marshmallow error tree."""
    if isinstance(errors, list):
        return f"{path}: {errors[0]}" if errors and isinstance(errors[0], str) else None
    if isinstance(errors, dict):
        for key, value in errors.items():
            found = _first(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    return None


class TrackerApi(Api):
    """flask-smorest's Api, with a message on every error (validation errors name their field)."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload:
            locations = payload.get("errors") or {}
            fields = {k: v for loc in locations.values() if isinstance(loc, dict) for k, v in loc.items()}
            payload["message"] = _first(fields) or error.description or error.name
        return payload, code, headers
