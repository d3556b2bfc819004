"""SPARQL 1.1 Protocol (UC-05.01): query by GET or POST, update by POST (admin), service description."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from fmar.access.principal import Principal
from fmar.api.deps import Caller, Reg, RequestIdDep, operation
from fmar.registry import Registry
from fmar.sparql import protocol

router = APIRouter(tags=["sparql"])

_QUERY_PARAMS = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A SPARQL 1.1 query. Without one, GET answers with the service description."},
    {"name": "default-graph-uri", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
     "description": "Graphs merged as the default graph (only those you may read count)."},
    {"name": "named-graph-uri", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
     "description": "Graphs for GRAPH patterns (only those you may read count)."},
]
_POST_BODY = {"content": {
    protocol.QUERY: {"schema": {"type": "string"}}, protocol.UPDATE: {"schema": {"type": "string"}},
    protocol.FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"},
                                                               "update": {"type": "string"}}}}}}


@router.get("/sparql", **operation("sparql.query", parameters=_QUERY_PARAMS))
async def sparql_get(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep) -> Response:
    """A query (`?query=`) on the graphs you may read: SELECT and ASK as SPARQL JSON (default), XML, CSV
    or TSV; CONSTRUCT and DESCRIBE as Turtle (default), N-Triples, JSON-LD or RDF/XML. Without a query:
    the service description."""
    return await _answer(request, principal, registry, request_id)


@router.post("/sparql", **operation("sparql.query", requestBody=_POST_BODY))
async def sparql_post(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep) -> Response:
    """A query by POST (`application/sparql-query`, or a form with `query`); an update
    (`application/sparql-update`, or a form with `update`) is the admin's only (`sparql.update`)."""
    return await _answer(request, principal, registry, request_id)


@router.post("/sparql/update", **operation("sparql.update", requestBody=_POST_BODY))
async def sparql_update(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep) -> Response:
    """A SPARQL 1.1 update (admin; audited like every write); `using-graph-uri` and `using-named-graph-uri`
    set the dataset of its WHERE clauses."""
    return await _answer(request, principal, registry, request_id)


async def _answer(request: Request, principal: Principal, registry: Registry, request_id: str) -> Response:
    operation_ = protocol.read(protocol.Request(request.method, list(request.query_params.multi_items()),
                                                request.headers.get("content-type"), await request.body()),
                               registry.settings.sparql_max_query_bytes)
    accept = request.headers.get("accept")
    if operation_.kind == "update":
        await run_in_threadpool(registry.sparql.update, principal, operation_, request_id)
        return Response(status_code=204)
    if operation_.kind == "description":
        body, media = registry.sparql.description(accept)
    else:
        body, media = await registry.sparql.query(principal, operation_, accept, request_id)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/store", **operation("store.read", parameters=[
    {"name": "graph", "in": "query", "required": False, "schema": {"type": "string"}, "description": "A graph's IRI."},
    {"name": "default", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Present (with no value) for the default graph."}]))
def read_graph(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep) -> Response:
    """A named graph you may read (SPARQL 1.1 Graph Store Protocol, read side): Turtle (default), N-Triples,
    JSON-LD or RDF/XML. A graph you may not read is answered as one that does not exist (404)."""
    params = request.query_params
    body, media = registry.sparql.graph(principal, params.get("graph"), "default" in params,
                                        request.headers.get("accept"), request_id)
    return Response(body, media_type=media, headers={"Vary": "Accept"})

