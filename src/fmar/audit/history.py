"""Record history (UC-05.06, UC-02.04): every version of a record from the audit events that changed it,
and the record as it was recorded at a past time.

A record's versions are the events naming it (``fmar:record``), in chain order; what each changed is the
part of the event's change set whose subject is the record (or one of its ``{record}#…`` nodes). The record
as of a time is its current triples with the changes made after that time undone, newest first, so a read
costs the changes since then, not the whole history.

Who may see which version is the policy table's answer (``history.read``, or the record's own read) for
the record *as it was then*: a former operator of an asset sees the versions while it was theirs, not
after; an organisation also sees the changes it made itself (the table's ``made`` scope). A record as of a
time is shown to whoever could have read it (its ``read_operation``) then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.audit.events import change_set_of, xsd_literal
from fmar.errors import BadRequest, Gone, NotFound
from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris
from fmar.ntriples import lexical, to_node
from fmar.records import DERIVED, RECORD
from fmar.store import GraphStore
from fmar.store.syntax import canonical_nquads

#: The organisation and DNO area a record belongs to, from its triples: what the policy table's scopes look at.
Owner = Callable[[Graph, URIRef], tuple[URIRef | None, URIRef | None]]


@dataclass(frozen=True)
class Kind:
    """A record type with a history: its collection, the operation that reads it, and whose it is."""

    collection: str
    read_operation: str
    owner: Owner


@dataclass
class Version:
    """One event that changed a record, and the record's triples after it."""

    number: int
    event: str
    sequence: int
    recorded_at: str
    operation: str
    facts: dict[str, str]
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    added: list[tuple[str, str, str]] = field(default_factory=list)
    state: Graph = field(default_factory=new_graph)


#: The facts of events in chain order; ``PATTERN`` picks them (a record's, or a window of the chain and filters),
#: and ``BOUND`` names the variables it binds by substitution (which the query must project).
EVENTS = """PREFIX fmar: <https://w3id.org/fmar#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?e ?n ?t ?op ?role ?subject ?user ?org ?behalf ?delegation ?reason ?justification ?request ?hash BOUND WHERE {
  PATTERN
  ?e fmar:sequence ?n ; prov:startedAtTime ?t ; fmar:operation ?op ; fmar:actingRole ?role ;
     fmar:tokenSubject ?subject ; fmar:eventHash ?hash .
  OPTIONAL { ?e prov:wasAssociatedWith ?user } OPTIONAL { ?e fmar:agentOrganisation ?org }
  OPTIONAL { ?e fmar:onBehalfOf ?behalf } OPTIONAL { ?e fmar:underDelegation ?delegation }
  OPTIONAL { ?e fmar:reason ?reason } OPTIONAL { ?e fmar:justification ?justification }
  OPTIONAL { ?e fmar:requestId ?request }
} ORDER BY ?n"""
_TIMES = """PREFIX fmar: <https://w3id.org/fmar#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?r ?n ?t WHERE { ?e fmar:record ?r ; fmar:sequence ?n ; prov:startedAtTime ?t } ORDER BY ?n"""
_CHANGES = """PREFIX fmar: <https://w3id.org/fmar#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?r ?after ?n ?removed ?added ?removedDeflated ?addedDeflated WHERE {
  ?e fmar:record ?r ; prov:startedAtTime ?t FILTER(?t > ?after) ?e fmar:sequence ?n .
  OPTIONAL { ?e fmar:removedTriples ?removed } OPTIONAL { ?e fmar:addedTriples ?added }
  OPTIONAL { ?e fmar:removedTriplesDeflated ?removedDeflated } OPTIONAL { ?e fmar:addedTriplesDeflated ?addedDeflated }
}"""
#: Where a change set is kept: the variable of :data:`_CHANGES`, its predicate, and which side of the change it is.
_SIDES = (("removed", FMAR.removedTriples, 0), ("added", FMAR.addedTriples, 1),
          ("removedDeflated", FMAR.removedTriplesDeflated, 0), ("addedDeflated", FMAR.addedTriplesDeflated, 1))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ARCHIVED = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?before ?file WHERE { ?a fmar:archivedBefore ?before ; fmar:archiveFile ?file } ORDER BY DESC(?before) LIMIT 1"""
_DERIVED = {f"<{p}>" for p in DERIVED}


def parse_time(value: str) -> datetime:
    """An ``asOf``/``from``/``to`` time: ISO 8601 with a zone (``Z`` or an offset); 400 otherwise."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{value!r} is not an ISO 8601 date-time such as 2026-05-01T12:00:00Z") from exc
    if when.tzinfo is None:
        raise BadRequest(f"{value!r} has no time zone: add Z for UTC, or an offset")
    return when.astimezone(UTC)


class History:
    """Versions and as-of reads of records, under the policy table."""

    def __init__(self, store: GraphStore, policy: Policy, iris: Iris, kinds: dict[str, Kind]) -> None:
        self.store, self.policy, self.iris, self.kinds = store, policy, iris, kinds
        self.audit = iris.graph("audit")

    def kind(self, collection: str) -> Kind:
        return self.kinds[collection]

    def record(self, collection: str, value: str) -> URIRef:
        record = self.iris.parse(value, collection)
        if record is None:
            raise NotFound(f"no {collection[:-1]} {value!r}")
        return record

    # ------------------------------------------------------------------ reading events

    def _rows(self, query: str, **bindings: Node) -> list[dict[str, str]]:
        """A SELECT over the audit graph, each value as text (an IRI, or a literal's lexical form): read as
        N-Triples terms, no rdflib term made (a history reads hundreds of values)."""
        answer = self.store.answer(query, default_graphs=[str(self.audit)], named_graphs=[], bindings=bindings)
        try:
            return [{name: lexical(value) for name, value in zip(answer.variables, row, strict=True) if value}
                    for row in answer.rows]
        finally:
            answer.close()

    def _events(self, record: URIRef) -> list[dict[str, str]]:
        """The events naming a record, in chain order, with who, when, what and why."""
        return self._rows(EVENTS.replace("PATTERN", "?e fmar:record ?r .").replace("BOUND", "?r"), r=record)

    def _changes(self, record: URIRef, after: datetime = _EPOCH) -> dict[str, tuple[list[str], list[str]]]:
        """The change of the record made by each event recorded after ``after`` (by sequence): removed, added,
        as N-Triples triples in the form the store keeps them."""
        mine = (f"<{record}>", f"<{record}#")
        lines: list[str] = []
        changes: dict[str, tuple[list[str], list[str]]] = {}
        for row in self._rows(_CHANGES, r=record, after=xsd_literal(after)):
            changes[row["n"]] = ([], [])
            for name, predicate, side in _SIDES:
                if name not in row:
                    continue
                for line in change_set_of(predicate, row[name])[1].splitlines():
                    if line.startswith(mine):
                        s, p, rest = line.split(" ", 2)
                        if p not in _DERIVED:
                            obj = rest[:-2].rsplit(" ", 1)[0]
                            lines.append(f"{s} {p} {obj} <urn:fmar:{side}:{row['n']}> .\n")
        for line in canonical_nquads("".join(lines)).splitlines():  # as the store keeps them
            s, p, rest = line.split(" ", 2)
            obj, graph = rest[:-2].rsplit(" ", 1)
            which, sequence = graph[1:-1].removeprefix("urn:fmar:").split(":", 1)
            changes[sequence][int(which)].append(f"{s} {p} {obj}")
        return changes

    # ------------------------------------------------------------------ use cases

    def versions(self, principal: Principal, collection: str, value: str) -> tuple[URIRef, list[Version]]:
        """UC-05.06: the versions of a record the caller may see, oldest first; 404 when none."""
        self.policy.require_role(principal, "history.read")
        return self.versions_of(principal, self.kind(collection), self.record(collection, value), value)

    def versions_of(self, principal: Principal, kind: Kind, record: URIRef, value: str,
                    first: int = 1) -> tuple[URIRef, list[Version]]:
        """:meth:`versions` of a record given by its IRI (a category's shape, which lives outside the base IRI;
        its first publication is its version 2: ``first``)."""
        collection = kind.collection
        events = self._events(record)
        changes = self._changes(record)
        state: set[str] = set()
        visible = []
        for number, facts in enumerate(events, start=first):
            removed, added = changes[facts["n"]]
            owner_before = kind.owner(_graph(state), record) if state else None
            state = (state - set(removed)) | set(added)
            version = Version(number, facts["e"], int(facts["n"]), facts["t"], facts["op"], facts,
                              [_triple(t) for t in sorted(removed)], [_triple(t) for t in sorted(added)],
                              _graph(state))
            owner = kind.owner(version.state, record) if state else owner_before or (None, None)
            if self._may_see(principal, kind, owner, facts):
                visible.append(version)
        if not visible:
            raise NotFound(f"no {collection[:-1]} {value!r}")
        return record, visible

    def as_of(self, principal: Principal, collection: str, value: str, when: str) -> tuple[URIRef, Graph, str]:
        """The record as it was recorded at ``when`` (its triples, and the time of the version shown);
        404 when it did not exist then, or the caller could not have read it then."""
        kind, record = self.kind(collection), self.record(collection, value)
        at = parse_time(when)
        archived = self.store.select(_ARCHIVED, graphs=[self.audit])
        if archived and at < _time(str(archived[0]["before"])):
            raise Gone(f"the events before {archived[0]['before']} are archived ({archived[0]['file']}): a record "
                       "as of then is read from the archive, not here", archive=str(archived[0]["file"]))
        times = [(row["n"], _time(row["t"]), row["t"]) for row in self._rows(_TIMES, r=record)]
        if not archived and (not times or times[0][1] > at):  # (its creation read from no change set)
            raise NotFound(f"{collection[:-1]} {value!r} did not exist at {at.isoformat()}")
        later = [n for n, t, _ in times if t > at]
        state = self._current(record)
        changes = self._changes(record, at)
        for sequence in reversed(later):
            removed, added = changes[sequence]
            state = (state - set(added)) | set(removed)
        if not state:
            raise NotFound(f"{collection[:-1]} {value!r} did not exist at {at.isoformat()}")
        graph = _graph(state)
        shown = next((text for _, t, text in reversed(times) if t <= at), str(archived[0]["before"]) if archived else "")
        if not self.policy.allows(principal, kind.read_operation, *kind.owner(graph, record)):
            raise NotFound(f"no {collection[:-1]} {value!r}")
        return record, graph, shown

    def _current(self, record: URIRef) -> set[str]:
        """The record's triples now (derived facts left out), as N-Triples in the form the store keeps them."""
        answer = self.store.answer(RECORD, default_graphs=None, named_graphs=None, bindings={"r": record})
        try:
            at = {name: n for n, name in enumerate(answer.variables)}
            s, p, o = at["s"], at["p"], at["o"]
            return {f"{row[s]} {row[p]} {row[o]}" for row in answer.rows if row[p] not in _DERIVED}
        finally:
            answer.close()

    def events_until(self, record: URIRef, when: str) -> int:
        """How many events changed the record up to ``when`` (a category's version then is one more)."""
        at = parse_time(when)
        return sum(1 for row in self._rows(_TIMES, r=record) if _time(row["t"]) <= at)

    def _may_see(self, principal: Principal, kind: Kind, owner: tuple[URIRef | None, URIRef | None],
                 facts: dict[str, str]) -> bool:
        """The policy's answer for ``history.read`` (or the record's read) on the record as it was, and for the
        ``made`` scope, the organisations that made the change."""
        made_by = (facts.get("org"), facts.get("behalf"))
        return self.policy.allows(principal, "history.read", *owner, made_by=made_by) or \
            self.policy.allows(principal, kind.read_operation, *owner)


def who_and_why(facts: dict[str, str]) -> dict[str, Any]:
    """An event's ``agent`` (role, token subject, user, organisation, on whose behalf, under which delegation)
    and its ``reason``, ``justification`` and ``requestId``, from the rows of the event queries."""
    agent = {"role": facts["role"], "subject": facts["subject"]}
    for key, name in (("user", "user"), ("org", "organisation"), ("behalf", "onBehalfOf"),
                      ("delegation", "delegation")):
        if key in facts:
            agent[name] = facts[key]
    doc: dict[str, Any] = {"agent": agent}
    for key, name in (("reason", "reason"), ("justification", "justification"), ("request", "requestId")):
        if key in facts:
            doc[name] = facts[key]
    return doc


def version_document(version: Version, term_for: Callable[[str], str | None]) -> dict[str, Any]:
    """One version as the history document lists it: who, when, what changed, why."""
    return {"version": version.number, "event": version.event, "sequence": version.sequence,
            "recordedAt": version.recorded_at, "operation": version.operation, **who_and_why(version.facts),
            "changes": [_change(op, t, term_for) for op, triples in (("remove", version.removed), ("add", version.added))
                        for t in triples]}


def _change(op: str, triple: tuple[str, str, str], term_for: Callable[[str], str | None]) -> dict[str, Any]:
    s, p, o = triple
    node = to_node(o)
    change: dict[str, Any] = {"op": op, "property": term_for(p[1:-1]) or p[1:-1],
                              "value": str(node)}
    if isinstance(node, Literal) and node.datatype is not None and node.datatype != XSD.string:
        change["datatype"] = str(node.datatype)
    if "#" in s:
        change["node"] = s[1:-1]
    return change


def _triple(line: str) -> tuple[str, str, str]:
    s, p, o = line.split(" ", 2)
    return s, p, o


def _graph(state: set[str]) -> Graph:
    graph = new_graph()
    for line in state:
        s, p, o = line.split(" ", 2)
        graph.add((to_node(s), to_node(p), to_node(o)))
    return graph


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
