"""Service metadata: health, readiness, the JSON-LD context, the token signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from fmar.api.deps import CatalogueDep, ContextDep, Public, TokensDep, operation
from fmar.api.negotiation import JSON_LD

router = APIRouter(tags=["meta"])


@router.get("/health", **operation("meta.read"))
async def health(_: Public) -> dict[str, str]:
    """The process is up (answered on the event loop: it stays prompt whatever the workers are doing)."""
    return {"status": "ok"}


@router.get("/ready", **operation("meta.read"))
def ready(_: Public, catalogue: CatalogueDep) -> JSONResponse:
    """The store answers and holds the reference graphs (503 otherwise)."""
    problem = catalogue.unready()
    if problem is not None:
        return JSONResponse({"status": "unavailable", "detail": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/context.jsonld", **operation("meta.read"))
async def context(_: Public, json_ld: ContextDep) -> JSONResponse:
    """The published JSON-LD context of every FMAR record and submission."""
    return JSONResponse(json_ld.document, media_type=JSON_LD, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/.well-known/jwks.json", **operation("meta.read"))
async def jwks(_: Public, tokens: TokensDep) -> dict[str, Any]:
    """The public keys that verify the registry's own tokens."""
    return tokens.jwks()
