"""HTTP fixtures: the FastAPI app over an in-memory registry, and helpers to make callers and records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fmar.access.principal import SYSTEM
from fmar.api.app import create_app
from fmar.registry import Registry
from tests.conftest import asset_body, mpan, org_body

_numbers = count(10_000_000)

#: Extra organisation roles (and fields) a token role needs of its organisation.
ROLE_ORG: dict[str, dict[str, Any]] = {
    "fsp": {"roles": ["FSP"]},
    "so": {"roles": ["DNO"], "networkAreas": ["UKPN_EPN"]},
    "supplier": {"roles": ["SUPPLIER"]},
    "platform": {"roles": ["PLATFORM"]},
    "regulator": {"roles": ["REGULATOR"]},
    "admin": {"roles": ["MARKET_FACILITATOR"]},
}


@dataclass
class World:
    """A registry behind a test client, with helpers that register records as the system."""

    registry: Registry
    client: TestClient

    def org(self, *roles: str, **fields: Any) -> str:
        """Register an Active organisation with the given organisation roles; returns its bare ID."""
        body = org_body(companyNumber=f"{next(_numbers):08d}", vatNumber=None, roles=list(roles or ("FSP",)),
                        **fields)
        body = {k: v for k, v in body.items() if v is not None}
        org, _ = self.registry.organisations.create(SYSTEM, body)
        return self.registry.iris.identifier(org)

    def org_for(self, role: str, *extra_roles: str) -> str:
        """An organisation whose tokens may carry ``role``."""
        spec = ROLE_ORG[role]
        return self.org(*spec["roles"], *extra_roles, **{k: v for k, v in spec.items() if k != "roles"})

    def user(self, org: str, *roles: str, email: str | None = None) -> str:
        user, _ = self.registry.users.create(SYSTEM, org, {
            "name": "Test User", "email": email or f"user{next(_numbers)}@example.org", "roles": list(roles or ("DATA_VIEWER",))})
        return self.registry.iris.identifier(user)

    def client_credentials(self, platform: str) -> tuple[str, str]:
        _, client_id, secret = self.registry.platforms.create_client(SYSTEM, platform, "test client")
        return client_id, secret

    def delegation(self, fsp: str, platform: str, scopes: list[str], valid_from: str = "2020-01-01T00:00:00Z",
                   valid_to: str | None = None) -> str:
        body: dict[str, Any] = {"platform": platform, "scopes": scopes, "validFrom": valid_from}
        if valid_to:
            body["validTo"] = valid_to
        delegation, _ = self.registry.platforms.create_delegation(SYSTEM, fsp, body)
        return self.registry.iris.identifier(delegation)

    def asset(self, org: str, **overrides: Any) -> str:
        """Register an asset operated by ``org`` (a distinct MPAN each time); returns its bare ID."""
        n = next(_numbers)
        body = asset_body(org, **{"importMPAN": mpan(f"10{n:010d}"), "serialNumber": f"SN-{n}", **overrides})
        asset, _ = self.registry.registrations.register(SYSTEM, body)
        return self.registry.iris.identifier(asset)

    def token(self, role: str, org: str | None = None, subject: str | None = None, **extra: Any) -> str:
        return self.registry.tokens.issue(role=role, subject=subject or f"test-{role}", org=org, extra=extra or None)

    def auth(self, role: str, org: str | None = None, subject: str | None = None, **headers: str) -> dict[str, str]:
        """Authorization headers for a caller (no header at all for ``anonymous``)."""
        base = {} if role == "anonymous" else {"Authorization": f"Bearer {self.token(role, org, subject)}"}
        return {**base, **headers}

    def snapshot(self) -> set[tuple[object, ...]]:
        """Every quad in the store, the audit graph included."""
        return set(self.registry.store.quads())


@pytest.fixture
def world(registry: Registry) -> Iterator[World]:
    with TestClient(create_app(registry)) as client:
        yield World(registry, client)


def admin(world: World) -> dict[str, str]:
    return world.auth("admin")
