"""Users (UC-01.01): register, list, read, activate and deactivate."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from fmar.api.deps import (
    AsOf,
    Caller,
    ContextDep,
    HistoryDep,
    JsonObject,
    OptionalObject,
    RequestIdDep,
    UsersDep,
    fields,
    operation,
)
from fmar.api.routes import collection, location, respond, respond_as_of

router = APIRouter(tags=["users"])


@router.post("/organisations/{org_id:fmarid}/users", status_code=201, **operation("user.create"))
def register_user(request: Request, principal: Caller, users: UsersDep, context: ContextDep, request_id: RequestIdDep,
                  org_id: str, body: JsonObject) -> Response:
    """Register a user of the organisation: `name`, `email` (unique within it), `roles`."""
    user, graph = users.create(principal, org_id, body, request_id)
    return respond(request, context, user, graph, status=201, location=location(request, "users", user))


@router.get("/organisations/{org_id:fmarid}/users", **operation("user.list"))
def list_users(principal: Caller, users: UsersDep, context: ContextDep, org_id: str) -> dict[str, object]:
    """The organisation's users."""
    return collection(context, users.members(principal, org_id))


@router.get("/users/{user_id:fmarid}", **operation("user.read"))
def read_user(request: Request, principal: Caller, users: UsersDep, context: ContextDep, history: HistoryDep,
              user_id: str, as_of: AsOf = None) -> Response:
    """A user, by `Accept`. `?asOf=` gives it as it was recorded then."""
    if as_of is not None:
        return respond_as_of(request, context, history, principal, "users", user_id, as_of)
    user, graph = users.get(principal, user_id)
    return respond(request, context, user, graph)


@router.post("/users/{user_id:fmarid}/activate", **operation("user.status"))
def activate_user(request: Request, principal: Caller, users: UsersDep, context: ContextDep, request_id: RequestIdDep,
                  user_id: str, body: OptionalObject) -> Response:
    """Make a user Active again."""
    user, graph = users.set_active(principal, user_id, True, fields(body, (), ("reason",))["reason"], request_id)
    return respond(request, context, user, graph)


@router.post("/users/{user_id:fmarid}/deactivate", **operation("user.status"))
def deactivate_user(request: Request, principal: Caller, users: UsersDep, context: ContextDep,
                    request_id: RequestIdDep, user_id: str, body: OptionalObject) -> Response:
    """Make a user Inactive; their tokens are refused from the next request on."""
    user, graph = users.set_active(principal, user_id, False, fields(body, (), ("reason",))["reason"], request_id)
    return respond(request, context, user, graph)
