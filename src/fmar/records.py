"""Reading records back from the store, and their ETags."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from fmar.errors import Unprocessable
from fmar.iris import DCTERMS, FMAR
from fmar.store import GraphStore

# A record is its subject's triples plus those of its skolemised nested nodes ({record}#…).
_RECORD = """SELECT ?g ?s ?p ?o WHERE { GRAPH ?g {
  { ?r ?p ?o BIND(?r AS ?s) }
  UNION { ?r ?p1 ?s . ?s ?p ?o FILTER(STRSTARTS(STR(?s), CONCAT(STR(?r), "#"))) }
  UNION { ?r ?p1 ?n . ?n ?p2 ?s . ?s ?p ?o
          FILTER(STRSTARTS(STR(?n), CONCAT(STR(?r), "#")) && STRSTARTS(STR(?s), CONCAT(STR(?r), "#"))) }
} }"""


def load_record(store: GraphStore, record: URIRef) -> tuple[Graph, URIRef | None]:
    """The record's triples and its named graph (empty graph and None when it does not exist)."""
    graph = Graph()
    named: URIRef | None = None
    for row in store.select(_RECORD, bindings={"r": record}):
        named = URIRef(str(row["g"]))
        graph.add((row["s"], row["p"], row["o"]))
    return graph, named


def etag(graph: Graph) -> str:
    """A strong ETag derived from the record's content (sorted N-Triples)."""
    lines = sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in graph)
    return '"' + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32] + '"'


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
    new = Graph()
    new += graph
    new.set((record, FMAR.status, status))
    return new


def pop_text(body: dict[str, Any], key: str) -> str | None:
    """Remove and return an optional text member of a submission (``reason``, ``justification``)."""
    value = body.pop(key, None)
    if value is not None and not isinstance(value, str):
        raise Unprocessable(f"{key} must be a string", pointer=f"/{key}")
    return value


REGISTRY_SET = ("id", "identifier", "status", "recordedAt", "acceptedWarnings")
