"""Webhook sources and their secrets: `/api/v1/integrations`. Rules in `tracker.integrations.service`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from tracker import api
from tracker.errors import Blueprint
from tracker.integrations import service
from tracker.integrations.model import SHOPIFY_ORDER_TOPICS

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


@blp.route("")
class Integrations(MethodView):
    @blp.response(200, IntegrationSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        return service.get_all(api.scope())


@blp.route("/<source>")
class Integration(MethodView):
    @blp.response(200, IntegrationSchema)
    def get(self, source: str) -> dict[str, Any]:
        return service.get(api.scope(), source)

    @blp.arguments(IntegrationPatchSchema)
    @blp.response(200, IntegrationSchema)
    def patch(self, changes: dict[str, Any], source: str) -> dict[str, Any]:
        """Set a source's options: `order_topics`, for the shopify source only (422 for any other)."""
        return service.update(api.scope(), source, changes)


@blp.route("/<source>/secrets")
class Secrets(MethodView):
    @blp.arguments(SecretInSchema)
    @blp.response(201, SecretOutSchema)
    def post(self, data: dict[str, Any], source: str) -> dict[str, Any]:
        return service.add_secret(api.scope(), source, data.get("secret"))


@blp.route("/<source>/secrets/<secret_id>")
class Secret(MethodView):
    @blp.response(204)
    def delete(self, source: str, secret_id: str) -> None:
        service.remove_secret(api.scope(), source, secret_id)
