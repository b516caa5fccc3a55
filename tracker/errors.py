"""One JSON error shape for every error: {code, status, message, errors?}.

The service functions of each area (`tracker/<area>/service.py`) raise the domain errors below:
plain exceptions, no HTTP. `TrackerApi` maps them to the error shape, in one handler; the
dashboard and the influencer page catch them and show them next to their fields.

flask-smorest's handler produces the same shape for every HTTPException (webargs validation
errors included); views raise those with `abort(code, message=...)` or `field_error` for what
is about HTTP itself. A body that is not JSON at all (malformed, or nested past what the parser
can follow) is a 400 naming `body`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from flask_smorest import Api, abort
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

__all__ = [
    "Blueprint",
    "Conflict",
    "DomainError",
    "Invalid",
    "NotFound",
    "TrackerApi",
    "Unavailable",
    "Unreadable",
    "abort",
    "body_error",
    "field_error",
    "json_body",
]


# -- domain errors --------------------------------------------------------------------------
class DomainError(Exception):
    """A rule of the service refused a request. `message` is the whole text; `errors` the tree
    {location: {field: [problems]}} naming the field, or None; `status` the HTTP answer."""

    status = 400

    def __init__(self, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(DomainError):
    """No such record in this brand (another brand's ids included): "influencer Hq3... not found"."""

    status = 404

    def __init__(self, kind: str, id: str, message: str | None = None):  # noqa: A002 - the record's id
        super().__init__(message or f"{kind} {id} not found")
        self.kind = kind
        self.id = id


class FieldError(DomainError):
    """A problem with one field: "field: problem". `errors` may name it deeper (a list item, a
    CSV line); by default it is {"json": {field: [problem]}}. Without a field, the message alone."""

    def __init__(self, field: str | None, message: str, errors: dict[str, Any] | None = None):
        if field is None:
            super().__init__(message, errors)
        else:
            super().__init__(f"{field}: {message}", errors or {"json": {field: [message]}})
        self.field = field
        self.problem = message


class Unreadable(FieldError):
    """Input that cannot be read at all (400), e.g. an upload that is not UTF-8 text."""

    status = 400


class Invalid(FieldError):
    """A value the rules refuse (422): an unknown related id, dates out of order..."""

    status = 422


class Conflict(FieldError):
    """A value another record holds, or a limit reached (409)."""

    status = 409


class Unavailable(DomainError):
    """Worth retrying (503): e.g. no free link code found."""

    status = 503


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


def error_body(status: int, message: str, errors: Any = None) -> dict[str, Any]:
    """The one error shape: {code, status, message, errors?}."""
    body: dict[str, Any] = {"code": status, "status": HTTP_STATUS_CODES[status], "message": message}
    if errors:
        body["errors"] = errors
    return body


class TrackerApi(Api):
    """flask-smorest's Api, with a message on every error (validation errors name their field), and
    the domain errors in the same shape."""

    def _register_error_handlers(self) -> None:
        super()._register_error_handlers()
        self._app.register_error_handler(DomainError, self.handle_domain_error)

    def handle_domain_error(self, error: DomainError) -> Any:
        """The one place a domain error becomes an answer: {code, status, message, errors?}."""
        return error_body(error.status, error.message, error.errors), error.status

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload:
            locations = payload.get("errors") or {}
            fields = {k: v for loc in locations.values() if isinstance(loc, dict) for k, v in loc.items()}
            payload["message"] = _first(fields) or error.description or error.name
        return payload, code, headers
