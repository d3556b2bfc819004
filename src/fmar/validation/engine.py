"""The compiled SHACL validator: the shapes in ``shapes/`` compiled once, checked fast.

pyshacl rebuilds its view of the shapes and of the data on every call, which caps it near a
few hundred small records a second. This engine compiles the shapes graph once into plain
checks over facts whose terms are N-Triples strings (:mod:`fmar.ntriples`): the SHACL Core
constraint components run in Python over each record's facts, and SPARQL-based constraints
run in Oxigraph (through :class:`fmar.store.staging.Staging`) over a whole batch at once. It
reports exactly what :class:`fmar.validation.shacl.Validator` (pyshacl) reports;
``tests/validation/test_engine_conformance.py`` holds the two to that.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Protocol

from rdflib import Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from fmar.ntriples import parts, term, to_node
from fmar.validation.shacl import FMAR_FOR_CATEGORY, SH, Facts, Result, Rule, ShapeResult, flatten, result_path

#: (value, default message, details) of one failed constraint.
Failure = tuple[str | None, str, list[ShapeResult]]
Check = Callable[[str, list[str], "_View"], list[Failure]]
_RDF_TYPE = term(RDF.type)
_ASSET_CATEGORY = "<https://w3id.org/fmar#assetCategory>"

_SUPPORTED = {
    SH.targetClass, SH.property, SH.path, SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.node, SH.hasValue,
    SH["in"], SH.pattern, SH.flags, SH.minLength, SH.maxLength, SH.minInclusive, SH.minExclusive, SH.maxInclusive,
    SH.maxExclusive, SH.lessThan, SH.lessThanOrEquals, SH.disjoint, SH.equals, SH.sparql, SH.message, SH.severity,
    SH.deactivated, SH.closed, SH.ignoredProperties, SH.name, SH.description, SH.defaultValue, SH.order, SH.group,
    SH.target, RDF.type,
}


_NONE: list[str] = []
_NO_SHAPES: list[_NodeShape] = []
#: The constraint components that a node with no value for the path can fail.
_ABSENCE = {SH.minCount, SH.hasValue, SH.equals}


class SparqlRunner(Protocol):
    def select_over(self, sources: Sequence[Facts], queries: Sequence[str],
                    predicates: frozenset[str] | None = None) -> list[list[dict[str, Node]]]:
        """Run each SELECT over the reference data plus the facts of ``sources`` (only the triples of
        ``predicates``, when given)."""


class ShapeError(ValueError):
    """A shape uses SHACL the engine does not implement (so it is refused rather than half-checked)."""


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
    path: URIRef
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
    nodes: list[Node] = field(default_factory=list)
    sparql: list[_Sparql] = field(default_factory=list)
    closed: bool = False
    allowed: set[str] = field(default_factory=set)
    message: str | None = None
    severity: URIRef = SH.Violation
    classes: list[str] = field(default_factory=list)
    category: str | None = None


class CompiledValidator:
    """Validates records against compiled shapes; the same results as pyshacl, much sooner."""

    def __init__(self, shapes: Graph, term_for: dict[str, str], rules: Iterable[Rule] = (),
                 sparql: Callable[[list[tuple[Node, Node, Node]]], SparqlRunner] | None = None) -> None:
        self.shapes = shapes
        self.term_for = term_for
        self.rules = list(rules)
        self._sparql_over = sparql
        self.sparql: SparqlRunner | None = None
        self.reference: Facts = {}
        self._memo: dict[tuple[Node, str], list[ShapeResult]] = {}
        self._compiled: dict[Node, _NodeShape] = {}
        for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(SH.targetClass, None)),
                            key=str):
            self._node_shape(shape)
        self.targeted = [s for s in self._compiled.values() if s.classes or s.category is not None]
        self._by_class: dict[str, list[_NodeShape]] = {}
        self._by_category: dict[str, list[_NodeShape]] = {}
        for compiled in self.targeted:
            if compiled.category is not None:
                self._by_category.setdefault(compiled.category, []).append(compiled)
            else:
                for c in compiled.classes:
                    self._by_class.setdefault(c, []).append(compiled)
        self.sparql_predicates = _predicates_read([q.select for s in self._compiled.values() for q in s.sparql])

    def set_reference(self, reference: Graph) -> None:
        """Index the code lists and reference data every validation reads (and stage them for SPARQL)."""
        self.reference = index(reference)
        self._memo.clear()
        if self._sparql_over is not None:
            wanted = self.sparql_predicates  # only what the queries can match is staged
            self.sparql = self._sparql_over([t for t in reference if wanted is None or term(t[1]) in wanted])

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
        shape.classes = [term(c) for c in g.objects(iri, SH.targetClass)]
        category = g.value(iri, FMAR_FOR_CATEGORY)
        shape.category = None if category is None else term(category)
        shape.closed = g.value(iri, SH.closed) == Literal(True)
        for prop in g.objects(iri, SH.property):
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
                                                   g.value(prop, SH.severity) or SH.Violation, path_nt=term(path),
                                                   checks_absence=any(p in _ABSENCE for p, _ in params)))
            shape.allowed.add(term(path))
        ignored = g.value(iri, SH.ignoredProperties)
        if ignored is not None:
            shape.allowed |= {term(p) for p in Collection(g, ignored)}
        shape.nodes = list(g.objects(iri, SH.node))
        for constraint in g.objects(iri, SH.sparql):
            select = g.value(constraint, SH.select)
            if select is None:
                raise ShapeError(f"shape {iri}: SPARQL constraints need sh:select")
            shape.sparql.append(_Sparql(constraint, str(select), _text(g.value(constraint, SH.message)),
                                        _binds_this(str(select))))
        for ref in shape.nodes:
            self._node_shape(ref)
        for compiled in shape.properties:
            self._compile_checks(compiled)
        return shape

    def _compile_checks(self, prop: _PropertyShape) -> None:
        """Each constraint parameter of a property shape as a function of (node, values, view) → failures."""
        for param, arg in prop.params:
            if param == SH.flags:
                continue
            name = "sh:" + str(param).split("#")[1]
            prop.checks.append((name, self._compile_param(param, arg, prop)))

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
                                               if arg_nt not in view.objects(v, _RDF_TYPE)]
        if param == SH.hasValue:
            return lambda node, values, view: [] if arg_nt in values else [(None, f"Missing expected value {arg}", [])]
        if param == SH["in"]:
            allowed = {term(member) for member in Collection(self.shapes, arg)}
            return lambda node, values, view: [(v, "Value is not in the allowed list", []) for v in values
                                               if v not in allowed]
        if param == SH.node:
            target = self._node_shape(arg)

            def node_check(focus: str, values: list[str], view: _View) -> list[Failure]:
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
        raise ShapeError(f"{param} is not implemented")

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
        records and the reference data, so it can run before the write lock is taken."""
        view = _View(facts, linked or {}, self.reference)
        trees: list[ShapeResult] = []
        for f in focus:
            for shape in self._shapes_of(f, view):
                trees += self._check_node(shape, f, view)
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
        jobs = [(shape, s, nodes_of[shape]) for shape in self.targeted if shape in nodes_of for s in shape.sparql]
        if not jobs:
            return []
        if self.sparql is None:
            raise ShapeError("SPARQL constraints need a SPARQL runner")
        queries = [job.select if job.free else _bind_this(job.select, nodes) for _, job, nodes in jobs]
        answers = self.sparql.select_over([facts, linked or {}], queries, self.sparql_predicates)
        trees = []
        names_of: dict[_NodeShape, frozenset[str]] = {}
        for (shape, job, nodes), rows in zip(jobs, answers, strict=True):
            if rows and job.free and shape not in names_of:
                names_of[shape] = _names(nodes)
            for row in rows:
                if job.free and str(row["this"]) not in names_of[shape]:
                    continue  # an unbound run also answers for other nodes: linked or context records
                message = job.message or shape.message
                trees.append(ShapeResult(row["this"], row.get("path"), row.get("value", row["this"]),
                                         _constraint_name(job.iri), message, shape.severity, job.iri, [],
                                         declared=message is not None))
        return flatten(trees, _names(focus), self.term_for) if trees else []

    def _shapes_of(self, focus: str, view: _View) -> list[_NodeShape]:
        """The shapes that target a node: by its classes, and by its asset category."""
        own = view.props(focus)
        shapes = [s for c in own.get(_RDF_TYPE, _NONE) for s in self._by_class.get(c, _NO_SHAPES)]
        shapes += [s for c in own.get(_ASSET_CATEGORY, _NONE) for s in self._by_category.get(c, _NO_SHAPES)]
        return shapes if len(shapes) < 2 else list(dict.fromkeys(shapes))

    def _check_node(self, shape: _NodeShape, focus: str, view: _View) -> list[ShapeResult]:
        """Every failure of ``focus`` against ``shape`` (SPARQL constraints aside), as result trees."""
        out: list[ShapeResult] = []
        sev = shape.severity
        own = view.props(focus)
        for prop in shape.properties:
            values = own.get(prop.path_nt, _NONE)
            if not values and not prop.checks_absence:
                continue
            for component, check in prop.checks:
                for value, default, details in check(focus, values, view):
                    out.append(ShapeResult(to_node(focus), prop.path, None if value is None else to_node(value), component,
                                           prop.message or default, prop.severity, prop.iri, details,
                                           declared=prop.message is not None))
        for ref in shape.nodes:
            details = self._check_node(self._compiled[ref], focus, view)
            if details:
                out.append(ShapeResult(to_node(focus), None, to_node(focus), "sh:node", shape.message, sev, shape.iri,
                                       details))
        if shape.closed:
            for p, values in own.items():
                if p not in shape.allowed:
                    predicate = to_node(p)
                    out += [ShapeResult(to_node(focus), predicate, to_node(v), "sh:closed",
                                        shape.message or f"{predicate} is not allowed here", sev, shape.iri, [])
                            for v in values]
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


class _View:
    """Facts of the batch, then of linked records, then of the reference data."""

    __slots__ = ("sources",)

    def __init__(self, facts: Facts, linked: Facts, reference: Facts) -> None:
        self.sources = (facts, linked, reference)

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


def _bind_this(select: str, nodes: list[str]) -> str:
    """Pre-bind ``$this`` to the focus nodes (a VALUES block opening the WHERE clause)."""
    values = "VALUES ?this { " + " ".join(nodes) + " }\n"
    match = re.search(r"WHERE\s*\{", select, re.IGNORECASE)
    if match is None:
        raise ShapeError("a SPARQL constraint needs a WHERE clause")
    return select[:match.end()] + "\n" + values + select[match.end():]


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

    algebra = _algebra(select)
    return algebra is not None and binds(algebra)  # a query rdflib cannot read is pre-bound, never run unbound


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
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


_WELL_FORMED: dict[str, Callable[[str, str], bool]] = {
    str(XSD.decimal): lambda text, nt: bool(_DECIMAL.match(text)),
    str(XSD.integer): lambda text, nt: bool(_INTEGER.match(text)),
    str(XSD.date): lambda text, nt: _value(nt) is not None,
    str(XSD.dateTime): lambda text, nt: _value(nt) is not None,
    str(XSD.boolean): lambda text, nt: text in {"true", "false", "1", "0"},
}


def _has_datatype(nt: str, datatype: str) -> bool:
    if nt[0] != '"':
        return False
    text, actual, _ = parts(nt)
    if actual != datatype:
        return False
    check = _WELL_FORMED.get(datatype)
    return check(text, nt) if check else True


class FactsGraph:
    """Just enough of rdflib's Graph over facts for the Python rules (``subject_objects``)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def subject_objects(self, predicate: Node) -> Iterator[tuple[Node, Node]]:
        wanted = term(predicate)
        for subject, po in self.facts.items():
            for obj in po.get(wanted, ()):
                yield to_node(subject), to_node(obj)
