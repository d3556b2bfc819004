"""Asset categories as published SHACL shapes (UC-02.01)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fmar.api.deps import (
    JSON_ONLY,
    AsOf,
    Caller,
    CategoriesDep,
    ContextDep,
    OptionalObject,
    Public,
    RequestIdDep,
    SettingsDep,
    fields,
    operation,
)
from fmar.api.negotiation import choose
from fmar.api.routes.audit import HISTORY_MEDIA, history_document
from fmar.errors import BadRequest, UnsupportedMediaType
from fmar.store.syntax import serialize

router = APIRouter(tags=["categories"])
SHAPE_FORMATS = ["text/turtle", "application/n-triples", "application/rdf+xml"]


@router.get("/categories", **operation("category.list"), dependencies=[JSON_ONLY])
def list_categories(_: Public, categories: CategoriesDep) -> dict[str, object]:
    """Every asset category: `code`, `label`, current `version`, `deprecated`, and its `shape`."""
    return {"items": categories.list()}


@router.get("/categories/{category_code}", **operation("category.read"))
def read_category(request: Request, _: Public, categories: CategoriesDep, category_code: str,
                  version: Annotated[int | None, Query(ge=1, description="A published version; the current one "
                                                                           "by default.")] = None,
                  as_of: AsOf = None) -> Response:
    """A category's SHACL shape (Turtle by default; N-Triples or RDF/XML by `Accept`); `?asOf=` gives the
    version in force then."""
    media = choose(request, SHAPE_FORMATS)
    if as_of is not None:
        if version is not None:
            raise BadRequest("give version or asOf, not both")
        version = categories.version_at(category_code, as_of)
    graph = categories.get(category_code, version)
    headers = {"Vary": "Accept"} if version is None else {"Vary": "Accept", "Content-Location":
                                                          f"/categories/{category_code}?version={version}"}
    return Response(serialize(graph, media), media_type=media, headers=headers)


@router.get("/categories/{category_code}/history", **operation("category.read"))
def category_history(request: Request, principal: Public, categories: CategoriesDep, context: ContextDep,
                     settings: SettingsDep, category_code: str) -> Response:
    """Every publication of the category's shape, oldest first (version 1, the seed, came with the reference
    data): who, when, why, and the triples of each version."""
    media = choose(request, HISTORY_MEDIA)
    shape, versions = categories.history_of(principal, category_code)
    return JSONResponse(history_document(settings, context, shape, versions), media_type=media,
                        headers={"Vary": "Accept"})


@router.put("/categories/{category_code}", **operation("category.update", requestBody={"content": {
    "text/turtle": {"schema": {"type": "string", "description": "the category's sh:NodeShape, in Turtle"}}}},
    responses={202: {"description": "The category's many assets are being checked against the new version; "
                                    "follow `Location` for the publication's progress and outcome."}}))
async def publish_category(request: Request, principal: Caller, categories: CategoriesDep, request_id: RequestIdDep,
                           category_code: str,
                           breaking: Annotated[bool, Query(description="Publish even if existing assets of the "
                                                                         "category would stop conforming.")] = False,
                           reason: str | None = None) -> Response:
    """Publish a new version of the shape. Checked against the SHACL meta-shape; refused (409) if existing
    assets of the category would stop conforming, unless `breaking=true`. Every version stays readable.

    A category with many assets is checked in the background: the answer is then 202 with the publication's
    status resource in `Location` (its `done` of `total` assets checked, then `done` with the new `version`,
    or `failed` with the refusal)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/turtle":
        raise UnsupportedMediaType("send the shape as text/turtle", accepted=["text/turtle"])
    text = (await request.body()).decode("utf-8", errors="replace")
    published = await run_in_threadpool(categories.publish, principal, category_code, text, breaking=breaking,
                                        reason=reason, request_id=request_id)
    if published.job is None:
        return JSONResponse({"code": category_code, "version": published.version})
    where = f"/categories/{category_code}/publications/{published.job.id}"
    return JSONResponse(_status(published.job.as_dict(), where), status_code=202, headers={"Location": where})


@router.get("/categories/{category_code}/publications/{job_id}", **operation("category.update"))
def publication_status(request: Request, principal: Caller, categories: CategoriesDep, category_code: str,
                       job_id: str) -> dict[str, Any]:
    """A publication checked in the background: `running` with `done` of `total` assets checked, then `done`
    (its `result` names the new `version`) or `failed` (its `problem` says why, as problem+json would)."""
    return _status(categories.publication(principal, category_code, job_id).as_dict(), request.url.path)


def _status(job: dict[str, Any], where: str) -> dict[str, Any]:
    return {"id": where, **{k: v for k, v in job.items() if k != "id"}}


@router.post("/categories/{category_code}/deprecate", **operation("category.deprecate"))
def deprecate_category(principal: Caller, categories: CategoriesDep, request_id: RequestIdDep, category_code: str,
                       body: OptionalObject) -> dict[str, object]:
    """Deprecate: new registrations in the category are refused; existing assets are untouched."""
    reason = fields(body, (), ("reason",))["reason"]
    number = categories.deprecate(principal, category_code, reason, request_id)
    return {"code": category_code, "version": number, "deprecated": True}
