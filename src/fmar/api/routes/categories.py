"""Asset categories as published SHACL shapes (UC-02.01)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from fmar.api.deps import Caller, OptionalObject, Public, Reg, RequestIdDep, fields, operation
from fmar.api.negotiation import choose
from fmar.errors import UnsupportedMediaType
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
                                                                           "by default.")] = None) -> Response:
    """A category's SHACL shape (Turtle by default; N-Triples or RDF/XML by `Accept`)."""
    media = choose(request, SHAPE_FORMATS)
    graph = registry.categories.get(category_code, version)
    return Response(serialize(graph, media), media_type=media, headers={"Vary": "Accept"})


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
