"""The compiled SHACL validator: the shapes in ``shapes/`` compiled once, checked fast.

pyshacl rebuilds its view of the shapes and of the data on every call, which caps it near a
few hundred small records a second. This engine compiles the shapes graph once into plain
checks: the SHACL Core constraint components run in Python over each record's facts, and
SPARQL-based constraints run in Oxigraph (through :class:`fmar.store.oxigraph.Staging`) over
a whole batch at once. It reports exactly what :class:`fmar.validation.shacl.Validator`
(pyshacl) reports; ``tests/validation/test_engine_conformance.py`` holds the two to that.

Shapes may use: targets by class (and category shapes, ``fmar:forCategory``), ``sh:closed``
with ``sh:ignoredProperties``, property shapes with a predicate path and ``sh:minCount``,
``sh:maxCount``, ``sh:datatype``, ``sh:class``, ``sh:node``, ``sh:hasValue``, ``sh:in``,
``sh:pattern``/``sh:flags``, ``sh:minLength``, ``sh:maxLength``, ``sh:minInclusive``,
``sh:minExclusive``, ``sh:maxInclusive``, ``sh:maxExclusive``, ``sh:lessThan``,
``sh:lessThanOrEquals``, ``sh:disjoint``, ``sh:equals``, node-level ``sh:node`` and
``sh:sparql`` (SELECT), ``sh:message``, ``sh:severity``, ``sh:deactivated``. Anything else is
refused when the shapes are compiled, so a shape never silently means less than it says.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Protocol

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from fmar.validation.shacl import FMAR_FOR_CATEGORY, SH, Result, Rule, ShapeResult, flatten, result_path

Facts = dict[Node, dict[Node, list[Node]]]
#: (value, default message, details) of one failed constraint.
Failure = tuple[Node | None, str, list[ShapeResult]]
Check = Callable[[Node, list[Node], "_View"], list[Failure]]
_RDF_TYPE = RDF.type

_STRING = XSD.string
_LANG_STRING = RDF.langString
_SUPPORTED = {
    SH.targetClass, SH.property, SH.path, SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.node, SH.hasValue,
    SH["in"], SH.pattern, SH.flags, SH.minLength, SH.maxLength, SH.minInclusive, SH.minExclusive, SH.maxInclusive,
    SH.maxExclusive, SH.lessThan, SH.lessThanOrEquals, SH.disjoint, SH.equals, SH.sparql, SH.message, SH.severity,
    SH.deactivated, SH.closed, SH.ignoredProperties, SH.name, SH.description, SH.defaultValue, SH.order, SH.group,
    SH.target, RDF.type,
}


class SparqlRunner(Protocol):
    def select_over(self, triples: Iterable[tuple[Node, Node, Node]], queries: Sequence[str]) -> list[list[dict[str, Node]]]:
        """Run each SELECT over the reference data plus ``triples``."""


class ShapeError(ValueError):
    """A shape uses SHACL the engine does not implement (so it is refused rather than half-checked)."""


@dataclass
class _Sparql:
    iri: Node
    select: str
    message: str | None


@dataclass
class _PropertyShape:
    iri: Node
    path: URIRef
    params: list[tuple[Node, Node]]
    message: str | None
    severity: Node
    checks: list[tuple[str, Check]] = field(default_factory=list)


@dataclass
class _NodeShape:
    iri: Node
    properties: list[_PropertyShape] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    sparql: list[_Sparql] = field(default_factory=list)
    closed: bool = False
    allowed: set[Node] = field(default_factory=set)
    message: str | None = None
    severity: URIRef = SH.Violation
    classes: list[Node] = field(default_factory=list)
    category: Node | None = None


class CompiledValidator:
    """Validates records against compiled shapes; the same results as pyshacl, much sooner."""

    def __init__(self, shapes: Graph, term_for: dict[str, str], rules: Iterable[Rule] = (),
                 sparql: Callable[[Graph], SparqlRunner] | None = None) -> None:
        self.shapes = shapes
        self.term_for = term_for
        self.rules = list(rules)
        self._sparql_over = sparql
        self.sparql: SparqlRunner | None = None
        self.reference: Facts = {}
        self._memo: dict[tuple[Node, Node], list[ShapeResult]] = {}
        self._compiled: dict[Node, _NodeShape] = {}
        for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(SH.targetClass, None)),
                            key=str):
            self._node_shape(shape)
        self.targeted = [s for s in self._compiled.values() if s.classes or s.category is not None]

    def set_reference(self, reference: Graph) -> None:
        """Index the code lists and reference data every validation reads (and stage them for SPARQL)."""
        self.reference = index(reference)
        self._memo.clear()
        if self._sparql_over is not None:
            self.sparql = self._sparql_over(reference)

    # ------------------------------------------------------------------ compiling

    def _node_shape(self, iri: Node) -> _NodeShape:
        if iri in self._compiled:
            return self._compiled[iri]
        g = self.shapes
        shape = _NodeShape(iri)
        self._compiled[iri] = shape
        for p in set(g.predicates(iri, None)):
            if p not in _SUPPORTED and not str(p).startswith(("http://www.w3.org/2000/01/rdf-schema#",
                                                                "http://www.w3.org/2002/07/owl#",
                                                                "https://w3id.org/fmar#",
                                                                "http://www.w3.org/2004/02/skos/core#")):
                raise ShapeError(f"shape {iri} uses {p}, which the compiled validator does not implement")
        shape.message = _text(g.value(iri, SH.message))
        shape.severity = g.value(iri, SH.severity) or SH.Violation  # type: ignore[assignment]
        shape.classes = list(g.objects(iri, SH.targetClass))
        shape.category = g.value(iri, FMAR_FOR_CATEGORY)
        shape.closed = g.value(iri, SH.closed) == Literal(True)
        for prop_node in g.objects(iri, SH.property):
            prop = prop_node
            if g.value(prop, SH.deactivated) == Literal(True):
                continue
            path = g.value(prop, SH.path)
            if not isinstance(path, URIRef):
                raise ShapeError(f"shape {iri}: only predicate paths are supported, not {path!r}")
            params = [(p, o) for p, o in g.predicate_objects(prop)
                      if p not in {SH.path, SH.message, SH.severity, SH.name, SH.description, SH.defaultValue,
                                   SH.order, SH.group, RDF.type, SH.deactivated}]
            for p, _ in params:
                if p not in _SUPPORTED:
                    raise ShapeError(f"property shape of {path} in {iri} uses {p}, which is not implemented")
            shape.properties.append(_PropertyShape(prop, path, params, _text(g.value(prop, SH.message)),
                                                   g.value(prop, SH.severity) or SH.Violation))
            shape.allowed.add(path)
        ignored = g.value(iri, SH.ignoredProperties)
        if ignored is not None:
            shape.allowed |= set(Collection(g, ignored))
        shape.nodes = list(g.objects(iri, SH.node))
        for constraint in g.objects(iri, SH.sparql):
            select = g.value(constraint, SH.select)
            if select is None:
                raise ShapeError(f"shape {iri}: SPARQL constraints need sh:select")
            shape.sparql.append(_Sparql(constraint, str(select), _text(g.value(constraint, SH.message))))
        for node in shape.nodes:
            self._node_shape(node)
        for compiled in shape.properties:
            self._compile_checks(compiled)
        return shape

    # ------------------------------------------------------------------ validating

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        """Validate ``focus`` nodes of ``data`` with ``context`` (linked records) and the reference beside it."""
        facts = index(data)
        linked = index(context) if context is not None else {}
        return self.validate_facts(facts, list(focus), linked, data)

    def validate_facts(self, facts: Facts, focus: list[Node], linked: Facts | None = None,
                       data: Graph | None = None) -> list[Result]:
        """Validate records given as facts (subject → predicate → objects): the batch entry point."""
        view = _View(facts, linked or {}, self.reference)
        trees: list[ShapeResult] = []
        sparql_jobs: list[tuple[_NodeShape, _Sparql, list[Node]]] = []
        for shape in self.targeted:
            nodes = [f for f in focus if _targets(shape, f, view)]
            if not nodes:
                continue
            for node in nodes:
                trees += self._check_node(shape, node, view)
            sparql_jobs += [(shape, s, nodes) for s in shape.sparql]
        if sparql_jobs:
            trees += self._run_sparql(sparql_jobs, facts, linked or {})
        results = flatten(trees, focus, self.term_for)
        if self.rules:
            graph = data if data is not None else FactsGraph(facts)
            for rule in self.rules:
                for node, predicate, value, message, constraint in rule(graph):
                    results.append(Result(result_path(node, predicate, focus, self.term_for), str(value), message,
                                          constraint, "Violation", str(node)))
        return sorted(set(results), key=lambda r: (r.severity, r.path, r.message))

    def _check_node(self, shape: _NodeShape, node: Node, view: _View) -> list[ShapeResult]:
        """Every failure of ``node`` against ``shape`` (SPARQL constraints aside), as result trees."""
        out: list[ShapeResult] = []
        sev = shape.severity
        for prop in shape.properties:
            out += self._check_property(prop, node, view)
        for ref in shape.nodes:
            details = self._check_node(self._compiled[ref], node, view)
            if details:
                out.append(ShapeResult(node, None, node, "sh:node", shape.message, sev, shape.iri, details))
        if shape.closed:
            for p, values in view.out(node).items():
                if p not in shape.allowed:
                    out += [ShapeResult(node, p, v, "sh:closed", shape.message or f"{p} is not allowed here",
                                        sev, shape.iri, []) for v in values]
        return out

    def _check_reference_node(self, shape: _NodeShape, node: Node, view: _View) -> list[ShapeResult]:
        """As :meth:`_check_node`; a code-list concept's answer is remembered (the reference data is fixed)."""
        if not view.only_in_reference(node):
            return self._check_node(shape, node, view)
        key = (shape.iri, node)
        if key not in self._memo:
            self._memo[key] = self._check_node(shape, node, view)
        return self._memo[key]

    def _check_property(self, prop: _PropertyShape, node: Node, view: _View) -> list[ShapeResult]:
        values = view.objects(node, prop.path)
        out: list[ShapeResult] = []
        for component, check in prop.checks:
            for value, default, details in check(node, values, view):
                out.append(ShapeResult(node, prop.path, value, component, prop.message or default, prop.severity,
                                       prop.iri, details, declared=prop.message is not None))
        return out

    def _compile_checks(self, prop: _PropertyShape) -> None:
        """Each constraint parameter of a property shape as a function of (node, values, view) → failures."""
        for param, arg in prop.params:
            if param == SH.flags:
                continue
            name = "sh:" + str(param).split("#")[1]
            prop.checks.append((name, self._compile_param(param, arg, prop)))

    def _compile_param(self, param: Node, arg: Node, prop: _PropertyShape) -> Check:  # noqa: C901 - one branch a component
        if param == SH.minCount:
            least = int(str(arg))
            return lambda node, values, view: [(None, f"Less than {least} values", [])] if len(values) < least else []
        if param == SH.maxCount:
            most = int(str(arg))
            return lambda node, values, view: [(None, f"More than {most} values", [])] if len(values) > most else []
        if param == SH.datatype:
            return lambda node, values, view: [(v, f"Value is not a well-formed {arg}", []) for v in values
                                               if not _has_datatype(v, arg)]
        if param == SH["class"]:
            return lambda node, values, view: [(v, f"Value is not an instance of {arg}", []) for v in values
                                               if arg not in view.objects(v, _RDF_TYPE)]
        if param == SH.hasValue:
            return lambda node, values, view: [] if arg in values else [(None, f"Missing expected value {arg}", [])]
        if param == SH["in"]:
            allowed = set(Collection(self.shapes, arg))
            return lambda node, values, view: [(v, "Value is not in the allowed list", []) for v in values
                                               if v not in allowed]
        if param == SH.node:
            target = self._node_shape(arg)

            def node_check(node: Node, values: list[Node], view: _View) -> list[Failure]:
                failures: list[Failure] = []
                for v in values:
                    details = self._check_reference_node(target, v, view)
                    if details:
                        failures.append((v, f"Value does not conform to {arg}", details))
                return failures
            return node_check
        if param == SH.pattern:
            flags = re.IGNORECASE if "i" in str(self.shapes.value(prop.iri, SH.flags) or "") else 0
            regex = re.compile(str(arg), flags)
            return lambda node, values, view: [(v, f"Value does not match the pattern {arg}", []) for v in values
                                               if isinstance(v, BNode) or not regex.search(str(v))]
        if param in (SH.minLength, SH.maxLength):
            limit, shortest = int(str(arg)), param == SH.minLength
            return lambda node, values, view: [
                (v, f"Value length violates {param} {limit}", []) for v in values
                if isinstance(v, BNode) or (len(str(v)) < limit if shortest else len(str(v)) > limit)]
        if str(param) in _RANGES:
            op = _RANGES[str(param)]  # as the spec says: a value that cannot be compared does not conform
            return lambda node, values, view: [(v, f"Value violates {op} {arg}", []) for v in values
                                               if not _compare_ok(v, arg, op)]
        if param in (SH.lessThan, SH.lessThanOrEquals):
            op = "<" if param == SH.lessThan else "<="
            return lambda node, values, view: [(v, f"Value is not {op} {o}", []) for v in values
                                               for o in view.objects(node, arg) if not _compare_ok(v, o, op)]
        if param == SH.disjoint:
            return lambda node, values, view: [(v, f"Value is also a value of {arg}", []) for v in values
                                               if v in view.objects(node, arg)]
        if param == SH.equals:
            return lambda node, values, view: [(v, f"Values differ from those of {arg}", [])
                                               for v in set(values) ^ set(view.objects(node, arg))]
        raise ShapeError(f"{param} is not implemented")

    def _run_sparql(self, jobs: list[tuple[_NodeShape, _Sparql, list[Node]]], facts: Facts,
                    linked: Facts) -> list[ShapeResult]:
        if self.sparql is None:
            raise ShapeError("SPARQL constraints need a SPARQL runner")
        queries = [_bind_this(job.select, nodes) for _, job, nodes in jobs]
        triples = [(s, p, o) for source in (facts, linked) for s, po in source.items() for p, os in po.items()
                   for o in os]
        out = []
        for (shape, job, _), rows in zip(jobs, self.sparql.select_over(triples, queries), strict=True):
            for row in rows:
                path = row.get("path")
                out.append(ShapeResult(row["this"], path, row.get("value", row["this"]), _constraint_name(job.iri),
                                       job.message or shape.message, shape.severity, job.iri, [],
                                       declared=(job.message or shape.message) is not None))
        return out


class _View:
    """Facts of the batch, then of linked records, then of the reference data."""

    def __init__(self, facts: Facts, linked: Facts, reference: Facts) -> None:
        self.sources = (facts, linked, reference)

    def objects(self, node: Node, predicate: Node) -> list[Node]:
        for source in self.sources:
            found = source.get(node)
            if found is not None and predicate in found:
                return found[predicate]
        return []

    def only_in_reference(self, node: Node) -> bool:
        facts, linked, reference = self.sources
        return node in reference and node not in facts and node not in linked

    def out(self, node: Node) -> dict[Node, list[Node]]:
        for source in self.sources:
            if node in source:
                return source[node]
        return {}


def index(graph: Iterable[tuple[Node, Node, Node]] | None) -> Facts:
    """Subject → predicate → objects of a graph (or of any triples)."""
    facts: Facts = defaultdict(lambda: defaultdict(list))
    for s, p, o in graph or ():
        facts[s][p].append(o)
    return {s: dict(po) for s, po in facts.items()}


def _targets(shape: _NodeShape, node: Node, view: _View) -> bool:
    if shape.category is not None:
        return shape.category in view.objects(node, URIRef("https://w3id.org/fmar#assetCategory"))
    types = view.objects(node, _RDF_TYPE)
    return any(c in types for c in shape.classes)


def _bind_this(select: str, nodes: list[Node]) -> str:
    """Pre-bind ``$this`` to the focus nodes (a VALUES block opening the WHERE clause)."""
    values = "VALUES ?this { " + " ".join(f"<{n}>" for n in nodes) + " }\n"
    match = re.search(r"WHERE\s*\{", select, re.IGNORECASE)
    if match is None:
        raise ShapeError("a SPARQL constraint needs a WHERE clause")
    return select[:match.end()] + "\n" + values + select[match.end():]


def _constraint_name(iri: Node) -> str:
    text = str(iri)
    if isinstance(iri, URIRef):
        return "fmarsh:" + text.split("#")[-1] if "fmar/shapes#" in text else text
    return "sh:sparql"


def _text(node: Node | None) -> str | None:
    return None if node is None else str(node)


_RANGES = {str(SH.minInclusive): ">=", str(SH.minExclusive): ">", str(SH.maxInclusive): "<=", str(SH.maxExclusive): "<"}
_DATE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


_NUMERIC = frozenset(str(XSD[t]) for t in ("decimal", "integer", "int", "long", "double", "float", "nonNegativeInteger"))
_FLOATING = frozenset((str(XSD.double), str(XSD.float)))
_XSD_DATE, _XSD_DATETIME = str(XSD.date), str(XSD.dateTime)


@lru_cache(maxsize=65536)
def _parsed(text: str, datatype: str) -> Any:
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


def _value(term: Node) -> Any:
    """The comparable value of a literal, or None when it is ill-typed or not comparable."""
    if not isinstance(term, Literal) or term.datatype is None:
        return None
    return _parsed(str(term), str(term.datatype))


def _compare_ok(left: Node, right: Node, op: str) -> bool:
    a, b = _value(left), _value(right)
    if a is None or b is None or type(a) is not type(b):
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


_WELL_FORMED: dict[str, Callable[[str, Literal], bool]] = {
    str(XSD.decimal): lambda t, term: bool(_DECIMAL.match(t)),
    str(XSD.integer): lambda t, term: bool(_INTEGER.match(t)),
    str(XSD.date): lambda t, term: _value(term) is not None,
    str(XSD.dateTime): lambda t, term: _value(term) is not None,
    str(XSD.boolean): lambda t, term: t in {"true", "false", "1", "0"},
}


def _has_datatype(term: Node, datatype: Node) -> bool:
    if not isinstance(term, Literal):
        return False
    actual = term.datatype or (_LANG_STRING if term.language else _STRING)
    if str(actual) != str(datatype):
        return False
    check = _WELL_FORMED.get(str(datatype))
    return check(str(term), term) if check else True


class FactsGraph:
    """Just enough of rdflib's Graph over facts for the Python rules (``subject_objects``)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def subject_objects(self, predicate: Node) -> Iterator[tuple[Node, Node]]:
        for subject, po in self.facts.items():
            for obj in po.get(predicate, ()):
                yield subject, obj
