"""One JSON error shape for every error: {code, status, message, errors?}.

flask-smorest's handler produces it for every HTTPException (webargs validation errors
included); views raise with `abort(code, message=...)` or `field_error`.
"""

from __future__ import annotations

from typing import NoReturn

from flask_smorest import abort

__all__ = ["abort", "field_error"]


def field_error(field: str, message: str, code: int = 422, location: str = "json") -> NoReturn:
    """Abort naming one field and what is wrong with it."""
    abort(code, message=f"{field}: {message}", errors={location: {field: [message]}})
    raise AssertionError("unreachable")
