"""Request dependencies: each service, the request id, the caller (gated by the route's operation), the body.

Every route names exactly one policy operation (``operation("organisation.read")`` in its
decorator); :func:`caller` authenticates the request and checks the role may perform that
operation at all, before the body is read. The services then decide on the target record.
Each service is a dependency of its own (``get_assets`` …), so a test can override one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from fmar.access.authenticate import Authenticator
from fmar.access.policy import Policy
from fmar.access.principal import ANONYMOUS, Principal
from fmar.access.tokens import TokenService
from fmar.api.negotiation import choose, json_body
from fmar.arm.assets import Assets
from fmar.arm.categories import Categories
from fmar.arm.export import Export
from fmar.arm.registration import Registrations
from fmar.audit.history import History
from fmar.audit.trail import AuditTrail
from fmar.catalogue import Catalogue
from fmar.config import Settings
from fmar.errors import Forbidden, Unprocessable
from fmar.jsonld import JsonLdContext
from fmar.registry import Registry
from fmar.sparql.endpoint import SparqlEndpoint
from fmar.sparql.views import AssetView
from fmar.spum.organisations import Organisations
from fmar.spum.platforms import Platforms
from fmar.spum.users import Users

OPERATION_KEY = "x-fmar-operation"


def operation(name: str, **openapi: Any) -> dict[str, Any]:
    """Route keyword arguments declaring the policy operation the route performs."""
    return {"openapi_extra": {OPERATION_KEY: name, **openapi}}


def json_answer(request: Request) -> None:
    """A route that answers a JSON (-LD) document only: 406 for a caller that accepts neither (RFC 9110)."""
    choose(request, ["application/json", "application/ld+json"])


#: The dependency of a route that answers a JSON (-LD) document only (lists).
JSON_ONLY = Depends(json_answer)


def route_operation(route: object) -> str | None:
    """The policy operation a route declares, if any."""
    extra = getattr(route, "openapi_extra", None) or {}
    return extra.get(OPERATION_KEY) if isinstance(route, APIRoute) else None


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _provider(name: str) -> Callable[[Request], Any]:
    async def provide(request: Request) -> Any:
        return getattr(_registry(request), name)
    provide.__name__ = provide.__qualname__ = f"get_{name}"
    return provide


get_settings = _provider("settings")
get_context = _provider("context")
get_policy = _provider("policy")
get_catalogue = _provider("catalogue")
get_auth = _provider("auth")
get_tokens = _provider("tokens")
get_organisations = _provider("organisations")
get_users = _provider("users")
get_platforms = _provider("platforms")
get_assets = _provider("assets")
get_registrations = _provider("registrations")
get_categories = _provider("categories")
get_export = _provider("export")
get_history = _provider("history")
get_audit = _provider("audit")
get_sparql = _provider("sparql")
get_views = _provider("views")

SettingsDep = Annotated[Settings, Depends(get_settings)]
ContextDep = Annotated[JsonLdContext, Depends(get_context)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]
OrganisationsDep = Annotated[Organisations, Depends(get_organisations)]
UsersDep = Annotated[Users, Depends(get_users)]
PlatformsDep = Annotated[Platforms, Depends(get_platforms)]
AssetsDep = Annotated[Assets, Depends(get_assets)]
RegistrationsDep = Annotated[Registrations, Depends(get_registrations)]
CategoriesDep = Annotated[Categories, Depends(get_categories)]
ExportDep = Annotated[Export, Depends(get_export)]
HistoryDep = Annotated[History, Depends(get_history)]
AuditDep = Annotated[AuditTrail, Depends(get_audit)]
SparqlDep = Annotated[SparqlEndpoint, Depends(get_sparql)]
ViewsDep = Annotated[AssetView, Depends(get_views)]


async def get_request_id(request: Request) -> str:
    return str(request.state.request_id)


async def caller(request: Request, policy: PolicyDep, auth: Annotated[Authenticator, Depends(get_auth)]) -> Principal:
    """The authenticated caller, allowed by the policy table to perform the route's operation. A principal the
    authenticator still holds for the token costs no look-up; resolving one reads the store, in the thread pool."""
    name = route_operation(request.scope.get("route"))
    if name is None:
        raise Forbidden("this route declares no policy operation")  # fail closed
    headers = request.headers.get("authorization"), request.headers.get("on-behalf-of")
    principal = auth.kept(*headers)
    if principal is None:
        principal = await run_in_threadpool(auth.principal, *headers)
    policy.require_role(principal, name)
    return principal


async def public_caller(request: Request, policy: PolicyDep) -> Principal:
    """For routes open to everyone (metadata, the token endpoint): no bearer token is read."""
    name = route_operation(request.scope.get("route"))
    if name is None:
        raise Forbidden("this route declares no policy operation")
    policy.require_role(ANONYMOUS, name)
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


Caller = Annotated[Principal, Depends(caller)]
Public = Annotated[Principal, Depends(public_caller)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
JsonObject = Annotated[dict[str, Any], Depends(json_object)]
MergePatch = Annotated[dict[str, Any], Depends(merge_patch)]
OptionalObject = Annotated[dict[str, Any], Depends(optional_object)]


#: ``?asOf=``: the record as it was recorded at that time (ISO 8601 with a zone).
AsOf = Annotated[str | None, Query(alias="asOf", description="The record as it was recorded at this time "
                                   "(ISO 8601 with a zone, e.g. 2026-05-01T12:00:00Z).")]
