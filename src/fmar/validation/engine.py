"""The compiled SHACL validator: the shapes graph compiled once, checked fast, and all of SHACL honoured.

pyshacl rebuilds its view of the shapes and of the data on every call, which caps it near a
few hundred small records a second. This engine compiles each targeted shape once into plain
checks over facts whose terms are N-Triples strings (:mod:`fmar.ntriples`): SHACL Core
constraint components run in Python over each record's facts, and SPARQL-based constraints run
in Oxigraph (through :class:`fmar.store.staging.Staging`) over a whole batch at once.

A targeted shape that uses SHACL the fast path does not compile (path expressions, the logical
and qualified components, SPARQL-based constraint components, SPARQL in a shape reached by
``sh:node`` or on a property shape…) is *delegated*: pyshacl evaluates that part, and only it, for
the focus nodes it targets (:mod:`fmar.validation.delegate`): the property shapes it cannot compile
when the rest of a targeted node shape compiles, else the whole shape. Either way a shape means what
SHACL says; ``delegated`` names the shapes that take the slower way and why. Shapes that are not
valid, would reach the network (a SPARQL query that does not parse, ``SERVICE``, ``FROM``) or break
SHACL's pre-binding rules raise :class:`ShapeError`, so they can be refused when published.

Natively compiled: targets by class (with ``rdfs:subClassOf``), node, subjects and objects of a
predicate, implicit class targets and category shapes (``fmar:forCategory``); on node and
property shapes ``sh:class``, ``sh:datatype``, ``sh:nodeKind``, ``sh:in``, ``sh:hasValue``,
``sh:pattern``/``sh:flags``, ``sh:minLength``, ``sh:maxLength``, the four range components,
``sh:languageIn``, ``sh:node``, ``sh:equals``, ``sh:disjoint``; on property shapes with a predicate
path ``sh:minCount``, ``sh:maxCount``, ``sh:lessThan``, ``sh:lessThanOrEquals``, ``sh:uniqueLang``;
``sh:closed`` with ``sh:ignoredProperties``; SPARQL-based constraints (``sh:select`` with
``sh:prefixes``, message templates, ``$this``, ``$currentShape`` and ``$shapesGraph`` pre-bound) on
targeted node shapes; ``sh:message``, ``sh:severity`` and ``sh:deactivated`` at every level.
``tests/validation/test_differential.py`` holds it to pyshacl.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Protocol

from rdflib import Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from fmar.ntriples import parts, term, to_node
from fmar.store.staging import SHAPES_GRAPH, Query, QueryFailed
from fmar.validation.delegate import Delegation, Targets
from fmar.validation.shacl import FMAR_FOR_CATEGORY, SH, Facts, Result, Rule, ShapeResult, flatten, result_path

#: (value, default message, details) of one failed constraint.
Failure = tuple[str | None, str, list[ShapeResult]]
Check = Callable[[str, list[str], "_View"], list[Failure]]
_RDF_TYPE = term(RDF.type)
_SUBCLASS = term(RDFS.subClassOf)
_ASSET_CATEGORY = "<https://w3id.org/fmar#assetCategory>"

#: Parameters that apply to each value node, on node shapes (the focus node) and property shapes alike.
_VALUE_PARAMS = {
    SH["class"], SH.datatype, SH.nodeKind, SH["in"], SH.hasValue, SH.pattern, SH.minLength, SH.maxLength,
    SH.minInclusive, SH.minExclusive, SH.maxInclusive, SH.maxExclusive, SH.languageIn, SH.node, SH.equals,
    SH.disjoint,
}
#: Parameters of property shapes only.
_PROPERTY_PARAMS = {SH.minCount, SH.maxCount, SH.lessThan, SH.lessThanOrEquals, SH.uniqueLang}
#: What a shape may say that checks nothing by itself (or is read elsewhere: targets, closed, sparql…).
_NOT_CONSTRAINTS = {
    SH.message, SH.severity, SH.deactivated, SH.name, SH.description, SH.defaultValue, SH.order, SH.group,
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target, SH.closed,
    SH.ignoredProperties, SH.property, SH.sparql, SH.path, SH.flags, RDF.type,
}
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
_NONE: list[str] = []
_NO_SHAPES: list[_NodeShape] = []
#: The constraint components that a node with no value for the path can fail.
_ABSENCE = {SH.minCount, SH.hasValue, SH.equals}
#: Pre-bound variables the fast path does not bind (pyshacl evaluates constraints that use them).
_OTHER_PREBOUND = re.compile(r"[?$]PATH\b")


class SparqlRunner(Protocol):
    def select_over(self, sources: Sequence[Facts], queries: Sequence[Query],
                    predicates: frozenset[str] | None = None) -> list[list[dict[str, Node]] | QueryFailed]:
        """Run each SELECT over the reference data plus the facts of ``sources`` (only the triples of
        ``predicates``, when given), once or once per focus node."""


class ShapeError(ValueError):
    """A shape that is not valid SHACL or that would reach the network (so it is refused when published)."""


class _NotNative(Exception):
    """A shape uses SHACL the fast path does not compile: pyshacl evaluates it (the message says what)."""


@dataclass
class _Sparql:
    iri: Node
    select: str
    message: str | None
    #: Every solution binds ``$this`` by a triple pattern, so running the query once over the whole staged
    #: batch, unbound, and keeping the focus nodes' rows gives what pre-binding each focus node gives.
    free: bool = False


@dataclass
class _PropertyShape:
    iri: Node
    path: URIRef | None  # None: the node shape's own constraints, on the focus node itself
    params: list[tuple[Node, Node]]
    message: str | None
    severity: Node
    checks: list[tuple[str, Check]] = field(default_factory=list)
    path_nt: str = ""
    #: Whether a node without values can fail (sh:minCount, sh:hasValue, sh:equals); if not, it is skipped.
    checks_absence: bool = False


@dataclass(eq=False)
class _NodeShape:
    iri: Node
    properties: list[_PropertyShape] = field(default_factory=list)
    sparql: list[_Sparql] = field(default_factory=list)
    closed: bool = False
    allowed: set[str] = field(default_factory=set)
    message: str | None = None
    severity: URIRef = SH.Violation
    targets: Targets = field(default_factory=Targets)
    deactivated: bool = False
    #: Property shapes the fast path does not compile (of a targeted shape): pyshacl evaluates them.
    delegated_properties: list[Node] = field(default_factory=list)


class CompiledValidator:
    """Validates records against the shapes: compiled where it can, pyshacl for the rest; the same results as
    pyshacl on the shapes as written."""

    def __init__(self, shapes: Graph, term_for: dict[str, str], rules: Iterable[Rule] = (),
                 sparql: Callable[[list[tuple[Node, Node, Node]], Iterable[tuple[Node, Node, Node]]], SparqlRunner]
                 | None = None) -> None:
        self.shapes = shapes
        self.term_for = term_for
        self.rules = list(rules)
        self._sparql_over = sparql
        self.sparql: SparqlRunner | None = None
        self.reference: Facts = {}
        self.reference_graph = Graph()
        self._memo: dict[tuple[Node, str], list[ShapeResult]] = {}
        self._compiled: dict[Node, _NodeShape] = {}
        self._failed: dict[Node, str] = {}
        self.reads_shapes = False  # a SPARQL constraint reads the shapes graph ($shapesGraph)
        self._component_params = {p for param in shapes.objects(None, SH.parameter) for p in shapes.objects(param, SH.path)}
        for query, prebound in _queries_of(shapes):
            vet_query(query, prebound)
        #: Shapes pyshacl evaluates, and why the fast path does not.
        self.delegated: dict[Node, str] = {}
        self.targeted: list[_NodeShape] = []
        delegated_targets: dict[Node, Targets] = {}
        #: Targeted shapes compiled but for some property shapes: (the shape, those property shapes).
        parts: list[tuple[Node, list[Node], Targets]] = []
        for shape in sorted(_targeted_shapes(shapes), key=str):
            if shapes.value(shape, SH.deactivated) == Literal(True):
                continue
            try:
                compiled = self._top_shape(shape)
            except _NotNative as reason:
                self.delegated[shape] = str(reason)
                delegated_targets[shape] = self._targets(shape)
                continue
            self.targeted.append(compiled)
            if compiled.delegated_properties:
                self.delegated[shape] = "property shapes " + ", ".join(str(p) for p in compiled.delegated_properties)
                parts.append((shape, compiled.delegated_properties, compiled.targets))
        self._by_class: dict[str, list[_NodeShape]] = {}
        self._by_category: dict[str, list[_NodeShape]] = {}
        self._by_node: dict[str, list[_NodeShape]] = {}
        self._by_subject_of: dict[str, list[_NodeShape]] = {}
        self._by_object_of: dict[str, list[_NodeShape]] = {}
        for compiled in self.targeted:
            t = compiled.targets
            for key, index_ in ((t.classes, self._by_class), (t.nodes, self._by_node),
                                (t.subjects_of, self._by_subject_of), (t.objects_of, self._by_object_of)):
                for k in key:
                    index_.setdefault(k, []).append(compiled)
            if t.category is not None:
                self._by_category.setdefault(t.category, []).append(compiled)
        self.delegation = Delegation(shapes, delegated_targets, parts) if self.delegated else None
        self.sparql_predicates = _predicates_read([q.select for s in self._compiled.values() for q in s.sparql])

    def set_reference(self, reference: Graph) -> None:
        """Index the code lists and reference data every validation reads (and stage them for SPARQL)."""
        self.reference = index(reference)
        self.reference_graph = reference
        self._memo.clear()
        if self._sparql_over is not None:
            wanted = self.sparql_predicates  # only what the queries can match is staged
            self.sparql = self._sparql_over([t for t in reference if wanted is None or term(t[1]) in wanted],
                                            self.shapes if self.reads_shapes else ())

    # ------------------------------------------------------------------ compiling

    def _targets(self, iri: Node) -> Targets:
        g = self.shapes
        category = g.value(iri, FMAR_FOR_CATEGORY)
        classes = [term(c) for c in g.objects(iri, SH.targetClass)]
        if _is_class(g, iri):
            classes.append(term(iri))
        return Targets(classes=classes, nodes=[term(n) for n in g.objects(iri, SH.targetNode)],
                        subjects_of=[term(p) for p in g.objects(iri, SH.targetSubjectsOf)],
                        objects_of=[term(p) for p in g.objects(iri, SH.targetObjectsOf)],
                        category=None if category is None else term(category),
                        anything=any(category is None or t != _category_target(g, category)
                                     for t in g.objects(iri, SH.target)))

    def _top_shape(self, iri: Node) -> _NodeShape:
        """A targeted shape, compiled: a node shape, or a property shape checked on its targets."""
        targets = self._targets(iri)
        if targets.anything:
            raise _NotNative(f"shape {iri} has a SPARQL-based target")
        if self.shapes.value(iri, SH.path) is None:
            shape = self._node_shape(iri, top=True)
        else:
            shape = _NodeShape(iri)
            prop = self._property_shape(iri)
            if prop is not None:
                shape.properties.append(prop)
        shape.targets = targets
        return shape

    def _node_shape(self, iri: Node, top: bool = False) -> _NodeShape:
        """A node shape, compiled once. A targeted one (``top``) may leave property shapes to pyshacl; one
        reached by ``sh:node`` is compiled whole or not at all."""
        if iri in self._failed:
            raise _NotNative(self._failed[iri])
        if iri in self._compiled:
            found = self._compiled[iri]
            if found.delegated_properties and not top:
                raise _NotNative(f"shape {iri}, reached by sh:node, has property shapes pyshacl evaluates")
            return found
        shape = self._compiled[iri] = _NodeShape(iri)
        try:
            self._compile_node_shape(shape, top)
        except _NotNative as reason:
            del self._compiled[iri]
            self._failed[iri] = str(reason)
            raise
        return shape

    def _compile_node_shape(self, shape: _NodeShape, top: bool = False) -> None:
        g, iri = self.shapes, shape.iri
        if g.value(iri, SH.path) is not None:
            raise _NotNative(f"shape {iri} is a property shape used as a node shape")
        shape.message = _text(g.value(iri, SH.message))
        shape.severity = g.value(iri, SH.severity) or SH.Violation  # type: ignore[assignment]
        if g.value(iri, SH.deactivated) == Literal(True):
            shape.deactivated = True
            return
        own = self._params(iri, _VALUE_PARAMS)
        if own:
            shape.properties.append(self._checks(_PropertyShape(iri, None, own, shape.message, shape.severity)))
        shape.closed = g.value(iri, SH.closed) == Literal(True)
        for prop_iri in g.objects(iri, SH.property):
            path = g.value(prop_iri, SH.path)
            if isinstance(path, URIRef):
                shape.allowed.add(term(path))  # a deactivated property shape's path is still declared
            try:
                prop = self._property_shape(prop_iri)
            except _NotNative:
                if not top:
                    raise
                shape.delegated_properties.append(prop_iri)  # pyshacl evaluates it (fmar.validation.delegate)
                continue
            if prop is not None:
                shape.properties.append(prop)
        ignored = g.value(iri, SH.ignoredProperties)
        if ignored is not None:
            shape.allowed |= {term(p) for p in Collection(g, ignored)}
        for constraint in g.objects(iri, SH.sparql):
            if g.value(constraint, SH.deactivated) == Literal(True):
                continue
            select = g.value(constraint, SH.select)
            if select is None:
                raise _NotNative(f"shape {iri}: a SPARQL constraint without sh:select")
            text = _prefixes(g, constraint) + str(select)
            if _OTHER_PREBOUND.search(text) or "failure" in _projected(text):
                raise _NotNative(f"shape {iri}: a SPARQL constraint pre-binds $PATH or reports failures")
            if re.search(r"[?$]currentShape\b", text):
                if not isinstance(iri, URIRef):
                    raise _NotNative(f"shape {iri}: $currentShape of a blank node")
                text = substitute(text, "currentShape", term(iri))
            if re.search(r"[?$]shapesGraph\b", text):
                text = substitute(text, "shapesGraph", f"<{SHAPES_GRAPH}>")
                self.reads_shapes = True
            shape.sparql.append(_Sparql(constraint, text, _text(g.value(constraint, SH.message)), _binds_this(text)))

    def _property_shape(self, iri: Node) -> _PropertyShape | None:
        """A property shape with a predicate path, compiled; None when it is deactivated."""
        g = self.shapes
        path = g.value(iri, SH.path)
        if not isinstance(path, URIRef):
            raise _NotNative(f"property shape {iri}: a path expression")
        if g.value(iri, SH.deactivated) == Literal(True):
            return None
        if (iri, SH.sparql, None) in g or (iri, SH.property, None) in g:
            raise _NotNative(f"property shape {iri}: sh:sparql or sh:property on a property shape")
        params = self._params(iri, _VALUE_PARAMS | _PROPERTY_PARAMS)
        return self._checks(_PropertyShape(iri, path, params, _text(g.value(iri, SH.message)),
                                           g.value(iri, SH.severity) or SH.Violation, path_nt=term(path),
                                           checks_absence=any(p in _ABSENCE for p, _ in params)))

    def _params(self, iri: Node, allowed: set[URIRef]) -> list[tuple[Node, Node]]:
        """The constraint parameters of a shape; anything the fast path does not compile is delegated."""
        params = []
        for p, o in self.shapes.predicate_objects(iri):
            if p in allowed:
                params.append((p, o))
            elif (str(p).startswith(str(SH)) and p not in _NOT_CONSTRAINTS) or p in self._component_params:
                raise _NotNative(f"shape {iri} uses {p}")
        return params

    def _checks(self, prop: _PropertyShape) -> _PropertyShape:
        """Each constraint parameter of a shape as a function of (node, values, view) → failures."""
        for param, arg in prop.params:
            name = "sh:" + str(param).split("#")[1]
            prop.checks.append((name, self._compile_param(param, arg, prop)))
        return prop

    def _compile_param(self, param: Node, arg: Node, prop: _PropertyShape) -> Check:  # noqa: C901 - one branch a component
        arg_nt = term(arg)
        if param == SH.minCount:
            least = int(str(arg))
            return lambda node, values, view: [(None, f"Less than {least} values", [])] if len(values) < least else []
        if param == SH.maxCount:
            most = int(str(arg))
            return lambda node, values, view: [(None, f"More than {most} values", [])] if len(values) > most else []
        if param == SH.datatype:
            datatype = str(arg)
            return lambda node, values, view: [(v, f"Value is not a well-formed {arg}", []) for v in values
                                               if not _has_datatype(v, datatype)]
        if param == SH["class"]:
            return lambda node, values, view: [(v, f"Value is not an instance of {arg}", []) for v in values
                                               if not view.instance_of(v, arg_nt)]
        if param == SH.nodeKind:
            kinds = _NODE_KINDS.get(arg)  # type: ignore[call-overload]
            if kinds is None:
                raise ShapeError(f"{arg} is not a node kind")
            return lambda node, values, view: [(v, f"Value is not of node kind {arg}", []) for v in values
                                               if _kind(v) not in kinds]
        if param == SH.hasValue:
            return lambda node, values, view: [] if arg_nt in values else [(None, f"Missing expected value {arg}", [])]
        if param == SH["in"]:
            allowed = {term(member) for member in Collection(self.shapes, arg)}
            return lambda node, values, view: [(v, "Value is not in the allowed list", []) for v in values
                                               if v not in allowed]
        if param == SH.languageIn:
            ranges = {str(r).lower() for r in Collection(self.shapes, arg)}
            return lambda node, values, view: [(v, "Value's language is not allowed", []) for v in values
                                               if not _language_in(v, ranges)]
        if param == SH.uniqueLang:
            if arg != Literal(True):
                return lambda node, values, view: []
            return lambda node, values, view: [(None, f"More than one value in language {tag}", [])
                                               for tag in _repeated_languages(values)]
        if param == SH.node:
            target = self._node_shape(arg)  # refuses a shape that leaves property shapes to pyshacl
            if target.sparql:  # only targeted shapes' SPARQL runs natively: pyshacl evaluates this one
                raise _NotNative(f"shape {arg}, reached by sh:node, has SPARQL constraints")

            def node_check(focus: str, values: list[str], view: _View) -> list[Failure]:
                failures: list[Failure] = []
                for v in values:
                    details = self._check_reference_node(target, v, view)
                    if details:
                        failures.append((v, f"Value does not conform to {arg}", details))
                return failures
            return node_check
        if param == SH.pattern:
            flags = str(self.shapes.value(prop.iri, SH.flags) or "").lower()  # as pyshacl reads them
            regex = re.compile(str(arg), (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0))
            return lambda node, values, view: [(v, f"Value does not match the pattern {arg}", []) for v in values
                                               if v[0] == "_" or not regex.search(parts(v)[0])]
        if param in (SH.minLength, SH.maxLength):
            limit, shortest = int(str(arg)), param == SH.minLength
            return lambda node, values, view: [
                (v, f"Value length violates {param} {limit}", []) for v in values
                if v[0] == "_" or (len(parts(v)[0]) < limit if shortest else len(parts(v)[0]) > limit)]
        if str(param) in _RANGES:
            op = _RANGES[str(param)]  # as the spec says: a value that cannot be compared does not conform
            return lambda node, values, view: [(v, f"Value violates {op} {arg}", []) for v in values
                                               if not _compare_ok(v, arg_nt, op)]
        if param in (SH.lessThan, SH.lessThanOrEquals):
            op = "<" if param == SH.lessThan else "<="
            return lambda node, values, view: [(v, f"Value is not {op} {parts(o)[0]}", []) for v in values
                                               for o in view.objects(node, arg_nt) if not _compare_ok(v, o, op)]
        if param == SH.disjoint:
            return lambda node, values, view: [(v, f"Value is also a value of {arg}", []) for v in values
                                               if v in view.objects(node, arg_nt)]
        if param == SH.equals:
            return lambda node, values, view: [(v, f"Values differ from those of {arg}", [])
                                               for v in set(values) ^ set(view.objects(node, arg_nt))]
        raise _NotNative(f"{param} is not compiled")

    # ------------------------------------------------------------------ validating

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        """Validate ``focus`` nodes of ``data`` with ``context`` (linked records) and the reference beside it."""
        return self.validate_facts(index(data), [term(f) for f in focus], index(context))

    def validate_facts(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """Validate records given as facts (the batch entry point): every result, sorted."""
        results = self.core(facts, focus, linked) + self.in_context(facts, focus, linked)
        return sorted(set(results), key=lambda r: (r.severity, r.path, r.message))

    def core(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """Every result but those of SPARQL constraints: the part that reads only the records, the linked
        records and the reference data, so it can run before the write lock is taken. Delegated shapes are
        evaluated here, by pyshacl, over the same data."""
        view = _View(facts, linked or {}, self.reference)
        trees: list[ShapeResult] = []
        for f in focus:
            for shape in self._shapes_of(f, view):
                trees += self._check_node(shape, f, view)
        if self.delegation is not None:
            trees += self.delegation.evaluate(facts, linked or {}, self.reference_graph, focus, view)
        results = flatten(trees, _names(focus), self.term_for) if trees else []
        if self.rules:
            graph = FactsGraph(facts)
            for rule in self.rules:
                for subject, predicate, value, message, constraint in rule(graph):
                    results.append(Result(result_path(subject, predicate, _names(focus), self.term_for), str(value),
                                          message, constraint, "Violation", str(subject)))
        return results

    def in_context(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """The results of the SPARQL constraints, run over the records, the linked records and whatever
        else the write path found (other records of the store), and the reference data."""
        view = _View(facts, linked or {}, self.reference)
        nodes_of: dict[_NodeShape, list[str]] = {}
        for f in focus:
            for shape in self._shapes_of(f, view):
                if shape.sparql:
                    nodes_of.setdefault(shape, []).append(f)
        trees = self._sparql_results(nodes_of, [facts, linked or {}])
        return flatten(trees, _names(focus), self.term_for) if trees else []

    def _sparql_results(self, nodes_of: dict[_NodeShape, list[str]], sources: list[Facts]) -> list[ShapeResult]:
        jobs = [(shape, s, nodes_of[shape]) for shape in self.targeted if shape in nodes_of for s in shape.sparql]
        if not jobs:
            return []
        if self.sparql is None:
            raise ShapeError("SPARQL constraints need a SPARQL runner")
        queries: list[Query] = []
        spans = []
        for _, job, nodes in jobs:
            start = len(queries)
            if job.free:
                queries.append((job.select, None))
            else:  # each focus node substituted for $this, as SHACL pre-binds (a blank node by a binding)
                for node in nodes:
                    bound = pre_bind(job.select, node)
                    queries.append((job.select, [node]) if bound is None else (bound, None))
            spans.append((start, len(queries)))
        answers = self.sparql.select_over(sources, queries, self.sparql_predicates)
        trees = []
        for (shape, job, nodes), (start, end) in zip(jobs, spans, strict=True):
            failed = next((a for a in answers[start:end] if isinstance(a, QueryFailed)), None)
            if failed is not None:  # the constraint cannot be evaluated: its focus nodes do not conform
                trees += [ShapeResult(to_node(n), None, to_node(n), _constraint_name(job.iri),
                                      f"the SPARQL constraint could not be evaluated: {failed}", SH.Violation, shape.iri,
                                      [], declared=True, component=SH.SPARQLConstraintComponent, source=job.iri)
                          for n in nodes]
                continue
            rows: list[dict[str, Node]] = []
            for i, answer in enumerate(answers[start:end]):
                assert not isinstance(answer, QueryFailed)  # noqa: S101 - handled above
                if not job.free:  # a substituted $this is still the row's focus node
                    for row in answer:
                        row.setdefault("this", to_node(nodes[i]))
                rows += answer
            names = frozenset(nodes) if job.free else None
            for row in rows:
                if names is not None and term(row["this"]) not in names:
                    continue  # an unbound run also answers for other nodes: linked or context records
                message = job.message or shape.message
                if message is not None:
                    message = _fill(message, row)
                trees.append(ShapeResult(row["this"], row.get("path"), row.get("value", row["this"]),
                                         _constraint_name(job.iri), message, shape.severity, shape.iri, [],
                                         declared=message is not None, component=SH.SPARQLConstraintComponent,
                                         source=job.iri))
        return trees

    def report(self, data: Graph) -> list[ShapeResult]:
        """Validate a whole data graph: every target of every shape, with no reference data (the W3C suite's
        way); every result, each with the details that explain it."""
        facts = index(data)
        view = _View(facts, {}, self.reference)
        trees: list[ShapeResult] = []
        nodes_of: dict[_NodeShape, list[str]] = {}
        for shape in self.targeted:
            for f in _focus_nodes(shape.targets, view, facts):
                trees += self._check_node(shape, f, view)
                if shape.sparql:
                    nodes_of.setdefault(shape, []).append(f)
        trees += self._sparql_results(nodes_of, [facts])
        if self.delegation is not None:
            trees += self.delegation.run(data)
        return trees

    def _shapes_of(self, focus: str, view: _View) -> list[_NodeShape]:
        """The compiled shapes that target a node: by its classes, its category, itself, its predicates."""
        own = view.props(focus)
        shapes = [s for c in view.classes_of(focus) for s in self._by_class.get(c, _NO_SHAPES)]
        shapes += [s for c in own.get(_ASSET_CATEGORY, _NONE) for s in self._by_category.get(c, _NO_SHAPES)]
        if self._by_node:
            shapes += self._by_node.get(focus, _NO_SHAPES)
        if self._by_subject_of:
            shapes += [s for p in own for s in self._by_subject_of.get(p, _NO_SHAPES)]
        if self._by_object_of:
            shapes += [s for p, found in self._by_object_of.items() if view.is_object_of(focus, p) for s in found]
        return shapes if len(shapes) < 2 else list(dict.fromkeys(shapes))

    def _check_node(self, shape: _NodeShape, focus: str, view: _View) -> list[ShapeResult]:
        """Every failure of ``focus`` against ``shape`` (SPARQL constraints aside), as result trees."""
        if shape.deactivated:
            return []
        out: list[ShapeResult] = []
        sev = shape.severity
        own = view.props(focus)
        for prop in shape.properties:
            values = [focus] if prop.path is None else own.get(prop.path_nt, _NONE)
            if not values and not prop.checks_absence:
                continue
            for component, check in prop.checks:
                for value, default, details in check(focus, values, view):
                    out.append(ShapeResult(as_written(focus), prop.path, None if value is None else as_written(value), component,
                                           prop.message or default, prop.severity, prop.iri, details,
                                           declared=prop.message is not None))
        if shape.closed:
            for p, values in own.items():
                if p not in shape.allowed:
                    predicate = to_node(p)
                    out += [ShapeResult(as_written(focus), predicate, as_written(v), "sh:closed",
                                        shape.message or f"{predicate} is not allowed here", sev, shape.iri, [],
                                        declared=shape.message is not None) for v in values]
        return out

    def _check_reference_node(self, shape: _NodeShape, focus: str, view: _View) -> list[ShapeResult]:
        """As :meth:`_check_node`; a code-list concept's answer is remembered (the reference data is fixed)."""
        if not view.only_in_reference(focus):
            return self._check_node(shape, focus, view)
        key = (shape.iri, focus)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._check_node(shape, focus, view)
        return found


def _targeted_shapes(shapes: Graph) -> set[Node]:
    """Every shape with a target: explicit, a category, or implicit (a shape that is also a class)."""
    found = {s for t in _TARGETS for s in shapes.subjects(t, None)} | set(shapes.subjects(FMAR_FOR_CATEGORY, None))
    for kind in (SH.NodeShape, SH.PropertyShape):
        found |= {s for s in shapes.subjects(RDF.type, kind) if _is_class(shapes, s)}
    return found


def _is_class(g: Graph, node: Node) -> bool:
    return isinstance(node, URIRef) and ((node, RDF.type, RDFS.Class) in g or (node, RDF.type, OWL.Class) in g)


def _category_target(g: Graph, category: Node) -> Node | None:
    """The SPARQL target :func:`fmar.validation.shacl.target_categories` gave a category shape."""
    for shape in g.subjects(FMAR_FOR_CATEGORY, category):
        for target in g.objects(shape, SH.target):
            if "assetCategory" in str(g.value(target, SH.select) or ""):
                return target
    return None


def _focus_nodes(targets: Targets, view: _View, facts: Facts) -> list[str]:
    """The focus nodes of a shape's targets in a whole data graph."""
    found: dict[str, None] = dict.fromkeys(targets.nodes)
    if targets.classes:
        wanted = set(targets.classes)
        for subject, po in facts.items():
            if any(c in wanted for c in view.classes_of(subject)) and po.get(_RDF_TYPE):
                found[subject] = None
    for subject, po in facts.items():
        if any(p in po for p in targets.subjects_of):
            found[subject] = None
        for p in targets.objects_of:
            for o in po.get(p, _NONE):
                found[o] = None
        if targets.category is not None and targets.category in po.get(_ASSET_CATEGORY, _NONE):
            found[subject] = None
    return list(found)


def _queries_of(shapes: Graph) -> Iterator[tuple[str, bool]]:
    """Every SPARQL query of a shapes graph (constraints, components' validators, targets), with its prefixes,
    and whether variables are pre-bound in it (all but targets)."""
    targets = set(shapes.objects(None, SH.target))
    for predicate in (SH.select, SH.ask):
        for node, text in shapes.subject_objects(predicate):
            yield _prefixes(shapes, node) + str(text), node not in targets


#: What a query with pre-bound variables must not use (SHACL 5.2.1.1), by rdflib's syntax names.
_NOT_WITH_PREBINDING = {"MinusGraphPattern": "MINUS", "InlineData": "VALUES", "ValuesClause": "VALUES",
                        "SubSelectWithoutThis": "a nested SELECT that does not project $this"}
_PREBOUND = {"this", "PATH", "currentShape", "shapesGraph", "value"}


def vet_query(text: str, prebound: bool = True) -> None:
    """Refuse a query that does not parse, that could reach the network (``SERVICE``, ``FROM``), or (with
    pre-bound variables) that uses what SHACL rules out beside them (MINUS, VALUES, nested SELECT, AS $this)."""
    syntax = _syntax(_placeholders(text))
    if syntax is None:
        raise ShapeError(f"a SPARQL query of the shapes does not parse: {text[:200]!r}")
    names: set[str] = set()
    bound: set[str] = set()
    _walk_syntax(syntax, names, bound)
    if "ServiceGraphPattern" in names or "DatasetClause" in names:
        raise ShapeError("a SPARQL query of the shapes names SERVICE or FROM, which would reach the network")
    if prebound:
        for name, what in _NOT_WITH_PREBINDING.items():
            if name in names:
                raise ShapeError(f"a SPARQL-based constraint may not use {what} (SHACL 5.2.1.1): {text[:200]!r}")
        if bound & _PREBOUND:
            raise ShapeError(f"a SPARQL-based constraint may not assign a pre-bound variable: {text[:200]!r}")


@lru_cache(maxsize=1024)
def _syntax(text: str) -> Any:
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        return parseQuery(text)
    except Exception:  # noqa: BLE001 - any parse failure means the query is refused
        return None


def _walk_syntax(x: Any, names: set[str], bound: set[str]) -> None:
    from pyparsing import ParseResults

    if isinstance(x, CompValue):
        names.add(x.name)
        if x.name == "Bind":
            bound.add(str(dict.get(x, "var")))
        if x.name == "vars" and dict.get(x, "evar") is not None:
            bound.add(str(dict.get(x, "evar")))
        if x.name == "SubSelect" and not any(str(dict.get(v, "var")) == "this"
                                             for v in dict.get(x, "projection") or ()):
            names.add("SubSelectWithoutThis")
        if dict.get(x, "datasetClause"):
            names.add("DatasetClause")
        for v in x.values():
            _walk_syntax(v, names, bound)
    elif isinstance(x, list | tuple | ParseResults):
        for v in x:
            _walk_syntax(v, names, bound)


def _placeholders(text: str) -> str:
    """``$PATH`` (a path, substituted before the query runs) as a parseable predicate."""
    return text.replace("$PATH", "<urn:fmar:path>")


def _prefixes(g: Graph, node: Node) -> str:
    """The PREFIX declarations ``sh:prefixes`` gives a SPARQL-based constraint, validator or target."""
    lines = []
    holders, todo = set(), list(g.objects(node, SH.prefixes))
    while todo:  # each holder and what it imports
        holder = todo.pop()
        if holder not in holders:
            holders.add(holder)
            todo += g.objects(holder, OWL.imports)
    for holder in holders:
        for declaration in g.objects(holder, SH.declare):
            prefix, namespace = g.value(declaration, SH.prefix), g.value(declaration, SH.namespace)
            if prefix is None or namespace is None:
                raise ShapeError(f"a prefix declaration of {holder} needs sh:prefix and sh:namespace")
            lines.append(f"PREFIX {prefix}: <{namespace}>\n")
    return "".join(sorted(set(lines)))


def _projected(text: str) -> set[str]:
    algebra = _algebra(text)
    if algebra is None:
        return set()
    return {str(v) for v in getattr(algebra, "_vars", ())}


def _fill(message: str, row: dict[str, Node]) -> str:
    """A message template's ``{?var}`` and ``{$var}`` filled from the result's bindings (as pyshacl does)."""
    for name, value in row.items():
        message = message.replace("{?" + name + "}", str(value)).replace("{$" + name + "}", str(value))
    return message


_NODE_KINDS = {SH.IRI: {"iri"}, SH.BlankNode: {"blank"}, SH.Literal: {"literal"}, SH.BlankNodeOrIRI: {"blank", "iri"},
               SH.BlankNodeOrLiteral: {"blank", "literal"}, SH.IRIOrLiteral: {"iri", "literal"}}


def _kind(nt: str) -> str:
    return {"<": "iri", "_": "blank"}.get(nt[0], "literal")


def _language_in(nt: str, ranges: set[str]) -> bool:
    """Whether a literal's language is one of ``ranges`` (or its first subtag is; ``*``: any), as pyshacl reads it."""
    if nt[0] != '"':
        return False
    language = parts(nt)[2]
    if not language:
        return False
    language = language.lower()
    return "*" in ranges or language in ranges or language.split("-")[0] in ranges


def _repeated_languages(values: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for v in values:
        if v[0] == '"':
            language = parts(v)[2]
            if language:
                seen[language.lower()] = seen.get(language.lower(), 0) + 1
    return [tag for tag, n in seen.items() if n > 1]


class _View:
    """Facts of the batch, then of linked records, then of the reference data."""

    __slots__ = ("sources", "_objects_of")

    def __init__(self, facts: Facts, linked: Facts, reference: Facts) -> None:
        self.sources = (facts, linked, reference)
        self._objects_of: dict[str, set[str]] = {}

    def classes_of(self, node: str) -> list[str]:
        """A node's classes: its types and their superclasses (``rdfs:subClassOf``, transitively)."""
        found = list(self.objects(node, _RDF_TYPE))
        for c in found:
            found += [sup for sup in self.objects(c, _SUBCLASS) if sup not in found]
        return found

    def instance_of(self, node: str, cls: str) -> bool:
        return cls in self.classes_of(node)

    def is_object_of(self, node: str, predicate: str) -> bool:
        """Whether some triple of the view has ``node`` as its object and ``predicate`` as its predicate."""
        objects = self._objects_of.get(predicate)
        if objects is None:
            objects = self._objects_of[predicate] = {o for source in self.sources for po in source.values()
                                                     for o in po.get(predicate, _NONE)}
        return node in objects

    def objects(self, subject: str, predicate: str) -> list[str]:
        for source in self.sources:
            found = source.get(subject)
            if found is not None and predicate in found:
                return found[predicate]
        return []

    def only_in_reference(self, subject: str) -> bool:
        facts, linked, reference = self.sources
        return subject in reference and subject not in facts and subject not in linked

    def props(self, subject: str) -> dict[str, list[str]]:
        """Predicate → objects of a subject; a predicate's objects come from the first source that has them."""
        found = [source[subject] for source in self.sources if subject in source]
        if len(found) == 1:
            return found[0]
        merged: dict[str, list[str]] = {}
        for po in found:
            for p, objects in po.items():
                merged.setdefault(p, objects)
        return merged


def index(triples: Iterable[tuple[Node, Node, Node]] | None) -> Facts:
    """Subject → predicate → objects of rdflib triples (a graph), as N-Triples strings."""
    return index_terms((term(s), term(p), term(o)) for s, p, o in triples or ())


def index_terms(triples: Iterable[tuple[str, str, str]]) -> Facts:
    """Subject → predicate → objects of triples already in N-Triples form."""
    facts: Facts = {}
    for s, p, o in triples:
        po = facts.get(s)
        if po is None:
            facts[s] = {p: [o]}
        elif p in po:
            po[p].append(o)
        else:
            po[p] = [o]
    return facts


def _names(focus: list[str]) -> frozenset[str]:
    return frozenset(f[1:-1] for f in focus)


def _predicates_read(selects: Sequence[str]) -> frozenset[str] | None:
    """The predicates the SPARQL constraints can match (N-Triples), so only those triples need staging;
    None when a query could match any predicate (a variable in predicate position, a negated path)."""
    found: set[str] = set()

    def in_path(p: Any) -> bool:
        if isinstance(p, URIRef):
            found.add(term(p))
            return True
        if isinstance(p, AlternativePath | SequencePath):
            return all(in_path(a) for a in p.args)
        if isinstance(p, InvPath):
            return in_path(p.arg)
        if isinstance(p, MulPath):
            return in_path(p.path)
        if isinstance(p, CompValue) and p.name in _RAW_PATHS:  # paths inside EXISTS stay as parsed
            return all(in_path(v) for k, v in p.items() if k in ("part", "path"))
        if isinstance(p, list):
            return all(in_path(v) for v in p)
        return False  # a variable, a negated path, anything unforeseen: every predicate may match

    def walk(x: Any) -> bool:
        if isinstance(x, CompValue):
            if x.name == "BGP" and not all(in_path(p) for _, p, _ in x.triples):
                return False
            if x.name == "TriplesBlock" and not all(in_path(p) for flat in x.triples for p in flat[1::3]):
                return False
            return all(walk(v) for v in x.values())
        if isinstance(x, list | tuple | set):
            return all(walk(v) for v in x)
        return True

    for select in selects:
        algebra = _algebra(select)
        if algebra is None or not walk(algebra):  # a query rdflib cannot read is staged in full, never half
            return None
    return frozenset(found)


_RAW_PATHS = {"PathAlternative", "PathSequence", "PathElt", "PathEltOrInverse"}


def _binds_this(select: str) -> bool:
    """Whether every solution of the query binds ``$this`` through a triple pattern of its top-level group
    (then pre-binding ``$this`` equals running the query unbound and keeping the rows of the focus node)."""
    this = Variable("this")

    def binds(x: Any) -> bool:
        if not isinstance(x, CompValue):
            return False
        if x.name == "BGP":
            return any(this in (s, o) for s, _, o in x.triples)
        if x.name in ("SelectQuery", "Distinct", "Reduced", "Project", "Filter"):
            return binds(x.p)
        if x.name == "Extend":
            return x.var != this and binds(x.p)
        if x.name == "Join":
            return binds(x.p1) or binds(x.p2)
        if x.name in ("LeftJoin", "Minus"):
            return binds(x.p1)
        if x.name == "Union":
            return binds(x.p1) and binds(x.p2)
        return False  # LIMIT, GROUP BY, VALUES, GRAPH, SERVICE, subqueries: pre-bind, as the spec says

    def mentions(x: Any) -> bool:
        if isinstance(x, CompValue):
            return any(mentions(v) for v in x.values())
        if isinstance(x, list | tuple):
            return any(mentions(v) for v in x)
        return bool(x == this)

    def unsafe(x: Any, top: bool) -> bool:
        """Whether ``$this`` is read where a binding made only by the top-level join would not reach yet."""
        if not isinstance(x, CompValue):
            return False
        if x.name in ("SelectQuery", "Distinct", "Reduced", "Project"):
            return unsafe(x.p, top)
        if x.name == "Filter":
            return (not top and mentions(x.expr)) or unsafe(x.p, top)
        if x.name == "Extend":  # a projected expression or a BIND: over the pattern below it, as it stands
            return mentions(x.expr) or unsafe(x.p, top)
        if x.name == "LeftJoin":
            return mentions(x.expr) or unsafe(x.p1, False) or unsafe(x.p2, False)
        if x.name in ("Join", "Union", "Minus"):
            return unsafe(x.p1, False) or unsafe(x.p2, False)
        return x.name != "BGP"

    algebra = _algebra(select)  # a query rdflib cannot read is pre-bound, never run unbound
    return algebra is not None and binds(algebra) and not unsafe(algebra, True)


#: Strings, IRIs and comments (skipped), ``$this``/``?this``, and the brace that ends the projection.
_TOKENS = re.compile(r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>"""
                     r"""|#[^\n]*|(?-i:[?$][A-Za-z_][A-Za-z0-9_]*)|\{|\bSELECT\b""",
                     re.DOTALL | re.IGNORECASE)


def pre_bind(select: str, this: str) -> str | None:
    """The query with ``$this`` replaced by a focus node (an N-Triples IRI or literal), as SHACL defines
    pre-binding; the projection keeps a ``this`` column. None for a blank node, which a query cannot name."""
    return None if this.startswith("_:") else substitute(select, "this", this)


def substitute(select: str, name: str, value: str) -> str:
    """Every ``$name``/``?name`` of a query replaced by ``value`` (an N-Triples IRI or literal); in a projection,
    ``(value AS ?name)``; ``bound($name)`` is true."""
    select = re.sub(r"(?i:\bbound)\s*\(\s*[?$]" + name + r"\s*\)", "(true)", select)
    out, last, in_projection = [], 0, True
    for match in _TOKENS.finditer(select):
        token = match.group()
        if token == "{":  # noqa: S105 - a SPARQL token
            in_projection = False
        elif token.upper() == "SELECT":
            in_projection = True
        elif token[0] in "?$" and token[1:] == name:
            out.append(select[last:match.start()])
            out.append(f"({value} AS ?{name})" if in_projection else value)
            last = match.end()
    return "".join(out) + select[last:]


@lru_cache(maxsize=1024)
def _algebra(select: str) -> CompValue | None:
    """rdflib's algebra of a constraint's query, read once (its parser takes tens of milliseconds a query)."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra: CompValue = prepareQuery(select).algebra
    except Exception:  # noqa: BLE001 - any parse failure means: do not reason about this query
        return None
    return algebra


def _constraint_name(iri: Node) -> str:
    text = str(iri)
    if isinstance(iri, URIRef):
        return "fmarsh:" + text.split("#")[-1] if "fmar/shapes#" in text else text
    return "sh:sparql"


def _text(value: Node | None) -> str | None:
    return None if value is None else str(value)


_RANGES = {str(SH.minInclusive): ">=", str(SH.minExclusive): ">", str(SH.maxInclusive): "<=", str(SH.maxExclusive): "<"}
_DATE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


_NUMERIC = frozenset(str(XSD[t]) for t in ("decimal", "integer", "int", "long", "double", "float", "nonNegativeInteger"))
_FLOATING = frozenset((str(XSD.double), str(XSD.float)))
_XSD_DATE, _XSD_DATETIME, _XSD_STRING = str(XSD.date), str(XSD.dateTime), str(XSD.string)


@lru_cache(maxsize=65536)
def as_written(nt: str) -> Node:
    """The rdflib term of an N-Triples term, a literal's lexical form kept as written (a result quotes it)."""
    if nt[0] != '"':
        return to_node(nt)
    text, datatype, language = parts(nt)
    if language:
        return Literal(text, lang=language)
    return Literal(text, datatype=None if datatype in (None, _XSD_STRING) else URIRef(datatype), normalize=False)


@lru_cache(maxsize=65536)
def _parsed(text: str, datatype: str) -> Any:
    if datatype == _XSD_STRING:
        return text  # strings compare by code points, as SPARQL's operators do
    try:
        if datatype in _NUMERIC:
            return Decimal(text) if _DECIMAL.match(text) or datatype in _FLOATING else None
        if datatype == _XSD_DATE:
            return date.fromisoformat(text[:10]) if _DATE.match(text) else None
        if datatype == _XSD_DATETIME:
            return datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else None
    except (ValueError, InvalidOperation):
        return None
    return None


def _value(nt: str) -> Any:
    """The comparable value of a literal, or None when it is ill-typed or not comparable."""
    if nt[0] != '"':
        return None
    text, datatype, language = parts(nt)
    return None if language or datatype is None else _parsed(text, datatype)


def _compare_ok(left: str, right: str, op: str) -> bool:
    a, b = _value(left), _value(right)
    if a is None or b is None or type(a) is not type(b):
        return False
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:  # a time with a zone and one without: not comparable, so not conforming
        return False


_WELL_FORMED: dict[str, Callable[[str, str], bool]] = {
    str(XSD.decimal): lambda text, nt: bool(_DECIMAL.match(text)),
    str(XSD.integer): lambda text, nt: bool(_INTEGER.match(text)),
    str(XSD.date): lambda text, nt: _value(nt) is not None,
    str(XSD.dateTime): lambda text, nt: _value(nt) is not None,
    str(XSD.boolean): lambda text, nt: text in {"true", "false", "1", "0"},
    str(XSD.string): lambda text, nt: True,
}


def _has_datatype(nt: str, datatype: str) -> bool:
    if nt[0] != '"':
        return False
    text, actual, _ = parts(nt)
    if actual != datatype:
        return False
    check = _WELL_FORMED.get(datatype)
    return check(text, nt) if check else _well_formed(nt)


@lru_cache(maxsize=65536)
def _well_formed(nt: str) -> bool:
    """Whether a literal's lexical form is valid for its datatype, as rdflib reads it."""
    node = to_node(nt)
    return not getattr(node, "ill_typed", False)


class FactsGraph:
    """Just enough of rdflib's Graph over facts for the Python rules (``subject_objects``)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def subject_objects(self, predicate: Node) -> Iterator[tuple[Node, Node]]:
        wanted = term(predicate)
        for subject, po in self.facts.items():
            for obj in po.get(wanted, ()):
                yield to_node(subject), to_node(obj)
