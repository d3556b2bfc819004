"""Reading records back from the store, and their ETags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from fmar.errors import Conflict, PreconditionFailed, PreconditionRequired, Unprocessable
from fmar.graphs import new_graph
from fmar.iris import DCTERMS, FMAR, Iris, notation
from fmar.ntriples import quad_line
from fmar.store import GraphStore

# A record is its subject's triples plus those of its skolemised nested nodes ({record}#…).
RECORD = """SELECT ?r ?g ?s ?p ?o WHERE { GRAPH ?g {
  { ?r ?p ?o BIND(?r AS ?s) }
  UNION { ?r ?p1 ?s . ?s ?p ?o FILTER(STRSTARTS(STR(?s), CONCAT(STR(?r), "#"))) }
  UNION { ?r ?p1 ?n . ?n ?p2 ?s . ?s ?p ?o
          FILTER(STRSTARTS(STR(?n), CONCAT(STR(?r), "#")) && STRSTARTS(STR(?s), CONCAT(STR(?r), "#"))) }
} }"""


#: Facts the registry derives for views (``data/views/``), beside a record but never part of it.
DERIVED = frozenset({FMAR.postcodeDistrict})


def load_record(store: GraphStore, record: URIRef) -> tuple[Graph, URIRef | None]:
    """The record's triples (from every graph it is written in: its own, and the public view's) and its
    named graph (empty graph and None when it does not exist)."""
    graph = new_graph()
    named: URIRef | None = None
    for row in store.select(RECORD, bindings={"r": record}):
        named = URIRef(str(row["g"]))
        if row["p"] not in DERIVED:
            graph.add((row["s"], row["p"], row["o"]))
    return graph, named


_RECORDS = """SELECT ?s ?p ?o WHERE { VALUES ?r { %s }
  { ?r ?p ?o BIND(?r AS ?s) } UNION
  { ?r ?p1 ?s . ?s ?p ?o FILTER (STRSTARTS(STR(?s), CONCAT(STR(?r), "#"))) } }"""


def load_records(store: GraphStore, records: list[URIRef]) -> list[tuple[URIRef, Graph]]:
    """Many records' triples (derived facts left out) in one query, in the order given (a page of them). The
    IRIs are the registry's own, read from the store: written into the query as they are."""
    graphs: dict[URIRef, Graph] = {r: new_graph() for r in records}
    if records:
        for row in store.select(_RECORDS % " ".join(f"<{r}>" for r in records)):
            if row["p"] not in DERIVED:
                graphs[URIRef(str(row["s"]).split("#", 1)[0])].add((row["s"], row["p"], row["o"]))
    return [(r, graphs[r]) for r in records]


def etag(graph: Graph) -> str:
    """A strong ETag derived from the record's content (sorted N-Triples)."""
    lines = sorted(quad_line(s, p, o) for s, p, o in graph)
    return '"' + hashlib.sha256("".join(lines).encode()).hexdigest()[:32] + '"'


def merge_patch(target: object, patch: object) -> object:
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def stamp(graph: Graph, record: URIRef, identifier: str, status: URIRef) -> Graph:
    """Add the registry-set facts of a new record: identifier, status, recordedAt."""
    graph.add((record, DCTERMS.identifier, Literal(identifier)))
    graph.add((record, FMAR.status, status))
    graph.add((record, FMAR.recordedAt, Literal(datetime.now(UTC).isoformat(timespec="seconds"),
                                                datatype=XSD.dateTime)))
    return graph


def carry_over(before: Graph, after: Graph, record: URIRef, predicates: tuple[URIRef, ...]) -> Graph:
    """Copy registry-set facts from the stored record into an updated one."""
    for p in predicates:
        after.remove((record, p, None))
        for o in before.objects(record, p):
            after.add((record, p, o))
    return after


def with_status(graph: Graph, record: URIRef, status: URIRef) -> Graph:
    """A copy of a record's graph with a new status."""
    new = new_graph()
    new += graph
    new.set((record, FMAR.status, status))
    return new


_TRANSITIONS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?from ?to WHERE { ?from fmar:transitionTo ?to }"""


def transition_check(store: GraphStore, what: str, current: Node | None, target: URIRef) -> Callable[[], None]:
    """A write-path check refusing (409) a status move the code list's ``fmar:transitionTo`` does not allow."""
    allowed = {row["to"] for row in store.select(_TRANSITIONS, bindings={"from": current})} if current else set()

    def allowed_move() -> None:
        if target not in allowed:
            raise Conflict(f"{what} cannot move from {notation(str(current))} to {notation(str(target))}",
                           currentStatus=notation(str(current)))
    return allowed_move


def expand_reference(iris: Iris, body: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of ``body`` whose ``name`` (an organisation given by bare ID or IRI) is the IRI; 422 otherwise."""
    if not isinstance(body.get(name), str):
        return body
    org = iris.parse(body[name], "organisations")
    if org is None:
        raise Unprocessable(f"{name} must be an FMAR Organisation ID or IRI", pointer=f"/{name}")
    return {**body, name: str(org)}


def pop_text(body: dict[str, Any], key: str) -> str | None:
    """Remove and return an optional text member of a submission (``reason``, ``justification``)."""
    value = body.pop(key, None)
    if value is not None and not isinstance(value, str):
        raise Unprocessable(f"{key} must be a string", pointer=f"/{key}")
    return value


REGISTRY_SET = ("id", "identifier", "status", "recordedAt", "acceptedWarnings")


def require_match(if_match: str | None, current: Graph) -> None:
    """428 without ``If-Match``; 412 when it names no current version of the record."""
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag of the version you are changing")
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(current) not in tags:
        raise PreconditionFailed("the record has changed since that ETag; GET it again", etag=etag(current))
