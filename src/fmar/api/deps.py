"""Request dependencies: the registry, the request id, the caller (gated by the route's operation).

Every route names exactly one policy operation (``operation("organisation.read")`` in its
decorator); :func:`caller` authenticates the request and checks the role may perform that
operation at all, before the body is read. The services then decide on the target record.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute

from fmar.access.principal import ANONYMOUS, Principal
from fmar.api.negotiation import json_body
from fmar.errors import Forbidden, Unprocessable
from fmar.registry import Registry

OPERATION_KEY = "x-fmar-operation"


def operation(name: str, **openapi: Any) -> dict[str, Any]:
    """Route keyword arguments declaring the policy operation the route performs."""
    return {"openapi_extra": {OPERATION_KEY: name, **openapi}}


def route_operation(route: object) -> str | None:
    """The policy operation a route declares, if any."""
    extra = getattr(route, "openapi_extra", None) or {}
    return extra.get(OPERATION_KEY) if isinstance(route, APIRoute) else None


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def get_request_id(request: Request) -> str:
    return str(request.state.request_id)


async def caller(request: Request) -> Principal:
    """The authenticated caller, allowed by the policy table to perform the route's operation.

    A coroutine on purpose: the few index look-ups it makes cost less than a hop to the thread pool."""
    registry: Registry = request.app.state.registry
    name = route_operation(request.scope.get("route"))
    if name is None:
        raise Forbidden("this route declares no policy operation")  # fail closed
    principal = registry.auth.principal(request.headers.get("authorization"), request.headers.get("on-behalf-of"))
    registry.policy.require_role(principal, name)
    return principal


async def public_caller(request: Request) -> Principal:
    """For routes open to everyone (metadata, the token endpoint): no bearer token is read."""
    name = route_operation(request.scope.get("route"))
    if name is None:
        raise Forbidden("this route declares no policy operation")
    registry: Registry = request.app.state.registry
    registry.policy.require_role(ANONYMOUS, name)
    return ANONYMOUS


async def json_object(request: Request) -> dict[str, Any]:
    """A JSON object body (JSON-LD or plain JSON)."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise Unprocessable("the body must be a JSON object", pointer="")
    return body


async def merge_patch(request: Request) -> dict[str, Any]:
    """An RFC 7396 merge patch body (``application/merge-patch+json``; plain JSON is read the same way)."""
    body = await json_body(request, {"application/merge-patch+json", "application/json", "application/ld+json"})
    if not isinstance(body, dict):
        raise Unprocessable("a merge patch must be a JSON object", pointer="")
    return body


async def optional_object(request: Request) -> dict[str, Any]:
    """A JSON object body that may be left out (an empty body reads as ``{}``)."""
    if not await request.body():
        return {}
    return await json_object(request)


def fields(body: dict[str, Any], required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict[str, str | None]:
    """String fields of a small command body; unknown or non-string fields are refused."""
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise Unprocessable(f"unknown field(s): {', '.join(unknown)}; expected "
                            + ", ".join((*required, *optional)), unknownTerms=unknown)
    values: dict[str, str | None] = {}
    for name in (*required, *optional):
        value = body.get(name)
        if value is None and name in required:
            raise Unprocessable(f"{name} is required", pointer=f"/{name}")
        if value is not None and not isinstance(value, str):
            raise Unprocessable(f"{name} must be a string", pointer=f"/{name}")
        values[name] = value
    return values


Reg = Annotated[Registry, Depends(get_registry)]
Caller = Annotated[Principal, Depends(caller)]
Public = Annotated[Principal, Depends(public_caller)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]
MergePatch = Annotated[dict[str, Any], Depends(merge_patch)]
OptionalObject = Annotated[dict[str, Any], Depends(optional_object)]


#: ``?asOf=``: the record as it was recorded at that time (ISO 8601 with a zone).
AsOf = Annotated[str | None, Query(alias="asOf", description="The record as it was recorded at this time "
                                   "(ISO 8601 with a zone, e.g. 2026-05-01T12:00:00Z).")]
