"""The one write path: policy check → validation → one atomic store write → one audit event.

Every mutation of every module comes here, and every one ends the same way: the verdict on the validation
results (:func:`refused`), the audit event sealed onto the hash chain and written with the change in one
atomic write (:meth:`WritePath._write`). Changes to records given as before/after graphs are
:meth:`WritePath.commit`; new records given as N-Triples terms, one or thousands, are a batch
(:meth:`WritePath.prepare` then :meth:`WritePath.commit_batch`); a single registration is a batch of one.
Nothing else writes to the store.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.audit.chain import Chain, Head
from fmar.audit.events import EventInfo, change_set, event_quads
from fmar.catalogue import Catalogue
from fmar.errors import ValidationFailed
from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris
from fmar.ntriples import quad_line, term
from fmar.store import GraphStore, Updatable
from fmar.validation.engine import index, index_terms
from fmar.validation.shacl import Facts, Result

_LAST_LOAD = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?g ?d WHERE { ?e fmar:operation "reference.load" ; fmar:record ?g ; fmar:sequence ?n ; fmar:contentDigest ?d }
ORDER BY DESC(?n) LIMIT 1"""
_REFERENCED = """PREFIX fmar: <https://w3id.org/fmar#>
CONSTRUCT { ?r a ?type ; fmar:status ?status ; fmar:hasRole ?role }
WHERE { ?r a ?type . OPTIONAL { ?r fmar:status ?status } OPTIONAL { ?r fmar:hasRole ?role } }"""


class WritingStore(GraphStore, Updatable, Protocol):
    """What the write path needs of the store: the core and SPARQL Update."""


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
    context: Callable[[], Graph] | None = None
    #: Checks that need the write lock (uniqueness, state preconditions); raise to refuse.
    checks: Sequence[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class Committed:
    event: URIRef
    warnings: list[Result]


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
    refusal: str | None = None  # "rejected", "duplicate" or "forbidden" when refused
    event: URIRef | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


#: The facts beyond the records and what they link to that the checks need (e.g. other assets on the
#: same MPAN), read from the store.
Context = Callable[[Sequence[BatchItem]], Facts]
#: Under the write lock: refusals (record key → (refusal, problems)) and the context as it is now.
Screen = Callable[[Sequence[BatchItem]], tuple[dict[int, tuple[str, list[dict[str, object]]]], Facts]]


@dataclass
class Batch:
    """New records checked before the write lock is taken: the policy's answer for each, what the checks
    read (the records, the records they link to, the context found in the store) and their results (None:
    not checked yet, so checked under the lock)."""

    operation: str
    principal: Principal
    items: list[BatchItem]
    outcomes: dict[int, Outcome]
    allowed: list[BatchItem]
    facts: Facts
    links: set[URIRef]
    linked: Facts | None = None
    context: Facts | None = None
    results: dict[str, list[Result]] | None = None
    #: The validator that gave ``results`` (a category shape published meanwhile makes another).
    validator: object = None

    def facts_of(self, items: Sequence[BatchItem]) -> Facts:
        """The facts of some of the batch's records (their subjects and nested nodes)."""
        wanted = {str(item.record) for item in items}
        return {s: po for s, po in self.facts.items() if s[1:-1].split("#", 1)[0] in wanted}


def refused(results: Sequence[Result], justification: str | None) -> bool:
    """The verdict: a violation refuses; warnings refuse unless the submitter justified accepting them; an
    ``sh:Info`` result never refuses (it needs no justification)."""
    severities = {r.severity for r in results}
    return "Violation" in severities or ("Warning" in severities and not (justification or "").strip())


def verdict_error(problems: Sequence[dict[str, object]]) -> ValidationFailed:
    """The 422 of a refused verdict (its results as problem entries): every result, or the warnings that need a
    justification."""
    violations = [p for p in problems if p.get("severity") == "Violation"]
    if violations:
        return ValidationFailed(f"{len(violations)} rule(s) failed", errors=list(problems))
    warnings = [p for p in problems if p.get("severity") == "Warning"]
    return ValidationFailed(f"{len(warnings)} warning(s) need a justification to be accepted", errors=list(problems))


class WritePath:
    """Commits changes under one lock: the only writer of the store."""

    def __init__(self, store: WritingStore, policy: Policy, catalogue: Catalogue, iris: Iris) -> None:
        self.store, self.policy, self.catalogue, self.iris = store, policy, catalogue, iris
        self.chain = Chain(store, iris)
        #: Held from the checks that read the store to the write: writes are one at a time.
        self.lock = threading.RLock()
        #: Told the operation of every write made (after it is made): what caches what the store held listens.
        self.listeners: list[Callable[[str], None]] = []
        #: What :meth:`linked` read of each record, kept until a write could change it.
        self._linked: dict[URIRef, Graph] = {}

    def _made(self, operation: str) -> None:
        if operation != "asset.create":  # a new asset changes no record read before (only found ones are kept)
            self._linked = {}
        for listener in self.listeners:
            listener(operation)

    # ------------------------------------------------------------------ what the checks read

    def linked(self, subjects: set[Node], objects: set[URIRef]) -> Graph:
        """Type, status and roles of the registry's records that ``objects`` name (beyond ``subjects``); those
        found are kept until a write could change them (every write but a new asset's)."""
        graph = new_graph()
        kept = self._linked
        for obj in objects - subjects:
            if str(obj).startswith(self.iris.base):
                facts = kept.get(obj)
                if facts is None:
                    facts = self.store.construct(_REFERENCED, bindings={"r": obj})
                    if len(facts) and len(kept) < 10_000:
                        kept[obj] = facts
                graph += facts
        return graph

    def check(self, data: Graph, focus: Sequence[Node], justification: str | None,
              extra: Graph | None = None) -> list[Result]:
        """Validate records given as a graph (with what they link to, and ``extra``); refused with 422 by the
        verdict, else the warnings accepted."""
        context = self.linked(set(data.subjects()), {o for o in data.objects() if isinstance(o, URIRef)})
        if extra is not None:
            context += extra
        results = self.catalogue.validator.validate(data, focus, context)
        if refused(results, justification):
            raise verdict_error([r.as_dict() for r in results])
        return results

    # ------------------------------------------------------------------ the one way to write

    def _write(self, info: EventInfo, removed: Sequence[str], added: Sequence[str],
               changes: tuple[str, str] | None = None) -> URIRef:
        """Seal the event onto the chain and write it with the change (N-Quads lines) in one atomic write; the
        event records the change set (``changes``: another one, e.g. none). Call under :attr:`lock`."""
        recorded = changes if changes is not None else (change_set(removed), change_set(added))
        event, quads = event_quads(self.iris, info, *recorded)
        sealed = self.chain.seal(event, quads)
        self.store.write("".join(removed), "".join(added) + "".join(quad_line(*q) for q in sealed))
        self.chain.advance_to(event)
        self._made(info.operation)
        return event

    def head(self) -> Head:
        """The chain's head, between writes."""
        with self.lock:
            return self.chain.head

    def commit(self, change: Change) -> Committed:
        """Run the unit of work; on any refusal nothing is written."""
        self.policy.require(change.principal, change.operation, change.target_org, change.read_operation,
                            change.target_area)
        with self.lock:
            for check in change.checks:
                check()
            validated = [rc for rc in change.records if not rc.derived]
            data = validated[0].after if len(validated) == 1 else new_graph()
            if len(validated) != 1:
                for rc in validated:
                    data += rc.after
            focus = list(dict.fromkeys(rc.record for rc in validated if len(rc.after)))
            warnings = self.check(data, focus, change.justification,
                                  change.context() if change.context is not None else None)
            for triple in warning_triples(change.records[0].record, warnings):
                change.records[0].after.add(triple)
            removed: list[str] = []
            added: list[str] = []
            for rc in change.records:
                before, after = set(rc.before), set(rc.after)
                if rc.previous is not None and rc.previous != rc.graph:  # the record moves: all of it
                    removed += [quad_line(s, p, o, rc.previous) for s, p, o in before]
                    added += [quad_line(s, p, o, rc.graph) for s, p, o in after]
                    continue
                removed += [quad_line(s, p, o, rc.graph) for s, p, o in before - after]
                added += [quad_line(s, p, o, rc.graph) for s, p, o in after - before]
            info = EventInfo(change.operation, change.principal, list(dict.fromkeys(rc.record for rc in change.records)),
                             change.reason, change.justification, change.request_id, tuple(change.material))
            event = self._write(info, removed, added)
        return Committed(event, warnings)

    # ------------------------------------------------------------------ batches of new records

    def prepare(self, operation: str, principal: Principal, items: Sequence[BatchItem], *,
                context: Context | None = None, ahead: bool = True) -> Batch:
        """The part of a batch's unit of work that needs no lock: the policy's decision for each record, and
        (``ahead``: run while the batch before is written) every validation, on what the store holds now."""
        self.policy.require_role(principal, operation)
        outcomes = {item.key: Outcome(item.key, item.record) for item in items}
        allowed = []
        decisions: dict[tuple[URIRef | None, URIRef | None], bool] = {}
        for item in items:
            target = (item.target_org, item.target_area)
            if target not in decisions:
                decisions[target] = self.policy.allows(principal, operation, *target)
            if decisions[target]:
                allowed.append(item)
            else:
                outcomes[item.key].refusal = "forbidden"
                outcomes[item.key].problems = [{"path": "operatedBy", "value": str(item.target_org),
                                                "severity": "Violation", "constraint": "fmar:policy",
                                                "message": f"not permitted: {operation} for this organisation"}]
        facts = index_terms(t for item in allowed for t in item.triples)
        base = f"<{self.iris.base}"
        links = {URIRef(o[1:-1]) for po in facts.values() for objects in po.values() for o in objects
                 if o.startswith(base) and o not in facts}
        batch = Batch(operation, principal, list(items), outcomes, allowed, facts, links)
        if ahead and allowed:
            batch.linked = index(self.linked(set(), links))
            batch.context = context(allowed) if context else {}
            batch.validator = self.catalogue.validator
            batch.results = self._validate(facts, allowed, batch.linked, batch.context)
        return batch

    def commit_batch(self, batch: Batch, *, screen: Screen | None = None,
                     request_id: str | None = None) -> list[Outcome]:
        """New records in one unit of work: each is accepted or refused on its own, and the accepted ones are
        written together with one audit event naming every one of them.

        Under the write lock, what the checks of :meth:`prepare` read from the store is read again (the linked
        records, and ``screen``'s context, with its duplicates); the checks run (again) only if they have not
        run, any of it changed, some records were screened out, or a new category shape is in force."""
        outcomes = batch.outcomes
        with self.lock:
            linked = index(self.linked(set(), batch.links))
            screened, extra = screen(batch.allowed) if screen else ({}, {})
            for key, (refusal, problems) in screened.items():
                outcomes[key].refusal, outcomes[key].problems = refusal, problems
            candidates = [item for item in batch.allowed if item.key not in screened]
            results = batch.results
            if candidates and (results is None or screened or linked != batch.linked or extra != batch.context
                               or self.catalogue.validator is not batch.validator):
                results = self._validate(batch.facts_of(candidates), candidates, linked, extra)
            accepted: list[BatchItem] = []
            for item in candidates:
                found = (results or {}).get(str(item.record), [])
                outcome = outcomes[item.key]
                if refused(found, item.justification):
                    outcome.refusal, outcome.problems = "rejected", [r.as_dict() for r in found]
                    continue
                item.triples += [(term(s), term(p), term(o)) for s, p, o in warning_triples(item.record, found)]
                outcome.warnings = found
                accepted.append(item)
            if accepted:
                lines = [line for item in accepted for line in item.lines()]
                justifications = sorted({i.justification for i in accepted if i.justification})
                info = EventInfo(batch.operation, batch.principal, [item.record for item in accepted], None,
                                 "; ".join(justifications) or None, request_id)
                event = self._write(info, [], lines, ("", change_set(lines)))
                for item in accepted:
                    outcomes[item.key].event = event
        return [outcomes[item.key] for item in batch.items]

    def _validate(self, facts: Facts, items: Sequence[BatchItem], linked: Facts, extra: Facts) -> dict[str, list[Result]]:
        """Every result of the records' validation, per record IRI, sorted."""
        validator = self.catalogue.validator
        focus = [f"<{item.record}>" for item in items]
        results = validator.core(facts, focus, linked) + validator.in_context(facts, focus, merge_facts(linked, extra))
        grouped: dict[str, list[Result]] = {}
        for result in sorted(set(results), key=lambda r: (r.severity, r.path, r.message)):
            grouped.setdefault(result.focusNode.split("#", 1)[0], []).append(result)
        return grouped

    # ------------------------------------------------------------------ other writes

    def log_read(self, operation: str, principal: Principal, detail: str, request_id: str | None = None) -> URIRef:
        """A light audit event for a read of restricted data (an export): who, what, when."""
        with self.lock:
            return self._write(EventInfo(operation, principal, [], detail, None, request_id), [], [])

    def run_update(self, principal: Principal, fenced: Callable[[tuple[str, ...]], tuple[str, frozenset[str] | None]],
                   base_iri: str, request_id: str | None = None) -> URIRef:
        """A SPARQL update (the admin's; screened by the caller), with its audit event in the same transaction.
        ``fenced`` gives, from the store's graphs as they are under the lock, the update to run and the graphs it
        may touch (None: every graph but the audit graph). The event holds the statement and the change set it
        makes, found by rehearsing it on a copy of those graphs; the records it changes are the event's records,
        so their history shows it."""
        self.policy.require_role(principal, "sparql.update")
        audit_graph = str(self.iris.graph("audit"))
        with self.lock:
            update, graphs = fenced(self.store.graph_names())
            names = [g for g in (self.store.graph_names() if graphs is None else sorted(graphs)) if g != audit_graph]
            removed, added = self.store.rehearse(update, base_iri, names)
            records = sorted({URIRef(line[1:line.index(">")].split("#", 1)[0]) for line in removed + added
                              if line.startswith(f"<{self.iris.base}")})
            info = EventInfo("sparql.update", principal, records, None, None, request_id, statement=update)
            event, quads = event_quads(self.iris, info, change_set(removed), change_set(added))
            audit = self.chain.seal(event, quads)
            data = " ".join(f"GRAPH <{g}> {{ {quad_line(s, p, o)[:-2]} }}" for s, p, o, g in audit)
            self.store.run_update(f"{update}\n;\nINSERT DATA {{ {data} }}", base_iri)
            self.chain.advance_to(event)
            self._made("sparql.update")
        self.catalogue.reload()  # the update may have changed shapes, code lists or reference data
        return event

    def load_graph(self, principal: Principal, graph: URIRef, files: Sequence[Path]) -> URIRef | None:
        """Replace a reference graph (ontology, shapes, codes, reference data) by the repository's files, with
        its event (the files and their digest) in the same write; nothing when the files are those loaded last."""
        content = hashlib.sha256()
        for path in files:
            content.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        digest = content.hexdigest()
        with self.lock:
            last = self.store.select(_LAST_LOAD, bindings={"g": graph}, graphs=[self.iris.graph("audit")])
            if last and str(last[0]["d"]) == digest:
                return None
            info = EventInfo("reference.load", principal, [graph], material=tuple(p.name for p in files), digest=digest)
            event, quads = event_quads(self.iris, info, "", "")
            sealed = self.chain.seal(event, quads)
            self.store.replace_graph(graph, files, "".join(quad_line(*q) for q in sealed))
            self.chain.advance_to(event)
            self._made("reference.load")
        self.catalogue.reload()
        return event

    def remove_events(self, info: EventInfo, removed: Sequence[str]) -> URIRef:
        """Take audit events out of the store (an archive, which holds them now), with the event that says so;
        the event's change set is left empty (the archive file is the record of what left). Call under
        :attr:`lock`, having checked the chain."""
        return self._write(info, removed, [], ("", ""))


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
    """The accepted warnings, kept with the record (``sh:Info`` results need no acceptance and are not kept)."""
    triples: list[tuple[Node, Node, Node]] = []
    for n, warning in enumerate((w for w in warnings if w.severity == "Warning"), start=1):
        node = URIRef(f"{record}#acceptedWarning-{n}")
        triples += [(record, FMAR.acceptedWarning, node), (node, RDF.type, FMAR.ValidationWarning),
                    (node, FMAR.warningMessage, Literal(warning.message)), (node, FMAR.warningPath, Literal(warning.path))]
    return triples
