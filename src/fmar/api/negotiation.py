"""Content negotiation: records as JSON-LD (default), plain JSON, Turtle, N-Triples or RDF/XML."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from rdflib import Graph, URIRef
from starlette.concurrency import run_in_threadpool

from fmar.errors import UnsupportedMediaType
from fmar.jsonld import parse_json
from fmar.media import choose_media
from fmar.store.syntax import serialize

JSON_LD = "application/ld+json"
#: Media type → rdflib serialiser format (None: compacted JSON-LD).
RDF_FORMATS = (JSON_LD, "application/json", "text/turtle", "application/n-triples", "application/rdf+xml")
JSON_BODIES = {"application/json", JSON_LD}
#: JSON bodies up to this size are parsed on the event loop (well under a millisecond); larger ones in a thread.
_ON_THE_LOOP = 64 * 1024


def choose(request: Request, offered: list[str]) -> str:
    """The first offered media type the caller accepts most, or 406 listing what is offered."""
    return choose_media(request.headers.get("accept"), offered)


def record_response(request: Request, graph: Graph, record: URIRef, body: dict[str, Any],
                    status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A record in the representation the caller asked for; ``body`` is its compacted JSON-LD."""
    media = choose(request, list(RDF_FORMATS))
    headers = {**(headers or {}), "Vary": "Accept"}
    if media in JSON_BODIES:
        return JSONResponse(body, status_code=status, media_type=media, headers=headers)
    return Response(serialize(graph, media), status_code=status,
                    media_type=media if media != "text/turtle" else "text/turtle; charset=utf-8", headers=headers)


async def json_body(request: Request, allowed: set[str] | None = None) -> Any:
    """The request's JSON body; 415 for another media type, 400 when it is not well-formed JSON."""
    allowed = allowed or JSON_BODIES
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in allowed:
        raise UnsupportedMediaType(f"send the body as {' or '.join(sorted(allowed))}"
                                   + (f", not {media}" if media else ""), accepted=sorted(allowed))
    raw = await request.body()
    if len(raw) > _ON_THE_LOOP:  # a large body is parsed off the event loop
        return await run_in_threadpool(parse_json, raw)
    return parse_json(raw)
