"""Routers, one per module; :func:`respond` renders a record in the negotiated format."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.utils import format_datetime
from typing import Any, TypeVar

from fastapi import Request, Response
from rdflib import Graph, URIRef

from fmar.access.principal import Principal
from fmar.api import ids  # noqa: F401 - registers the {…:fmarid} path convertor before any route
from fmar.api.negotiation import record_response
from fmar.audit.history import History
from fmar.jsonld import JsonLdContext
from fmar.records import etag

T = TypeVar("T")


#: Writes run one at a time in a thread of their own (the write path serialises them anyway): under the GIL,
#: writes run side by side in the thread pool only contend, each holding the write lock while it waits for the
#: interpreter (bench/README.md: a third more registrations a second at 4 clients).
_LANE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmar-write")


async def in_lane(work: Callable[[], T]) -> T:
    """Run ``work`` (a write and its response) in the write lane, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_LANE, work)


def respond(request: Request, context: JsonLdContext, record: URIRef, graph: Graph, *, status: int = 200,
            location: str | None = None, extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A record as JSON-LD, Turtle, N-Triples or RDF/XML, with its ETag (and Location when created)."""
    headers = {"ETag": etag(graph), **(headers or {})}
    if location:
        headers["Location"] = location
    body = {**context.write(graph, record), **(extra or {})}
    return record_response(request, graph, record, body, status=status, headers=headers)


def location(request: Request, collection: str, record: str) -> str:
    """The absolute URL of a record on this server (url_for would walk every route)."""
    return f"{request.base_url}{collection}/{record.rstrip('/').rsplit('/', 1)[-1]}"


def collection(context: JsonLdContext, items: list[tuple[URIRef, Graph]], next_url: str | None = None) -> dict[str, Any]:
    """A page of records as one JSON-LD document."""
    body: dict[str, Any] = {"@context": context.deployment_url,
                            "items": [_without_context(context.write(g, r)) for r, g in items]}
    if next_url:
        body["next"] = next_url
    return body


def _without_context(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "@context"}


def respond_as_of(request: Request, context: JsonLdContext, history: History, principal: Principal, collection: str,
                  value: str, as_of: str) -> Response:
    """A record as it was recorded at ``as_of`` (``?asOf=``), in every format the current record has, with the
    time of the version shown as ``Memento-Datetime`` (RFC 7089)."""
    record, graph, recorded = history.as_of(principal, collection, value, as_of)
    shown = datetime.fromisoformat(recorded.replace("Z", "+00:00"))
    return respond(request, context, record, graph, headers={"Memento-Datetime": format_datetime(shown, usegmt=True)})
