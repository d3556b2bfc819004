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
from fmar.iris import FMAR, Iris
from fmar.store import GraphStore, Quad
from fmar.validation.engine import CompiledValidator
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
            graph = Graph()
            for name in ("codes", "reference"):
                graph += self.store.graph(self.iris.graph(name))
            self._reference = graph
            self.validator.set_reference(graph)
        return self._reference

    def context(self, data: Graph) -> Graph:
        """What a submission refers to: the type, status and roles of linked records."""
        self.reference  # noqa: B018 - makes sure the validator holds the reference data
        graph = Graph()
        ours = set(data.subjects())
        for obj in set(data.objects()):
            if isinstance(obj, URIRef) and obj not in ours and str(obj).startswith(self.iris.base):
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
            data = Graph()
            for rc in change.records:
                data += rc.after
            warnings = self.check(data, [rc.record for rc in change.records if len(rc.after)],
                                  change.justification, change.context)
            if warnings:
                _attach_warnings(change.records[0], warnings)
            removed: list[Quad] = []
            added: list[Quad] = []
            for rc in change.records:
                removed += [(s, p, o, rc.graph) for s, p, o in rc.before - rc.after]
                added += [(s, p, o, rc.graph) for s, p, o in rc.after - rc.before]
            info = EventInfo(change.operation, change.principal, [rc.record for rc in change.records],
                             change.reason, change.justification, change.request_id, tuple(change.material))
            event, audit = event_quads(self.iris, info, removed, added)
            self.store.apply(removed, added + audit)
        return Committed(event, warnings)


def _attach_warnings(rc: RecordChange, warnings: list[Result]) -> None:
    for n, warning in enumerate(warnings, start=1):
        node = URIRef(f"{rc.record}#acceptedWarning-{n}")
        rc.after.add((rc.record, FMAR.acceptedWarning, node))
        rc.after.add((node, RDF.type, FMAR.ValidationWarning))
        rc.after.add((node, FMAR.warningMessage, Literal(warning.message)))
        rc.after.add((node, FMAR.warningPath, Literal(warning.path)))
