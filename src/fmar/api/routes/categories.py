"""Asset categories as published SHACL shapes (UC-02.01)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from fmar.api.deps import AsOf, Caller, OptionalObject, Public, Reg, RequestIdDep, fields, operation
from fmar.api.negotiation import choose
from fmar.api.routes.audit import history_document
from fmar.errors import BadRequest, UnsupportedMediaType
from fmar.store.oxigraph import serialize

router = APIRouter(tags=["categories"])
SHAPE_FORMATS = ["text/turtle", "application/n-triples", "application/rdf+xml"]


@router.get("/categories", **operation("category.list"))
def list_categories(_: Public, registry: Reg) -> dict[str, object]:
    """Every asset category: `code`, `label`, current `version`, `deprecated`, and its `shape`."""
    return {"items": registry.categories.list()}


@router.get("/categories/{category_code}", **operation("category.read"))
def read_category(request: Request, _: Public, registry: Reg, category_code: str,
                  version: Annotated[int | None, Query(ge=1, description="A published version; the current one "
                                                                           "by default.")] = None,
                  as_of: AsOf = None) -> Response:
    """A category's SHACL shape (Turtle by default; N-Triples or RDF/XML by `Accept`); `?asOf=` gives the
    version in force then."""
    media = choose(request, SHAPE_FORMATS)
    if as_of is not None:
        if version is not None:
            raise BadRequest("give version or asOf, not both")
        version = registry.categories.version_at(category_code, as_of)
    graph = registry.categories.get(category_code, version)
    headers = {"Vary": "Accept"} if version is None else {"Vary": "Accept", "Content-Location":
                                                          f"/categories/{category_code}?version={version}"}
    return Response(serialize(graph, media), media_type=media, headers=headers)


@router.get("/categories/{category_code}/history", **operation("category.read"))
def category_history(principal: Public, registry: Reg, category_code: str) -> dict[str, object]:
    """Every publication of the category's shape, oldest first (version 1, the seed, came with the reference
    data): who, when, why, and the triples of each version."""
    shape, versions = registry.categories.history(principal, category_code)
    return history_document(registry, shape, versions)


@router.put("/categories/{category_code}", **operation("category.update", requestBody={"content": {
    "text/turtle": {"schema": {"type": "string", "description": "the category's sh:NodeShape, in Turtle"}}}}))
async def publish_category(request: Request, principal: Caller, registry: Reg, request_id: RequestIdDep,
                           category_code: str,
                           breaking: Annotated[bool, Query(description="Publish even if existing assets of the "
                                                                         "category would stop conforming.")] = False,
                           reason: str | None = None) -> dict[str, object]:
    """Publish a new version of the shape. Checked against the SHACL meta-shape; refused (409) if existing
    assets of the category would stop conforming, unless `breaking=true`. Every version stays readable."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/turtle":
        raise UnsupportedMediaType("send the shape as text/turtle", accepted=["text/turtle"])
    text = (await request.body()).decode("utf-8", errors="replace")
    number, _ = registry.categories.publish(principal, category_code, text, breaking=breaking, reason=reason,
                                            request_id=request_id)
    return {"code": category_code, "version": number}


@router.post("/categories/{category_code}/deprecate", **operation("category.deprecate"))
def deprecate_category(principal: Caller, registry: Reg, request_id: RequestIdDep, category_code: str,
                       body: OptionalObject) -> dict[str, object]:
    """Deprecate: new registrations in the category are refused; existing assets are untouched."""
    reason = fields(body, (), ("reason",))["reason"]
    number, _ = registry.categories.deprecate(principal, category_code, reason, request_id)
    return {"code": category_code, "version": number, "deprecated": True}
