"""The policy table, enumerated: every operation × every role, on the caller's own organisation
and on another one, through the HTTP API. A route without a policy row, or a row without a
route, or a request that the table and the API decide differently, fails here.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from fmar.access.principal import ROLES
from fmar.api.app import create_app
from fmar.api.deps import OPERATION_KEY
from fmar.config import Settings
from fmar.registry import Registry, build
from tests.api.conftest import ROLE_ORG, World
from tests.conftest import asset_body, mpan, org_body

CALLERS = (*ROLES, "anonymous")
#: Every target organisation can hold users, client credentials and delegations.
TARGET_ROLES = ("FSP", "PLATFORM")

Recipe = Callable[[World, dict[str, str], str], httpx.Response]


def _other_platform(w: World) -> str:
    return w.org("PLATFORM")


RECIPES: dict[str, Recipe] = {
    "meta.read": lambda w, h, t: w.client.get("/ready", headers=h),
    "auth.token": lambda w, h, t: w.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=w.client_credentials(t), headers=h),
    "organisation.create": lambda w, h, t: w.client.post(
        "/organisations", json=org_body(companyNumber=None, organisationType="SOLE_TRADER"), headers=h),
    "organisation.list": lambda w, h, t: w.client.get("/organisations", headers=h),
    "organisation.read": lambda w, h, t: w.client.get(f"/organisations/{t}", headers=h),
    "organisation.update": lambda w, h, t: w.client.patch(
        f"/organisations/{t}", json={"tradingName": "Renamed"}, headers={**h, "If-Match": "*"}),
    "organisation.status": lambda w, h, t: w.client.post(
        f"/organisations/{t}/status", json={"status": "Suspended", "reason": "test"}, headers=h),
    "organisation.deregister": lambda w, h, t: w.client.post(
        f"/organisations/{t}/deregister", json={"reason": "test"}, headers=h),
    "user.create": lambda w, h, t: w.client.post(
        f"/organisations/{t}/users", json={"name": "New User", "email": "new@example.org", "roles": ["DATA_VIEWER"]},
        headers=h),
    "user.list": lambda w, h, t: w.client.get(f"/organisations/{t}/users", headers=h),
    "user.read": lambda w, h, t: w.client.get(f"/users/{w.user(t)}", headers=h),
    "user.status": lambda w, h, t: w.client.post(f"/users/{w.user(t)}/deactivate", headers=h),
    "client.create": lambda w, h, t: w.client.post(f"/organisations/{t}/clients", json={"name": "c"}, headers=h),
    "client.list": lambda w, h, t: w.client.get(f"/organisations/{t}/clients", headers=h),
    "client.revoke": lambda w, h, t: w.client.post(
        f"/organisations/{t}/clients/{w.client_credentials(t)[0]}/revoke", headers=h),
    "delegation.create": lambda w, h, t: w.client.post(
        f"/organisations/{t}/delegations", json={"platform": _other_platform(w), "scopes": ["organisation.read"],
                                                 "validFrom": "2026-01-01T00:00:00Z"}, headers=h),
    "delegation.list": lambda w, h, t: w.client.get(f"/organisations/{t}/delegations", headers=h),
    "delegation.revoke": lambda w, h, t: w.client.post(
        f"/organisations/{t}/delegations/{w.delegation(t, _other_platform(w), ['organisation.read'])}/revoke",
        headers=h),
    "asset.create": lambda w, h, t: w.client.post("/assets", json=_new_asset(t), headers=h),
    "asset.list": lambda w, h, t: w.client.get("/assets", headers=h),
    "category.list": lambda w, h, t: w.client.get("/categories", headers=h),
    "category.read": lambda w, h, t: w.client.get("/categories/HEAT_PUMP", headers=h),
    "category.update": lambda w, h, t: w.client.put("/categories/HEAT_PUMP", content=w.client.get(
        "/categories/HEAT_PUMP").content, headers={**h, "Content-Type": "text/turtle"}),
    "category.deprecate": lambda w, h, t: w.client.post("/categories/WIND_TURBINE/deprecate", headers=h),
    "asset.export": lambda w, h, t: w.client.get("/assets/export?format=csv", headers=h),
    "asset.read": lambda w, h, t: w.client.get(f"/assets/{w.asset(t)}", headers=h),
    "asset.update": lambda w, h, t: w.client.patch(f"/assets/{w.asset(t)}", json={"assetName": "Renamed"},
                                                   headers={**h, "If-Match": "*"}),
    "asset.validate": lambda w, h, t: w.client.post(f"/assets/{w.asset(t)}/validation",
                                                    json={"status": "Verified", "note": "ok"}, headers=h),
    "asset.deregister": lambda w, h, t: w.client.post(f"/assets/{w.asset(t)}/deregister",
                                                      json={"reason": "DECOMMISSIONED"}, headers=h),
    "sparql.query": lambda w, h, t: w.client.get("/sparql", params={"query": "ASK {}"}, headers=h),
    "sparql.update": lambda w, h, t: w.client.post("/sparql/update", content=b"INSERT DATA { }",
                                                   headers={**h, "Content-Type": "application/sparql-update"}),
    "store.read": lambda w, h, t: w.client.get("/store", params={"graph": str(w.registry.iris.graph("codes"))},
                                               headers=h),
    "view.read": lambda w, h, t: w.client.get("/views/assets", headers=h),
    "history.read": lambda w, h, t: w.client.get(f"/assets/{w.asset(t)}/history", headers=h),
    "audit.read": lambda w, h, t: w.client.get("/audit", headers=h),
    "audit.verify": lambda w, h, t: w.client.get("/audit/verify", headers=h),
}
#: Operations whose target is not one organisation's record (decided by role; results filtered).
UNTARGETED = {"meta.read", "organisation.create", "organisation.list", "asset.list", "category.list", "category.read",
              "category.update", "category.deprecate", "sparql.update", "audit.verify"}
_serials = iter(range(10**6))


def _new_asset(org: str) -> dict[str, object]:
    n = next(_serials)
    return asset_body(org, importMPAN=mpan(f"1099{n:08d}"), serialNumber=f"POL-{n}")
POLICY = build(Settings()).policy


def test_every_route_declares_a_policy_operation_and_every_operation_has_a_route(registry: Registry) -> None:
    paths = create_app(registry).openapi()["paths"]
    declared = {}
    for path, methods in paths.items():
        for method, op in methods.items():
            name = op.get(OPERATION_KEY)
            assert name in registry.policy, f"{method.upper()} {path} declares no policy row ({name!r})"
            assert f"`{name}`" in op["description"], "the OpenAPI description names the operation's policy"
            declared[name] = path
    assert set(declared) == set(registry.policy.operations), "policy rows without a route"


def test_every_operation_has_a_recipe_here() -> None:
    assert set(RECIPES) == set(POLICY.operations), "add a recipe for the new operation to this test"


def _allowed(role: str, operation: str, own: bool, org_admin: bool = True) -> bool:
    """What the table says; every asset the recipes make lies in the system operator's area."""
    scopes = POLICY.operations[operation].scopes[role]
    if "any" in scopes or "area" in scopes:
        return True
    return own and ("own" in scopes or (bool(scopes & {"own-admin", "own-manager"}) and org_admin))


def _check(response: httpx.Response, allowed: bool, role: str, label: str) -> None:
    if allowed:
        assert response.status_code not in (401, 403, 404), f"{label}: refused {response.status_code} {response.text}"
        assert response.status_code < 300, f"{label}: allowed but failed {response.status_code} {response.text}"
    elif role == "anonymous":
        assert response.status_code == 401, f"{label}: {response.status_code} {response.text}"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert response.status_code in (403, 404), f"{label}: expected refusal, got {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("operation", sorted(RECIPES))
@pytest.mark.parametrize("role", CALLERS)
def test_policy_row(world: World, operation: str, role: str) -> None:
    """The API allows exactly what the table allows, for the caller's organisation and another."""
    own = world.org_for(role, *TARGET_ROLES) if role in ROLE_ORG and role != "admin" else None
    headers = world.auth(role, own)
    other = world.org(*TARGET_ROLES)
    if operation == "organisation.list":
        response = world.client.get("/organisations", headers=headers)
        _check(response, bool(POLICY.operations[operation].scopes[role]), role, f"{role} {operation}")
        if response.status_code == 200:
            listed = {item["identifier"] for item in response.json()["items"]}
            assert (other in listed) == _allowed(role, operation, own=False)
            if own:
                assert (own in listed) == _allowed(role, operation, own=True)
        return
    if operation in ("asset.list", "asset.export", "sparql.query", "store.read", "view.read", "audit.read"):
        # by role; what each caller finds: tests/api/test_assets.py, tests/sparql/test_access.py
        _check(RECIPES[operation](world, headers, other), bool(POLICY.operations[operation].scopes[role]), role, operation)
        return
    if operation in UNTARGETED or operation == "auth.token":
        # Untargeted rows (and the token endpoint) are decided by role alone.
        _check(RECIPES[operation](world, headers, other), _allowed(role, operation, own=False), role, operation)
        return
    _check(RECIPES[operation](world, headers, other), _allowed(role, operation, own=False), role,
           f"{role} {operation} on another organisation")
    if own is not None:
        member = world.auth(role, own, subject=world.user(own, "DATA_VIEWER"))
        _check(RECIPES[operation](world, member, own), _allowed(role, operation, own=True, org_admin=False), role,
               f"{role} {operation} on its own organisation by a member who is not its administrator")
        _check(RECIPES[operation](world, headers, own), _allowed(role, operation, own=True), role,
               f"{role} {operation} on its own organisation")
