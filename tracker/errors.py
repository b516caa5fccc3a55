"""One JSON error shape for every error: {code, status, message, errors?}.

flask-smorest's handler produces it for every HTTPException (webargs validation errors
included); views raise with `abort(code, message=...)` or `field_error`. A body that is not
JSON at all (malformed, or nested past what the parser can follow) is a 400 naming `body`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from flask_smorest import Api, abort
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

__all__ = ["Blueprint", "TrackerApi", "abort", "body_error", "field_error", "json_body"]


def field_error(field: str, message: str, code: int = 422, location: str = "json") -> NoReturn:
    """Abort naming one field and what is wrong with it."""
    abort(code, message=f"{field}: {message}", errors={location: {field: [message]}})
    raise AssertionError("unreachable")


def body_error(problem: str) -> NoReturn:
    """A 400 for a request body that cannot be read as JSON."""
    field_error("body", problem, 400)


def json_body(data: bytes | str) -> Any:
    """The JSON document in a request body, or a 400 naming the body."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        body_error(f"not valid JSON ({exc})")
    except RecursionError:
        body_error("JSON nested too deeply")


class Parser(FlaskParser):
    """webargs' Flask parser, with the one error shape for a body that is not JSON."""

    def _raw_load_json(self, req: Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            body_error("JSON nested too deeply")

    def _handle_invalid_json_error(self, error: ValueError, req: Request, *args: Any, **kwargs: Any) -> NoReturn:
        body_error(f"not valid JSON ({error})")


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing arguments with `Parser`."""

    ARGUMENTS_PARSER = Parser()


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
