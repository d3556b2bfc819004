"""The FastAPI application: routers, problem handlers, middleware, and the policy in the OpenAPI docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fmar import __version__
from fmar.access.policy import Policy
from fmar.access.principal import ROLES
from fmar.api import problems
from fmar.api.deps import OPERATION_KEY
from fmar.api.middleware import BodyLimit, HeadAsGet, RequestId
from fmar.api.routes import assets, audit, auth, categories, meta, organisations, platforms, sparql, users
from fmar.registry import Registry

ROUTERS = (meta.router, auth.router, organisations.router, users.router, platforms.router, assets.router,
           categories.router, sparql.router, audit.router)


def create_app(registry: Registry, *, close_registry: bool = False) -> FastAPI:
    """The registry's HTTP API over ``registry`` (closed on shutdown when ``close_registry``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_registry:
            registry.close()

    app = FastAPI(title="FMAR registry", version=__version__, lifespan=lifespan,
                  description=_description(registry.policy))
    app.state.registry = registry
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app, registry.policy)  # type: ignore[method-assign]
    problems.install(app)
    app.add_middleware(BodyLimit, limit=registry.settings.max_body_bytes,
                       larger={"/assets/bulk": registry.settings.bulk_max_body_bytes})
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestId)
    return app


def _openapi(app: FastAPI, policy: Policy) -> dict[str, Any]:
    """The OpenAPI document, each operation saying which roles the policy table lets call it."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema["paths"].values():
            for op in path.values():
                name = op.get(OPERATION_KEY)
                if name in policy:
                    op["description"] = f"{op.get('description', '')}\n\n{_who_may(policy, name)}".strip()
        app.openapi_schema = schema
    return app.openapi_schema


def _who_may(policy: Policy, name: str) -> str:
    op = policy.operations[name]
    cells = [f"`{role}`: {'/'.join(sorted(op.scopes[role]))}" for role in (*ROLES, "anonymous") if op.scopes[role]]
    return f"**Policy operation** `{name}`. Allowed for " + ", ".join(cells) + "."


def _description(policy: Policy) -> str:
    rows = "\n".join(f"| `{op.name}` | {op.description} | "
                     + " | ".join("/".join(sorted(op.scopes[r])) or "–" for r in (*ROLES, "anonymous")) + " |"
                     for op in policy.operations.values())
    header = "| operation | what | " + " | ".join((*ROLES, "anonymous")) + " |\n|" + "---|" * (len(ROLES) + 3)
    return f"""The Flexibility Market Asset Registration registry for Great Britain.

Send `Authorization: Bearer <token>`. Errors are RFC 9457 `application/problem+json`.
Records are JSON-LD against [`/context.jsonld`](/context.jsonld) (also Turtle, N-Triples and RDF/XML by `Accept`).
Updates need `If-Match` with the record's `ETag`. IDs in paths may be bare FMAR IDs or record IRIs.

**Delegable scopes** (what an FSP may grant a platform, which then sends `On-Behalf-Of: <FSP id>`):
{", ".join(f"`{s}`" for s in policy.delegable)}.

### Policy table
Scopes: `any` every record; `own` the caller's organisation's; `own-admin` the same, for its administrators;
`own-manager` the same, for its administrators and asset managers; `area` a system operator's network areas;
`made` what the caller's organisation did itself; `delegated` a platform acting for an FSP under a delegation
naming the operation; `public` the public graphs only.

{header}
{rows}
"""
