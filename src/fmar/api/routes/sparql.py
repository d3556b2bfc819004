"""SPARQL 1.1 Protocol (UC-05.01): query by GET or POST, update by POST (admin), service description."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from fmar.access.principal import Principal
from fmar.api.deps import Caller, RequestIdDep, SettingsDep, SparqlDep, ViewsDep, operation
from fmar.config import Settings
from fmar.errors import BadRequest
from fmar.sparql import protocol
from fmar.sparql.endpoint import SparqlEndpoint
from fmar.sparql.views import FILTERS, MAX_PAGE

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
async def sparql_get(request: Request, principal: Caller, sparql: SparqlDep, settings: SettingsDep,
                     request_id: RequestIdDep) -> Response:
    """A query (`?query=`) on the graphs you may read: SELECT and ASK as SPARQL JSON (default), XML, CSV
    or TSV; CONSTRUCT and DESCRIBE as Turtle (default), N-Triples, JSON-LD or RDF/XML. Without a query:
    the service description."""
    return await _answer(request, principal, sparql, settings, request_id)


@router.post("/sparql", **operation("sparql.query", requestBody=_POST_BODY))
async def sparql_post(request: Request, principal: Caller, sparql: SparqlDep, settings: SettingsDep,
                     request_id: RequestIdDep) -> Response:
    """A query by POST (`application/sparql-query`, or a form with `query`); an update
    (`application/sparql-update`, or a form with `update`) is the admin's only (`sparql.update`)."""
    return await _answer(request, principal, sparql, settings, request_id)


@router.post("/sparql/update", **operation("sparql.update", requestBody=_POST_BODY))
async def sparql_update(request: Request, principal: Caller, sparql: SparqlDep, settings: SettingsDep,
                     request_id: RequestIdDep) -> Response:
    """A SPARQL 1.1 update (admin; audited like every write); `using-graph-uri` and `using-named-graph-uri`
    set the dataset of its WHERE clauses."""
    return await _answer(request, principal, sparql, settings, request_id)


async def _answer(request: Request, principal: Principal, sparql: SparqlEndpoint, settings: Settings,
                  request_id: str) -> Response:
    operation_ = protocol.read(protocol.Request(request.method, list(request.query_params.multi_items()),
                                                request.headers.get("content-type"), await request.body()),
                               settings.sparql_max_query_bytes)
    accept = request.headers.get("accept")
    if operation_.kind == "update":
        await run_in_threadpool(sparql.update, principal, operation_, request_id)
        return Response(status_code=204)
    if operation_.kind == "description":
        body, media = await run_in_threadpool(sparql.description, accept)
    else:
        client = request.client.host if request.client else ""
        body, media = await sparql.query(principal, operation_, accept, request_id, client)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/store", **operation("store.read", parameters=[
    {"name": "graph", "in": "query", "required": False, "schema": {"type": "string"}, "description": "A graph's IRI."},
    {"name": "default", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Present (with no value) for the default graph."}]))
def read_graph(request: Request, principal: Caller, sparql: SparqlDep, request_id: RequestIdDep) -> Response:
    """A named graph you may read (SPARQL 1.1 Graph Store Protocol, read side): Turtle (default), N-Triples,
    JSON-LD or RDF/XML. A graph you may not read is answered as one that does not exist (404)."""
    params = request.query_params
    body, media = sparql.graph(principal, params.get("graph"), "default" in params, request.headers.get("accept"),
                               request_id)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/views/assets", **operation("view.read"))
def asset_view(request: Request, principal: Caller, views: ViewsDep, request_id: RequestIdDep,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
               after: Annotated[str | None, Query(description="Cursor: `next` of the previous page.")] = None,
               assetCategory: str | None = None, dno: str | None = None, gspGroup: str | None = None,  # noqa: N803
               status: str | None = None, operatedBy: str | None = None,  # noqa: N803
               minCapacity: str | None = None, maxCapacity: str | None = None) -> Response:  # noqa: N803
    """The unified asset view: one row an asset, on the graphs you may read (everyone sees the public facts;
    an FSP also its own assets' names, MPANs and serial numbers, an SO those in its areas). Framed JSON-LD
    (default, with `total` and `next`), CSV or Turtle. Filters by code, operating FSP and rated capacity (kW)."""
    unknown = sorted(set(request.query_params) - set(FILTERS) - {"limit", "after"})
    if unknown:  # a misspelt filter would silently widen the view
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)}; filters: {', '.join(FILTERS)}")
    given = {"assetCategory": assetCategory, "dno": dno, "gspGroup": gspGroup, "status": status,
             "operatedBy": operatedBy, "minCapacity": minCapacity, "maxCapacity": maxCapacity}
    body, media, cursor = views.page(principal, {k: v for k, v in given.items() if v is not None}, limit,
                                              after, request.headers.get("accept"), request_id)
    headers = {"Vary": "Accept"}
    if cursor:
        headers["Link"] = f'<{request.url.include_query_params(after=cursor)}>; rel="next"'
    return Response(body, media_type=media, headers=headers)

