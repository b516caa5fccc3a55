"""Influence Ledger: link tracking and ROI attribution for influencer marketing."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import redis
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask, make_response, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import config as settings
from tracker import db
from tracker.errors import TrackerApi
from tracker.journal import Journal
from tracker.lookups import Lookups
from tracker.resolve import LinkResolver

API_SPEC = {
    "info": {"description": "Brands manage influencers, campaigns, promotions and tracked links."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
}


class DerivedKeySessions(SecureCookieSessionInterface):
    """Session cookies signed with a key derived from the click-id key (never the key itself),
    derived before the first session opens (the key may live in Redis, read on first use)."""

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            base = app.extensions["signing_keys"].current()
            app.secret_key = hmac.new(base, b"flask-session", hashlib.sha256).hexdigest()
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured, or when the request came over HTTPS (as PROXY_COUNT proxies say)."""
        return super().get_cookie_secure(app) or request.is_secure


def _schema_name(schema: Any) -> str:
    """OpenAPI names: `LinkSchema` is Link; its partial (PATCH) form is LinkPatch."""
    return resolver(schema) + ("Patch" if getattr(schema, "partial", False) else "")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app (everything but the redirect's fast path, see `create_wsgi`)."""
    import swagger_ui_bundle

    from tracker import (
        auth,
        brands,
        campaigns,
        conversions,
        dashboard,
        engagement,
        health,
        influencers,
        integrations,
        links,
        metrics,
        portal,
        promotions,
        reports,
        snippet,
        webhooks,
    )
    from tracker.signing import SigningKeys

    app = Flask(__name__)
    app.config.update(settings.from_env())
    app.config.update(
        API_TITLE="Influence Ledger",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS=API_SPEC,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.config.update(config or {})
    app.json.sort_keys = False  # reports list cost per conversion first

    rdb = db.Redis.from_config(app.config)  # every Redis connection of this app, closed with it
    rdb.close_with(app)
    app.extensions["db"] = rdb
    app.extensions["redis"] = r = rdb.data
    app.extensions["queue_redis"] = rdb.queue
    app.extensions["signing_keys"] = SigningKeys(r, app.config)
    app.extensions["links"] = LinkResolver.from_config(r, app.config)  # the redirect's and attribution's
    app.extensions["lookups"] = Lookups(rdb, float(app.config["LINK_CACHE_SECONDS"]), app.extensions["links"])
    app.extensions["journal"] = Journal(app.config["SPOOL_DIR"], app.config["JOURNAL_KEEP_SECONDS"])
    # SECRET_KEY signs click ids; Flask's sessions get a key derived from it (set on first request
    # when it lives in Redis), never the key itself.
    app.config["SECRET_KEY"] = None

    api = TrackerApi(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)})
    for blp in (
        brands.blp,
        influencers.blp,
        campaigns.blp,
        promotions.blp,
        engagement.blp,
        links.blp,
        conversions.blp,
        integrations.blp,
        reports.blp,
        portal.api_blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(snippet.bp)

    app.session_interface = DerivedKeySessions()
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        # The client's address as PROXY_COUNT proxies appended it, never further back; the scheme as
        # the nearest one says (proxies set X-Forwarded-Proto rather than append to it: nginx's
        # `$scheme`, load balancers, CDNs), so a lone value is heard and a client's own never.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=1)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _no_route(exc: HTTPException) -> Any:
        """An address nothing answers: a page under /dashboard/ (where people click), else JSON.
        A 405 names the methods the address takes (`Allow`)."""
        if request.path == "/dashboard" or request.path.startswith("/dashboard/"):
            response = make_response(dashboard.signin.http_error(exc))
        else:
            response = make_response(api.handle_http_exception(exc))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(redis.RedisError)
    def _redis_down(exc: redis.RedisError) -> tuple[dict[str, Any], int, dict[str, str]]:
        app.logger.error("redis: %s", exc)
        body = {"code": 503, "status": "Service Unavailable", "message": "storage unavailable; retry"}
        return body, 503, {"Retry-After": "5"}

    @app.get("/api/docs/assets/<path:name>")
    def swagger_assets(name: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith("/api/v1/"):
            auth.authenticate()

    @app.get("/")
    def index() -> dict[str, Any]:
        return {"service": "influence-ledger", "api": "/api/v1", "docs": "/api/docs", "openapi": "/api/openapi.json"}

    return app


def create_wsgi(config: dict[str, Any] | None = None) -> Any:
    """The served WSGI callable: the lean redirect and webhook paths in front of the Flask app.
    Orders and refunds left in the journal (by any process) are replayed first."""
    from tracker.conversions import replay_journal
    from tracker.redirect import Redirector
    from tracker.webhooks.fast import WebhookFront

    app = create_app(config)
    try:
        replay_journal(app)
    except redis.RedisError as exc:  # the service starts anyway; `tracker replay-orders` does it later
        app.logger.error("order journal not replayed, Redis unreachable: %s", exc)
    ext = app.extensions
    front = Redirector(WebhookFront(app), ext["db"], app.config, ext["signing_keys"].current, ext["links"])
    front.flask_app = app
    return front
