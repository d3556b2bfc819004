"""Users (UC-01.01): register, list, read, activate and deactivate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from fmar.access.principal import Principal
from fmar.api.deps import AsOf, Caller, JsonObject, OptionalObject, Reg, RequestIdDep, fields, operation
from fmar.api.routes import collection, location, respond, respond_as_of
from fmar.records import load_record
from fmar.registry import Registry

router = APIRouter(tags=["users"])


@router.post("/organisations/{org_id:fmarid}/users", status_code=201, **operation("user.create"))
def register_user(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep,
                  org_id: str, body: JsonObject) -> Response:
    """Register a user of the organisation: `name`, `email` (unique within it), `roles`."""
    user, graph = registry.users.create(principal, org_id, body, request_id)
    return respond(request, registry, user, graph, status=201, location=location(request, "users", user))


@router.get("/organisations/{org_id:fmarid}/users", **operation("user.list"))
def list_users(principal: Caller, registry: Reg, org_id: str) -> dict[str, object]:
    """The organisation's users."""
    users = registry.users.members(principal, org_id)
    return collection(registry, [(u, load_record(registry.store, u)[0]) for u in users])


@router.get("/users/{user_id:fmarid}", **operation("user.read"))
def read_user(request: Request, principal: Caller, registry: Reg, user_id: str, as_of: AsOf = None) -> Response:
    """A user, by `Accept`. `?asOf=` gives it as it was recorded then."""
    if as_of is not None:
        return respond_as_of(request, registry, principal, "users", user_id, as_of)
    user, graph = registry.users.get(principal, user_id)
    return respond(request, registry, user, graph)


@router.post("/users/{user_id:fmarid}/activate", **operation("user.status"))
def activate_user(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep,
                  user_id: str, body: OptionalObject) -> Response:
    """Make a user Active again."""
    return _set_active(request, principal, registry, request_id, user_id, body, active=True)


@router.post("/users/{user_id:fmarid}/deactivate", **operation("user.status"))
def deactivate_user(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep,
                    user_id: str, body: OptionalObject) -> Response:
    """Make a user Inactive; their tokens are refused from the next request on."""
    return _set_active(request, principal, registry, request_id, user_id, body, active=False)


def _set_active(request: Request, principal: Principal, registry: Registry, request_id: str, user_id: str,
                body: dict[str, Any], *, active: bool) -> Response:
    reason = fields(body, (), ("reason",))["reason"]
    user, graph = registry.users.set_active(principal, user_id, active, reason, request_id)
    return respond(request, registry, user, graph)
