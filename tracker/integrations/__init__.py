"""Webhook sources and their secrets: `/api/v1/integrations`."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from tracker import api
from tracker.errors import Blueprint, abort, field_error
from tracker.integrations import model
from tracker.integrations.model import SHOPIFY_ORDER_TOPICS, SOURCES

blp = Blueprint(
    "integrations", __name__, url_prefix="/api/v1/integrations", description="Webhook sources and their secrets"
)


class SecretInSchema(Schema):
    secret = fields.String(
        validate=validate.Length(min=16, max=512),
        metadata={"description": "The platform's signing secret (Shopify, WooCommerce, Stripe); generated if omitted."},
    )


class SecretOutSchema(Schema):
    id = fields.String()
    secret = fields.String(metadata={"description": "Shown in full only in the answer that created it."})
    created_at = fields.String()


class SecretHintSchema(Schema):
    id = fields.String()
    hint = fields.String()
    created_at = fields.String()


class IntegrationSchema(Schema):
    source = fields.String()
    webhook_url = fields.String()
    secrets = fields.List(fields.Nested(SecretHintSchema))
    order_topics = fields.List(fields.String(), metadata={"description": "Shopify: which topics create an order."})


class IntegrationPatchSchema(Schema):
    order_topics = fields.List(
        fields.String(validate=validate.OneOf(SHOPIFY_ORDER_TOPICS)),
        validate=validate.Length(min=1),
        metadata={"description": "Which topics create an order; only the shopify source has them (else 422)."},
    )


def _r():
    return current_app.extensions["redis"]


def _source(source: str) -> str:
    if source not in SOURCES:
        abort(404, message=f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    return source


def describe(source: str, data: dict[str, Any]) -> dict[str, Any]:
    base = current_app.config["BASE_URL"].rstrip("/")
    brand_id = api.brand()["id"]
    url = (
        f"{base}/postback?tid={{click_id}}&order_id=..."
        if source == "postback"
        else f"{base}/webhooks/{brand_id}/{source}"
    )
    out = {
        "source": source,
        "webhook_url": url,
        "secrets": [
            {"id": s["id"], "hint": "…" + s["secret"][-4:], "created_at": s["created_at"]} for s in data["secrets"]
        ],
    }
    if "order_topics" in data:
        out["order_topics"] = data["order_topics"]
    return out


@blp.route("")
class Integrations(MethodView):
    @blp.response(200, IntegrationSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        return [describe(s, d) for s, d in model.load_all(_r(), api.brand()["id"]).items()]


@blp.route("/<source>")
class Integration(MethodView):
    @blp.response(200, IntegrationSchema)
    def get(self, source: str) -> dict[str, Any]:
        return describe(source, model.load(_r(), api.brand()["id"], _source(source)))

    @blp.arguments(IntegrationPatchSchema)
    @blp.response(200, IntegrationSchema)
    def patch(self, changes: dict[str, Any], source: str) -> dict[str, Any]:
        """Set a source's options: `order_topics`, for the shopify source only (422 for any other)."""
        if _source(source) != "shopify" and changes:
            field_error("order_topics", "Only the shopify source has order topics.")
        data = {**model.load(_r(), api.brand()["id"], source), **changes}
        model.save(_r(), api.brand()["id"], source, data)
        return describe(source, data)


@blp.route("/<source>/secrets")
class Secrets(MethodView):
    @blp.arguments(SecretInSchema)
    @blp.response(201, SecretOutSchema)
    def post(self, data: dict[str, Any], source: str) -> dict[str, Any]:
        try:
            return model.add_secret(_r(), api.brand()["id"], _source(source), data.get("secret"))
        except ValueError as exc:
            abort(409, message=str(exc))
        finally:
            current_app.extensions["lookups"].forget("secrets", api.brand()["id"], source)


@blp.route("/<source>/secrets/<secret_id>")
class Secret(MethodView):
    @blp.response(204)
    def delete(self, source: str, secret_id: str) -> None:
        if not model.remove_secret(_r(), api.brand()["id"], _source(source), secret_id):
            abort(404, message=f"secret {secret_id} not found")
        current_app.extensions["lookups"].forget("secrets", api.brand()["id"], source)
