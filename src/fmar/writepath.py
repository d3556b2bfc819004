"""The one write path: policy check → validation → one atomic store write → one audit event.

Every mutation of every module is a :class:`Change` committed here; nothing else writes
records to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.audit.events import EventInfo, event_quads
from fmar.errors import ValidationFailed
from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris
from fmar.store import GraphStore, Quad
from fmar.validation.engine import CompiledValidator, index
from fmar.validation.shacl import Result, Validator

_REFERENCED = """PREFIX fmar: <https://w3id.org/fmar#>
CONSTRUCT { ?r a ?type ; fmar:status ?status ; fmar:hasRole ?role }
WHERE { ?r a ?type . OPTIONAL { ?r fmar:status ?status } OPTIONAL { ?r fmar:hasRole ?role } }"""


@dataclass
class RecordChange:
    """One record's triples before and after, in its named graph."""

    record: URIRef
    graph: URIRef
    before: Graph
    after: Graph


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
        event, quads = event_quads(self.iris, EventInfo(operation, principal, [], detail, None, request_id), [], [])
        self.store.apply([], quads)
        return event

    def commit(self, change: Change) -> Committed:
        """Run the unit of work; on any refusal nothing is written."""
        self.policy.require(change.principal, change.operation, change.target_org, change.read_operation,
                            change.target_area)
        lock = getattr(self.store, "write_lock", None)
        if lock is None:
            raise RuntimeError("the store must provide a write lock")
        with lock:
            for check in change.checks:
                check()
            if len(change.records) == 1:
                data = change.records[0].after
            else:
                data = new_graph()
                for rc in change.records:
                    data += rc.after
            warnings = self.check(data, [rc.record for rc in change.records if len(rc.after)],
                                  change.justification, change.context)
            if warnings:
                _attach_warnings(change.records[0], warnings)
            removed: list[Quad] = []
            added: list[Quad] = []
            for rc in change.records:
                before, after = set(rc.before), set(rc.after)
                removed += [(s, p, o, rc.graph) for s, p, o in before - after]
                added += [(s, p, o, rc.graph) for s, p, o in after - before]
            info = EventInfo(change.operation, change.principal, [rc.record for rc in change.records],
                             change.reason, change.justification, change.request_id, tuple(change.material))
            event, audit = event_quads(self.iris, info, removed, added)
            self.store.apply(removed, added + audit)
        return Committed(event, warnings)


Triple = tuple[Node, Node, Node]


@dataclass
class BatchItem:
    """One new record of a batch: its triples, its named graph, whose it is, and its justification."""

    key: int
    record: URIRef
    graph: URIRef
    triples: list[Triple]
    target_org: URIRef | None
    target_area: URIRef | None = None
    justification: str | None = None


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


Screen = Callable[[Sequence[BatchItem]], dict[int, tuple[str, list[dict[str, object]]]]]


def commit_batch(write: WritePath, operation: str, principal: Principal, items: Sequence[BatchItem], *,
                 screen: Screen | None = None, context: Graph | None = None,
                 request_id: str | None = None) -> list[Outcome]:
    """Many new records in one unit of work: each is accepted or refused on its own, and the accepted
    ones are written together (Oxigraph's bulk loader) with one audit event naming every one of them."""
    write.policy.require_role(principal, operation)
    outcomes = {item.key: Outcome(item.key, item.record) for item in items}
    allowed = []
    for item in items:
        if write.policy.allows(principal, operation, item.target_org, item.target_area):
            allowed.append(item)
        else:
            outcomes[item.key].refusal = "rejected"
            outcomes[item.key].problems = [{"path": "operatedBy", "value": str(item.target_org), "severity": "Violation",
                                            "message": f"not permitted: {operation} for this organisation",
                                            "constraint": "fmar:policy"}]
    lock = getattr(write.store, "write_lock", None)
    if lock is None:
        raise RuntimeError("the store must provide a write lock")
    with lock:
        screened = screen(allowed) if screen else {}
        for key, (refusal, problems) in screened.items():
            outcomes[key].refusal, outcomes[key].problems = refusal, problems
        candidates = [item for item in allowed if item.key not in screened]
        by_record = _validate_batch(write, candidates, context)
        accepted: list[BatchItem] = []
        for item in candidates:
            results = by_record.get(item.record, [])
            violations = [r for r in results if r.severity == "Violation"]
            warnings = [r for r in results if r.severity != "Violation"]
            outcome = outcomes[item.key]
            if violations or (warnings and not (item.justification and item.justification.strip())):
                outcome.refusal, outcome.problems = "rejected", [r.as_dict() for r in results]
                continue
            item.triples += _warning_triples(item.record, warnings)
            outcome.warnings = warnings
            accepted.append(item)
        if accepted:
            added = [(s, p, o, item.graph) for item in accepted for s, p, o in item.triples]
            justifications = sorted({i.justification for i in accepted if i.justification})
            info = EventInfo(operation, principal, [item.record for item in accepted], None,
                             "; ".join(justifications) or None, request_id)
            _, audit = event_quads(write.iris, info, [], added)
            write.store.add_many(added + audit)
    return [outcomes[item.key] for item in items]


def _validate_batch(write: WritePath, items: Sequence[BatchItem], context: Graph | None) -> dict[URIRef, list[Result]]:
    """Validation results per record (nested nodes' results under their record)."""
    if not items:
        return {}
    triples = [t for item in items for t in item.triples]
    linked = write.linked({s for s, _, _ in triples}, {o for _, _, o in triples if isinstance(o, URIRef)})
    if context is not None:
        linked += context
    records = [item.record for item in items]
    validate_facts = getattr(write.validator, "validate_facts", None)
    if validate_facts is not None:
        results = validate_facts(index(triples), records, index(linked))
    else:
        data = new_graph()
        for t in triples:
            data.add(t)
        results = write.validator.validate(data, records, linked)
    grouped: dict[URIRef, list[Result]] = {}
    for result in results:
        grouped.setdefault(URIRef(result.focusNode.split("#", 1)[0]), []).append(result)
    return grouped


def _warning_triples(record: URIRef, warnings: Sequence[Result]) -> list[Triple]:
    """The accepted warnings, kept with the record."""
    triples: list[Triple] = []
    for n, warning in enumerate(warnings, start=1):
        node = URIRef(f"{record}#acceptedWarning-{n}")
        triples += [(record, FMAR.acceptedWarning, node), (node, RDF.type, FMAR.ValidationWarning),
                    (node, FMAR.warningMessage, Literal(warning.message)), (node, FMAR.warningPath, Literal(warning.path))]
    return triples


def _attach_warnings(rc: RecordChange, warnings: Sequence[Result]) -> None:
    for triple in _warning_triples(rc.record, warnings):
        rc.after.add(triple)
