"""Service metadata: health, readiness, the JSON-LD context, the token signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from fmar.api.deps import Public, Reg, operation
from fmar.api.negotiation import JSON_LD

router = APIRouter(tags=["meta"])
_READY = "ASK { GRAPH ?g { ?s a <http://www.w3.org/2002/07/owl#Ontology> } }"


@router.get("/health", **operation("meta.read"))
def health(_: Public) -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", **operation("meta.read"))
def ready(_: Public, registry: Reg) -> JSONResponse:
    """The store answers and holds the reference graphs (503 otherwise)."""
    try:
        loaded = registry.store.ask(_READY)
    except Exception as exc:  # noqa: BLE001 - any store failure means not ready
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    if not loaded:
        return JSONResponse({"status": "unavailable", "detail": "reference graphs not loaded; run fmar init"},
                            status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/context.jsonld", **operation("meta.read"))
def context(_: Public, registry: Reg) -> JSONResponse:
    """The published JSON-LD context of every FMAR record and submission."""
    return JSONResponse(registry.context.document, media_type=JSON_LD,
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/.well-known/jwks.json", **operation("meta.read"))
def jwks(_: Public, registry: Reg) -> dict[str, Any]:
    """The public keys that verify the registry's own tokens."""
    return registry.tokens.jwks()
