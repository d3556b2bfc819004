"""Audit events: who, on whose behalf, when, what changed and why, as PROV-O."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from fmar.access.principal import Principal
from fmar.iris import FMAR, PROV, Iris, new_id
from fmar.ntriples import quad_line, term
from fmar.store import Quad

#: Predicates whose values never enter an audit change set.
REDACTED = {FMAR.secretHash}


@dataclass(frozen=True)
class EventInfo:
    operation: str
    principal: Principal
    records: Sequence[URIRef]
    reason: str | None = None
    justification: str | None = None
    request_id: str | None = None
    material: Sequence[str] = ()
    #: A SPARQL update, recorded as it was run.
    statement: str | None = None
    #: The SHA-256 of what was loaded, when the change is a whole graph loaded from files.
    digest: str | None = None
    #: More facts of the event (predicate, object): an archive's, where the chain now starts.
    facts: tuple[tuple[URIRef, Literal], ...] = ()


def nquads(quads: Iterable[Quad]) -> str:
    """Quads as sorted N-Quads lines, secrets redacted: an event's change set."""
    return "".join(sorted(quad_line(s, p, Literal("[redacted]") if p in REDACTED else o, g)
                          for s, p, o, g in quads)).rstrip("\n")


def change_set(lines: Sequence[str]) -> str:
    """:func:`nquads` of N-Quads lines already written (terms as :mod:`fmar.ntriples` writes them)."""
    if any(p in line for p in _REDACTED_TERMS for line in lines):
        lines = [_redacted(line) for line in lines]
    return "".join(sorted(lines)).rstrip("\n")


def _redacted(line: str) -> str:
    s, p, _ = line.split(" ", 2)
    return line if p not in _REDACTED_TERMS else f"{s} {p} {_REDACTED_TEXT} {line.rsplit(' ', 2)[1]} .\n"


_REDACTED_TERMS = {term(p) for p in REDACTED}
_REDACTED_TEXT = term(Literal("[redacted]"))


def event_quads(iris: Iris, info: EventInfo, removed: str, added: str) -> tuple[URIRef, list[Quad]]:
    """The quads of one audit event, in the audit graph; ``removed`` and ``added`` are the change set
    as :func:`nquads` writes it."""
    event = iris.record("audit", new_id())
    graph = iris.graph("audit")
    p = info.principal
    now = xsd_literal(datetime.now(UTC))
    quads: list[Quad] = [
        (event, RDF.type, FMAR.AuditEvent, graph),
        (event, RDF.type, PROV.Activity, graph),
        (event, FMAR.operation, Literal(info.operation), graph),
        (event, PROV.startedAtTime, now, graph),
        (event, FMAR.actingRole, Literal(p.role), graph),
        (event, FMAR.tokenSubject, Literal(p.subject), graph),
    ]
    quads += [_change_set_quad(event, predicate, text, graph)
              for predicate, text in ((FMAR.removedTriples, removed), (FMAR.addedTriples, added)) if text]
    if p.user is not None:
        quads.append((event, PROV.wasAssociatedWith, p.user, graph))
    agent_org = p.agent_org or p.org
    if agent_org is not None:
        quads.append((event, FMAR.agentOrganisation, agent_org, graph))
    if p.acting_for_other and p.org is not None:
        quads.append((event, FMAR.onBehalfOf, p.org, graph))
        quads.append((event, FMAR.underDelegation, p.delegation, graph))  # type: ignore[arg-type]
    for record in info.records:
        quads.append((event, FMAR.record, record, graph))
    for name in info.material:
        quads.append((event, FMAR.materialChange, Literal(name), graph))
    for pred, value in ((FMAR.reason, info.reason), (FMAR.justification, info.justification),
                        (FMAR.requestId, info.request_id), (FMAR.sparqlUpdate, info.statement),
                        (FMAR.contentDigest, info.digest)):
        if value:
            quads.append((event, pred, Literal(value), graph))
    quads += [(event, pred, value, graph) for pred, value in info.facts]
    return event, quads


def xsd_datetime(when: datetime) -> str:
    """A time as the canonical xsd:dateTime Oxigraph keeps (UTC as ``Z``, no trailing zeros), so that an
    event's hash can be checked from what the store gives back."""
    text = when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")  # four-digit years
    return text.rstrip("0").rstrip(".") + "Z"


def xsd_literal(when: datetime) -> Literal:
    """:func:`xsd_datetime` as an rdflib literal, kept as written (rdflib would rewrite ``Z`` as ``+00:00``)."""
    return Literal(xsd_datetime(when), datatype=XSD.dateTime, normalize=False)


#: Change sets longer than this (a registration's 4 KiB; a bulk batch's megabytes) are kept deflated: they shrink
#: five- to sixteen-fold, which takes a third off the cost of writing a batch and most of the cost of checking
#: the chain, which reads every event (bench/README.md).
DEFLATE_OVER = 1024
_DEFLATED = {FMAR.removedTriples: FMAR.removedTriplesDeflated, FMAR.addedTriples: FMAR.addedTriplesDeflated}
_PLAIN = {deflated: plain for plain, deflated in _DEFLATED.items()}


def _change_set_quad(event: URIRef, predicate: URIRef, text: str, graph: URIRef) -> Quad:
    if len(text) <= DEFLATE_OVER:
        return event, predicate, Literal(text), graph
    packed = base64.b64encode(zlib.compress(text.encode(), 1)).decode("ascii")
    return event, _DEFLATED[predicate], Literal(packed, datatype=XSD.base64Binary), graph


def change_set_of(predicate: URIRef | str, value: Literal | str) -> tuple[URIRef, str]:
    """An event's stored change set, however it was kept: (fmar:removedTriples or fmar:addedTriples, N-Quads)."""
    predicate = URIRef(predicate)
    if predicate in _PLAIN:
        return _PLAIN[predicate], zlib.decompress(base64.b64decode(str(value))).decode()
    return predicate, str(value)

