"""Platforms (UC-05.04): client credentials and the delegations FSPs grant them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from fmar.api.deps import Caller, ContextDep, JsonObject, OptionalObject, PlatformsDep, RequestIdDep, fields, operation
from fmar.api.negotiation import JSON_LD
from fmar.api.routes import collection, respond

router = APIRouter(tags=["platforms"])


@router.post("/organisations/{org_id:fmarid}/clients", status_code=201, **operation("client.create"))
def create_client(principal: Caller, platforms: PlatformsDep, context: ContextDep, request_id: RequestIdDep, org_id: str,
                  body: OptionalObject) -> Response:
    """Issue client credentials to a platform. The `client_secret` is shown once and stored only hashed."""
    name = fields(body, (), ("name",))["name"]
    client, client_id, secret = platforms.create_client(principal, org_id, name, request_id)
    view = context.write(platforms.client_view(client), client)
    return JSONResponse({**view, "client_id": client_id, "client_secret": secret}, status_code=201,
                        media_type=JSON_LD, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/organisations/{org_id:fmarid}/clients", **operation("client.list"))
def list_clients(principal: Caller, platforms: PlatformsDep, context: ContextDep, org_id: str) -> dict[str, object]:
    """The platform's client credentials (never their secrets)."""
    return collection(context, platforms.list_clients(principal, org_id))


@router.post("/organisations/{org_id:fmarid}/clients/{client_id:fmarid}/revoke", **operation("client.revoke"))
def revoke_client(request: Request, principal: Caller, platforms: PlatformsDep, context: ContextDep,
                  request_id: RequestIdDep, org_id: str, client_id: str, body: OptionalObject) -> Response:
    """Revoke a client credential; its tokens are refused from the next request on."""
    reason = fields(body, (), ("reason",))["reason"]
    client = platforms.revoke_client(principal, org_id, client_id, reason, request_id)
    return respond(request, context, client, platforms.client_view(client))


@router.post("/organisations/{org_id:fmarid}/delegations", status_code=201, **operation("delegation.create"))
def create_delegation(request: Request, principal: Caller, platforms: PlatformsDep, context: ContextDep, request_id: RequestIdDep,
                      org_id: str, body: JsonObject) -> Response:
    """Delegate operations to a platform: `platform`, `scopes` (delegable operation names), `validFrom`, `validTo`."""
    delegation, graph = platforms.create_delegation(principal, org_id, body, request_id)
    return respond(request, context, delegation, graph, status=201)


@router.get("/organisations/{org_id:fmarid}/delegations", **operation("delegation.list"))
def list_delegations(principal: Caller, platforms: PlatformsDep, context: ContextDep, org_id: str) -> dict[str, object]:
    """The delegations the organisation granted or holds."""
    return collection(context, platforms.list_delegations(principal, org_id))


@router.post("/organisations/{org_id:fmarid}/delegations/{delegation_id:fmarid}/revoke", **operation("delegation.revoke"))
def revoke_delegation(request: Request, principal: Caller, platforms: PlatformsDep, context: ContextDep, request_id: RequestIdDep,
                      org_id: str, delegation_id: str, body: OptionalObject) -> Response:
    """Revoke a delegation; the platform can no longer act for the organisation."""
    reason = fields(body, (), ("reason",))["reason"]
    delegation, graph = platforms.revoke_delegation(principal, org_id, delegation_id, reason, request_id)
    return respond(request, context, delegation, graph)
