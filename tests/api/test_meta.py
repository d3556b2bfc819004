"""Service metadata: health, readiness, the context, the signing keys, and the OpenAPI description."""

from __future__ import annotations

import json

import jwt
from fastapi.testclient import TestClient

from fmar.api.app import create_app
from fmar.config import Settings
from fmar.registry import build
from tests.api.conftest import World


def test_health_and_ready(world: World) -> None:
    assert world.client.get("/health").json() == {"status": "ok"}
    assert world.client.get("/ready").json() == {"status": "ready"}


def test_not_ready_without_reference_graphs() -> None:
    with TestClient(create_app(build(Settings()))) as client:
        response = client.get("/ready")
    assert response.status_code == 503 and "fmar init" in response.json()["detail"]


def test_context_is_published(world: World) -> None:
    response = world.client.get("/context.jsonld")
    assert response.headers["content-type"] == "application/ld+json"
    on_disk = json.loads(world.registry.settings.resource("data", "context.jsonld").read_text())
    assert response.json() == on_disk


def test_jwks_verifies_the_registrys_tokens(world: World) -> None:
    keys = world.client.get("/.well-known/jwks.json").json()["keys"]
    token = world.token("admin")
    key = jwt.PyJWK(keys[0])
    assert jwt.get_unverified_header(token)["kid"] == keys[0]["kid"]
    assert jwt.decode(token, key.key, algorithms=["ES256"], audience="fmar")["role"] == "admin"


def test_openapi_lists_delegable_scopes_and_the_policy(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    for scope in world.registry.policy.delegable:
        assert f"`{scope}`" in spec["info"]["description"]
    assert "Policy table" in spec["info"]["description"]
    assert world.client.get("/docs").status_code == 200
