"""The audit trail (UC-05.06): record history, events by record, actor and time, and the chain's check."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from rdflib import URIRef

from fmar.api.deps import JSON_ONLY, AuditDep, Caller, ContextDep, HistoryDep, SettingsDep, operation
from fmar.api.negotiation import choose
from fmar.audit.chain import Head
from fmar.audit.history import Version, version_document
from fmar.audit.trail import EventFilter
from fmar.config import Settings
from fmar.errors import BadRequest
from fmar.jsonld import JsonLdContext

router = APIRouter(tags=["audit"])


@lru_cache(maxsize=4)
def _context(path: Path) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["@context"]
    return context


#: A history is a JSON-LD document, served as plain JSON unless JSON-LD is asked for.
HISTORY_MEDIA = ["application/json", "application/ld+json"]


def history_document(settings: Settings, context: JsonLdContext, record: URIRef, versions: list[Version]) -> dict[str, Any]:
    """Versions as one JSON-LD document (``data/history-context.jsonld``)."""
    return {"@context": _context(settings.resource("data", "history-context.jsonld")),
            "id": f"{record}/history", "record": str(record),
            "versions": [version_document(v, context.term_for.get) for v in versions]}


#: The record types with a history route, ``/{collection}/{id}/history``, and what each route says of itself.
HISTORIES = {
    "assets": "An asset's history (UC-05.06, UC-02.04).",
    "organisations": "An organisation's history.",
    "users": "A user's history.",
    "clients": "A platform client credential's history (issued, revoked; its secret never shown).",
    "delegations": "A delegation's history (granted, revoked).",
}
_HISTORY_DOC = "Every version the caller may see, oldest first, as JSON-LD: `version`, `recordedAt`, `agent`, " \
               "`operation`, `changes` (`op` add/remove, `property`, `value`), `reason`."


def _history_route(collection: str) -> Callable[..., Response]:
    def read_history(request: Request, principal: Caller, history: HistoryDep, context: ContextDep,
                     settings: SettingsDep, record_id: str) -> Response:
        media = choose(request, HISTORY_MEDIA)
        record, versions = history.versions(principal, collection, record_id)
        return JSONResponse(history_document(settings, context, record, versions), media_type=media,
                            headers={"Vary": "Accept"})
    return read_history


for _collection, _summary in HISTORIES.items():
    router.add_api_route(f"/{_collection}/{{record_id:fmarid}}/history", _history_route(_collection), methods=["GET"],
                         summary=_summary, description=_HISTORY_DOC, name=f"{_collection}_history",
                         **operation("history.read"))


@router.get("/audit", **operation("audit.read"), dependencies=[JSON_ONLY])
def find_events(request: Request, principal: Caller, audit: AuditDep, settings: SettingsDep,
                record: Annotated[str | None, Query(description="A record's IRI: its events.")] = None,
                actor: Annotated[str | None, Query(description="A user or organisation (ID or IRI), or a token "
                                                               "subject: the events it made.")] = None,
                operation_name: Annotated[str | None, Query(alias="operation")] = None,
                start: Annotated[str | None, Query(alias="from", description="From this time (ISO 8601), inclusive.")]
                = None,
                end: Annotated[str | None, Query(alias="to", description="Before this time (ISO 8601).")] = None,
                after: Annotated[int, Query(ge=0, description="Cursor: the sequence of the last event of the "
                                                              "previous page.")] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Audit events in chain order, a page at a time: every event for the admin and the regulator; the events
    of the caller's organisation otherwise, or of a record whose history the caller may read."""
    query = EventFilter(record, actor, operation_name, start, end, after, limit)
    items, cursor = audit.events(principal, query)
    body: dict[str, Any] = {"@context": _context(settings.resource("data", "history-context.jsonld")),
                            "items": items}
    if cursor is not None:
        body["next"] = str(request.url.include_query_params(after=cursor))
    return body


@router.get("/audit/verify", **operation("audit.verify"))
def verify_chain(principal: Caller, audit: AuditDep,
                 sequence: Annotated[int | None, Query(ge=1, description="A head exported earlier: its sequence…")]
                 = None,
                 hash_: Annotated[str | None, Query(alias="hash", description="…and its hash.")] = None,
                 ) -> dict[str, Any]:
    """Recompute the hash chain: `intact`, the events checked, the head, and the first event that was
    altered, removed or inserted (`firstProblem`). With `sequence` and `hash` (a head exported earlier),
    the chain must still hold that head."""
    if (sequence is None) != (hash_ is None):
        raise BadRequest("give both sequence and hash of the exported head, or neither")
    expected = Head(sequence, hash_) if sequence is not None and hash_ is not None else None
    return audit.verify(principal, expected).as_dict()


@router.get("/audit/head", **operation("audit.verify"))
def chain_head(principal: Caller, audit: AuditDep) -> dict[str, Any]:
    """The newest event's sequence and hash: keep it, and check the chain against it later."""
    return audit.head(principal).as_dict()
