"""The one write path: policy check → validation → one atomic store write → one audit event.

Every mutation of every module is a :class:`Change` committed here; nothing else writes
records to the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.audit.chain import Chain
from fmar.audit.events import EventInfo, change_set, event_quads, nquads
from fmar.errors import ValidationFailed
from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris
from fmar.ntriples import quad_line, term
from fmar.sparql.lexer import Token
from fmar.store import GraphStore, Quad
from fmar.validation.engine import CompiledValidator, index, index_terms
from fmar.validation.shacl import Facts, Result, Validator

_LAST_LOAD = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?d WHERE { ?e fmar:operation "reference.load" ; fmar:record ?g ; fmar:sequence ?n ; fmar:contentDigest ?d }
ORDER BY DESC(?n) LIMIT 1"""
_REFERENCED = """PREFIX fmar: <https://w3id.org/fmar#>
CONSTRUCT { ?r a ?type ; fmar:status ?status ; fmar:hasRole ?role }
WHERE { ?r a ?type . OPTIONAL { ?r fmar:status ?status } OPTIONAL { ?r fmar:hasRole ?role } }"""


@dataclass
class RecordChange:
    """One record's triples before and after, in its named graph (``previous``: the graph they leave, when
    the record moves). ``derived`` triples (a public view's) are written but not validated."""

    record: URIRef
    graph: URIRef
    before: Graph
    after: Graph
    previous: URIRef | None = None
    derived: bool = False


@dataclass
class Change:
    """A unit of work: the records it changes, who asks, and why."""

    operation: str
    principal: Principal
    target_org: URIRef | None
    records: list[RecordChange]
    reason: str | None = None
    justification: str | None = None
    request_id: str | None = None
    read_operation: str | None = None
    target_area: URIRef | None = None
    #: Terms whose change is material (an asset's category, MPAN, capacity): recorded in the event.
    material: Sequence[str] = ()
    #: Facts beyond the records and what they link to that the shapes need (e.g. other assets on the same MPAN).
    context: Graph | None = None
    #: Checks that need the write lock (uniqueness, state preconditions); raise to refuse.
    checks: Sequence[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class Committed:
    event: URIRef
    warnings: list[Result]


class WritePath:
    """Commits changes; holds the policy, the validator and the validation context."""

    def __init__(self, store: GraphStore, policy: Policy, validator: Validator | CompiledValidator, iris: Iris) -> None:
        self.store, self.policy, self.validator, self.iris = store, policy, validator, iris
        self.chain = Chain(store, iris)
        self._reference: Graph | None = None

    @property
    def reference(self) -> Graph:
        """Code lists and reference data, the fixed part of every validation context (read once)."""
        if self._reference is None:
            graph = new_graph()
            for name in ("codes", "reference"):
                graph += self.store.graph(self.iris.graph(name))
            self._reference = graph
            self.validator.set_reference(graph)
        return self._reference

    def context(self, data: Graph) -> Graph:
        """What a submission refers to: the type, status and roles of linked records."""
        return self.linked(set(data.subjects()), {o for o in data.objects() if isinstance(o, URIRef)})

    def linked(self, subjects: set[Node], objects: set[URIRef]) -> Graph:
        """Type, status and roles of the registry's records that ``objects`` name (beyond ``subjects``)."""
        self.reference  # noqa: B018 - makes sure the validator holds the reference data
        graph = new_graph()
        for obj in objects - subjects:
            if str(obj).startswith(self.iris.base):
                graph += self.store.construct(_REFERENCED, bindings={"r": obj})
        return graph

    def check(self, data: Graph, focus: Sequence[Node], justification: str | None,
              extra: Graph | None = None) -> list[Result]:
        """Validate; violations refuse, warnings refuse unless justified. Returns accepted warnings."""
        context = self.context(data)
        if extra is not None:
            context += extra
        results = self.validator.validate(data, focus, context)
        violations = [r for r in results if r.severity == "Violation"]
        warnings = [r for r in results if r.severity != "Violation"]
        if violations:
            raise ValidationFailed(f"{len(violations)} rule(s) failed", errors=[r.as_dict() for r in results])
        if warnings and not (justification and justification.strip()):
            raise ValidationFailed(f"{len(warnings)} warning(s) need a justification to be accepted",
                                   errors=[r.as_dict() for r in warnings])
        return warnings

    def log_read(self, operation: str, principal: Principal, detail: str, request_id: str | None = None) -> URIRef:
        """A light audit event for a read of restricted data (an export): who, what, when."""
        info = EventInfo(operation, principal, [], detail, None, request_id)
        with _lock(self.store):
            event, quads = self.sealed(info, "", "")
            self.store.apply([], quads)
            self.chain.advance_to(event)
        return event

    def sealed(self, info: EventInfo, removed: str, added: str) -> tuple[URIRef, list[Quad]]:
        """An event's quads, sealed onto the chain (call under the write lock; :meth:`Chain.advance_to` the
        event once it is written)."""
        event, quads = event_quads(self.iris, info, removed, added)
        return event, self.chain.seal(event, quads)

    def run_update(self, principal: Principal, update: str, found: Sequence[Token], base_iri: str,
                   request_id: str | None = None, graphs: frozenset[str] | None = None) -> URIRef:
        """A SPARQL update (the admin's; screened and fenced by the caller), with its audit event in the same
        transaction: the statement, and the change set it makes, found by rehearsing it on a copy of the graphs
        it can touch (``graphs``; None: every graph but the audit graph). The records it changes are the
        event's records, so their history shows it."""
        self.policy.require_role(principal, "sparql.update")
        if found and found[-1].kind == "punct" and found[-1].text == ";":  # a trailing ';' ends the update
            update = update[:found[-1].start]
        audit_graph = str(self.iris.graph("audit"))
        with _lock(self.store):
            names = [g for g in (self.store.graph_names() if graphs is None else sorted(graphs)) if g != audit_graph]
            removed, added = self.store.rehearse(update, base_iri, names)
            records = sorted({URIRef(line[1:line.index(">")].split("#", 1)[0]) for line in removed + added
                              if line.startswith(f"<{self.iris.base}")})
            info = EventInfo("sparql.update", principal, records, None, None, request_id, statement=update)
            event, audit = self.sealed(info, change_set(removed), change_set(added))
            data = " ".join(f"GRAPH <{g}> {{ {quad_line(s, p, o)[:-2]} }}" for s, p, o, g in audit)
            self.store.run_update(f"{update}\n;\nINSERT DATA {{ {data} }}", base_iri)
            self.chain.advance_to(event)
        return event

    def load_graph(self, principal: Principal, graph: URIRef, files: Sequence[Path]) -> URIRef | None:
        """Replace a reference graph (ontology, shapes, codes, reference data) by the repository's files, with
        its event (the files and their digest) in the same write; nothing when the files are those loaded last."""
        content = hashlib.sha256()
        for path in files:
            content.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        digest = content.hexdigest()
        with _lock(self.store):
            last = self.store.select(_LAST_LOAD, bindings={"g": graph}, graphs=[self.iris.graph("audit")])
            if last and str(last[0]["d"]) == digest:
                return None
            info = EventInfo("reference.load", principal, [graph], material=tuple(p.name for p in files), digest=digest)
            event, audit = self.sealed(info, "", "")
            self.store.load(files, graph, audit)
            self.chain.advance_to(event)
        return event

    def commit(self, change: Change) -> Committed:
        """Run the unit of work; on any refusal nothing is written."""
        self.policy.require(change.principal, change.operation, change.target_org, change.read_operation,
                            change.target_area)
        with _lock(self.store):
            for check in change.checks:
                check()
            validated = [rc for rc in change.records if not rc.derived]
            if len(validated) == 1:
                data = validated[0].after
            else:
                data = new_graph()
                for rc in validated:
                    data += rc.after
            warnings = self.check(data, list(dict.fromkeys(rc.record for rc in validated if len(rc.after))),
                                  change.justification, change.context)
            if warnings:
                _attach_warnings(change.records[0], warnings)
            removed: list[Quad] = []
            added: list[Quad] = []
            for rc in change.records:
                before, after = set(rc.before), set(rc.after)
                if rc.previous is not None and rc.previous != rc.graph:  # the record moves: all of it
                    removed += [(s, p, o, rc.previous) for s, p, o in before]
                    added += [(s, p, o, rc.graph) for s, p, o in after]
                    continue
                removed += [(s, p, o, rc.graph) for s, p, o in before - after]
                added += [(s, p, o, rc.graph) for s, p, o in after - before]
            records = list(dict.fromkeys(rc.record for rc in change.records))
            info = EventInfo(change.operation, change.principal, records,
                             change.reason, change.justification, change.request_id, tuple(change.material))
            event, audit = self.sealed(info, nquads(removed), nquads(added))
            self.store.apply(removed, added + audit)
            self.chain.advance_to(event)
        return Committed(event, warnings)


#: A triple as N-Triples terms (:mod:`fmar.ntriples`).
Terms = tuple[str, str, str]


@dataclass
class BatchItem:
    """One new record of a batch: its triples, its named graph, whose it is, and its justification."""

    key: int
    record: URIRef
    graph: URIRef
    triples: list[Terms]
    target_org: URIRef | None
    target_area: URIRef | None = None
    justification: str | None = None
    #: The record's own facts of these predicates go to ``public_graph`` (its public view) instead.
    public: frozenset[str] = frozenset()
    public_graph: URIRef | None = None
    #: Facts derived for the record's public view (written, not validated).
    derived: list[Terms] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The record's quads as N-Quads lines, each in its graph."""
        graph, subject = f"<{self.graph}>", f"<{self.record}>"
        public = f"<{self.public_graph}>" if self.public_graph is not None else graph
        lines = [f"{s} {p} {o} {public if s == subject and p in self.public else graph} .\n"
                 for s, p, o in self.triples]
        return lines + [f"{s} {p} {o} {public} .\n" for s, p, o in self.derived]


@dataclass
class Outcome:
    """What became of one record of a batch: accepted (with its accepted warnings) or refused."""

    key: int
    record: URIRef
    problems: list[dict[str, object]] = field(default_factory=list)
    warnings: list[Result] = field(default_factory=list)
    refusal: str | None = None  # "rejected" or "duplicate" when refused

    @property
    def accepted(self) -> bool:
        return self.refusal is None


@dataclass
class Batch:
    """New records checked before the write lock is taken: the policy's answer for each, what the checks
    read (the records, the records they link to, the context found in the store) and their results."""

    operation: str
    principal: Principal
    items: list[BatchItem]
    outcomes: dict[int, Outcome]
    allowed: list[BatchItem]
    facts: Facts
    links: set[URIRef]
    linked: Facts
    context: Facts
    results: dict[str, list[Result]]
    #: The validator that gave ``results`` (a category shape published meanwhile makes another).
    validator: object

    def facts_of(self, items: Sequence[BatchItem]) -> Facts:
        """The facts of some of the batch's records (their subjects and nested nodes)."""
        wanted = {str(item.record) for item in items}
        return {s: po for s, po in self.facts.items() if s[1:-1].split("#", 1)[0] in wanted}


#: The facts beyond the records and what they link to that the checks need (e.g. other assets on the
#: same MPAN), read from the store.
Context = Callable[[Sequence[BatchItem]], Facts]
#: Under the write lock: refusals (record key → (refusal, problems)) and the context as it is now.
Screen = Callable[[Sequence[BatchItem]], tuple[dict[int, tuple[str, list[dict[str, object]]]], Facts]]


def prepare_batch(write: WritePath, operation: str, principal: Principal, items: Sequence[BatchItem], *,
                  context: Context | None = None) -> Batch:
    """The part of a batch's unit of work that needs no lock, run while the batch before is written:
    the policy decision for each record, and every validation, on what the store holds now."""
    write.policy.require_role(principal, operation)
    outcomes = {item.key: Outcome(item.key, item.record) for item in items}
    allowed = []
    decisions: dict[tuple[URIRef | None, URIRef | None], bool] = {}
    for item in items:
        target = (item.target_org, item.target_area)
        if target not in decisions:
            decisions[target] = write.policy.allows(principal, operation, *target)
        if decisions[target]:
            allowed.append(item)
        else:
            outcomes[item.key].refusal = "rejected"
            outcomes[item.key].problems = [{"path": "operatedBy", "value": str(item.target_org), "severity": "Violation",
                                            "message": f"not permitted: {operation} for this organisation",
                                            "constraint": "fmar:policy"}]
    facts = index_terms(t for item in allowed for t in item.triples)
    base = f"<{write.iris.base}"
    links = {URIRef(o[1:-1]) for po in facts.values() for objects in po.values() for o in objects
             if o.startswith(base) and o not in facts}
    linked = index(write.linked(set(), links))
    extra = context(allowed) if context and allowed else {}
    results = _validate(write, facts, allowed, linked, extra) if allowed else {}
    return Batch(operation, principal, list(items), outcomes, allowed, facts, links, linked, extra, results,
                 write.validator)


def commit_batch(write: WritePath, batch: Batch, *, screen: Screen | None = None,
                 request_id: str | None = None) -> list[Outcome]:
    """Many new records in one unit of work: each is accepted or refused on its own, and the accepted
    ones are written together (Oxigraph's bulk loader) with one audit event naming every one of them.

    Under the write lock, what the checks of :func:`prepare_batch` read from the store is read again
    (the linked records, and ``screen``'s context, with its duplicates); the checks run again only if
    any of it changed, some records were screened out, or a new category shape is in force."""
    outcomes = batch.outcomes
    with _lock(write.store):
        linked = index(write.linked(set(), batch.links))
        screened, extra = screen(batch.allowed) if screen else ({}, {})
        for key, (refusal, problems) in screened.items():
            outcomes[key].refusal, outcomes[key].problems = refusal, problems
        candidates = [item for item in batch.allowed if item.key not in screened]
        results = batch.results
        if candidates and (screened or linked != batch.linked or extra != batch.context
                           or write.validator is not batch.validator):
            results = _validate(write, batch.facts_of(candidates), candidates, linked, extra)
        accepted: list[BatchItem] = []
        for item in candidates:
            found = results.get(str(item.record), [])
            violations = [r for r in found if r.severity == "Violation"]
            warnings = [r for r in found if r.severity != "Violation"]
            outcome = outcomes[item.key]
            if violations or (warnings and not (item.justification and item.justification.strip())):
                outcome.refusal, outcome.problems = "rejected", [r.as_dict() for r in found]
                continue
            item.triples += [(term(s), term(p), term(o)) for s, p, o in warning_triples(item.record, warnings)]
            outcome.warnings = warnings
            accepted.append(item)
        if accepted:
            lines = [line for item in accepted for line in item.lines()]
            justifications = sorted({i.justification for i in accepted if i.justification})
            info = EventInfo(batch.operation, batch.principal, [item.record for item in accepted], None,
                             "; ".join(justifications) or None, request_id)
            event, audit = write.sealed(info, "", change_set(lines))
            write.store.add_nquads("".join(lines) + "".join(quad_line(*q) for q in audit))
            write.chain.advance_to(event)
    return [outcomes[item.key] for item in batch.items]


def _validate(write: WritePath, facts: Facts, items: Sequence[BatchItem], linked: Facts,
              extra: Facts) -> dict[str, list[Result]]:
    """Every result of the records' validation, per record IRI, sorted."""
    focus = [f"<{item.record}>" for item in items]
    results = write.validator.core(facts, focus, linked) + write.validator.in_context(facts, focus,
                                                                                      merge_facts(linked, extra))
    grouped: dict[str, list[Result]] = {}
    for result in sorted(set(results), key=lambda r: (r.severity, r.path, r.message)):
        grouped.setdefault(result.focusNode.split("#", 1)[0], []).append(result)
    return grouped


def _lock(store: GraphStore) -> AbstractContextManager[object]:
    lock = getattr(store, "write_lock", None)
    if lock is None:
        raise RuntimeError("the store must provide a write lock")
    return lock  # type: ignore[no-any-return]


def merge_facts(*sources: Facts) -> Facts:
    """Facts of several sources as one (a subject's predicates and objects from every source)."""
    merged: Facts = {}
    for source in sources:
        for subject, po in source.items():
            into = merged.setdefault(subject, {})
            for p, objects in po.items():
                into[p] = into.get(p, []) + [o for o in objects if o not in into.get(p, [])]
    return merged


def warning_triples(record: URIRef, warnings: Sequence[Result]) -> list[tuple[Node, Node, Node]]:
    """The accepted warnings, kept with the record."""
    triples: list[tuple[Node, Node, Node]] = []
    for n, warning in enumerate(warnings, start=1):
        node = URIRef(f"{record}#acceptedWarning-{n}")
        triples += [(record, FMAR.acceptedWarning, node), (node, RDF.type, FMAR.ValidationWarning),
                    (node, FMAR.warningMessage, Literal(warning.message)), (node, FMAR.warningPath, Literal(warning.path))]
    return triples


def _attach_warnings(rc: RecordChange, warnings: Sequence[Result]) -> None:
    for triple in warning_triples(rc.record, warnings):
        rc.after.add(triple)
