"""Differential tests: the compiled engine reports what pyshacl reports, on generated shapes and data.

The generator (:func:`cases`) draws a shapes graph over the grammar the compiled engine compiles natively
and a small data graph to validate against it; both engines validate every subject of the data (the focus
list) and must agree on each result's focus node, path, constraint component, severity and value, and on
its message wherever a shape gave one (``sh:message``). An engine that refuses the shapes (raises) does not
agree: the example is compared all the same, never skipped.

Each construct the generator can use is a *feature* (:data:`FEATURES`); ``FMAR_DIFFERENTIAL_FEATURES``
switches some off (``-nodeKind,-uniqueLang``) or names the only ones on (``minCount,class``), for finding
which feature a disagreement comes from; every feature is on by default. ``FMAR_DIFFERENTIAL_EXAMPLES``
sets the number of examples (default 150); ``bench/shacl_differential.py`` runs the same generator longer.

One caveat, as in ``test_engine_conformance`` (which leaves out comparisons of ill-typed literals): a
range or property-pair result (``sh:minInclusive`` …, ``sh:lessThan``…) whose comparison the spec makes a
type error, an ill-typed literal (``"abc"^^xsd:integer``), an IRI, a boolean against a number, is left out on
both sides (:func:`incomparable`). The spec makes every such value node fail; pyshacl reports some and not
others. Examples pyshacl cannot validate at all (it raises on ``sh:lessThan`` between a date and a number)
have no reference, and are rejected.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

from fmar.validation import make_validator
from fmar.validation.shacl import SH, Result

EX = Namespace("http://example.org/shape#")  # classes, shapes, predicates
N = Namespace("http://example.org/node/")  # data nodes: no '#', which a result's path would read as a nested record

#: Constraint parameters of property shapes, each a feature.
PROPERTY_PARAMS = ("minCount", "maxCount", "datatype", "class", "hasValue", "in", "pattern", "minLength", "maxLength",
                   "minInclusive", "minExclusive", "maxInclusive", "maxExclusive", "lessThan", "lessThanOrEquals",
                   "disjoint", "equals", "nodeKind", "languageIn", "uniqueLang", "node")
#: Those that also apply to a node shape itself (its focus node is the value node): with ``node-level`` on.
NODE_PARAMS = ("class", "datatype", "nodeKind", "in", "hasValue", "pattern", "minLength", "maxLength", "minInclusive",
               "minExclusive", "maxInclusive", "maxExclusive", "languageIn", "equals", "disjoint")
#: Everything the generator can switch on or off.
FEATURES = frozenset(PROPERTY_PARAMS) | {
    "node-level",  # constraint parameters on the node shape itself (NODE_PARAMS)
    "closed",  # sh:closed true, maybe with sh:ignoredProperties (rdf:type)
    "severity", "message", "deactivated",  # on node and property shapes
    "flags",  # sh:flags "i" beside sh:pattern
    "ill-typed",  # data literals such as "abc"^^xsd:integer
    "non-canonical",  # well-typed data literals not in canonical form, such as "01"^^xsd:integer
    "subClassOf",  # ex:E rdfs:subClassOf ex:C in the data (instances of ex:E are targeted)
    "second-shape",  # a second targeted node shape (ex:S2, on ex:C or ex:D)
}


def enabled_features(spec: str | None = None) -> frozenset[str]:
    """The features on: all, or as ``FMAR_DIFFERENTIAL_FEATURES`` says (``-a,-b`` drops; ``a,b`` keeps only)."""
    spec = os.environ.get("FMAR_DIFFERENTIAL_FEATURES", "") if spec is None else spec
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = {n.lstrip("-") for n in names} - FEATURES
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; known: {sorted(FEATURES)}")
    dropped = {n[1:] for n in names if n.startswith("-")}
    kept = {n for n in names if not n.startswith("-")}
    return frozenset((kept or FEATURES) - dropped)


EXAMPLES = int(os.environ.get("FMAR_DIFFERENTIAL_EXAMPLES", "150"))


def _lit(text: str, datatype: URIRef | None = None, lang: str | None = None) -> Literal:
    return Literal(text, datatype=datatype, lang=lang, normalize=False)  # lexical forms kept as written


#: Values of the data (and of sh:hasValue, sh:in): IRIs, blank nodes, plain, typed and language-tagged literals.
VALUES: tuple[Node, ...] = (
    N.a, N.b, N.v1, N.v2, BNode("x1"), BNode("x2"),
    _lit("abc"), _lit("Hello"), _lit(""), _lit("5", XSD.string),
    _lit("Hello", lang="en"), _lit("hello", lang="en"), _lit("bonjour", lang="fr"), _lit("hi", lang="en-GB"),
    _lit("1", XSD.integer), _lit("5", XSD.integer), _lit("10", XSD.integer),
    _lit("-3", XSD.integer), _lit("2.5", XSD.decimal), _lit("5.0", XSD.decimal), _lit("2024-01-01", XSD.date),
    _lit("true", XSD.boolean),
)
#: Literals not in their canonical form, which rdflib rewrites when it builds a literal anew (``Literal("01",
#: datatype=XSD.integer)`` is ``"1"``); the last is also ill-typed, and rdflib makes it ``"false"``.
NON_CANONICAL: tuple[Node, ...] = (_lit("01", XSD.integer), _lit("+5", XSD.integer), _lit("0", XSD.boolean),
                                   _lit("5.50", XSD.decimal), _lit("maybe", XSD.boolean))
#: Ill-typed literals.
ILL_TYPED: tuple[Node, ...] = (_lit("abc", XSD.integer), _lit("1.5", XSD.integer), _lit("2024-13-45", XSD.date))
PREDICATES = (EX.p1, EX.p2, EX.p3, EX.p4)
CLASSES = (EX.C, EX.D, EX.E)
DATATYPES = (XSD.string, XSD.integer, XSD.decimal, XSD.date, XSD.boolean)
NODE_KINDS = (SH.IRI, SH.BlankNode, SH.Literal, SH.BlankNodeOrIRI, SH.BlankNodeOrLiteral, SH.IRIOrLiteral)
PATTERNS = ("^a", "b", "^[0-9]+$", "^H", "ell", "^$", "o$")
LANGUAGES = (("en",), ("en", "fr"), ("fr",), ("en-GB",), ("de",))
SEVERITIES = (SH.Violation, SH.Warning, SH.Info)
PAIRS_FEATURES = frozenset({"lessThan", "lessThanOrEquals"})
#: What the shape sh:node reaches does not use: comparisons (see :func:`incomparable`), and sh:node itself.
NOT_UNDER_NODE = PAIRS_FEATURES | {"minInclusive", "minExclusive", "maxInclusive", "maxExclusive", "node"}
SUBJECTS: tuple[Node, ...] = (N.a, N.b, N.c, N.v1, N.v2, BNode("x1"), BNode("x2"))


@dataclass
class Case:
    """One generated example: a shapes graph, a data graph, the focus nodes, and the features it uses."""

    shapes: Graph
    data: Graph
    focus: list[Node]
    used: set[str] = field(default_factory=set)

    def __repr__(self) -> str:
        return (f"Case(features={sorted(self.used)}, focus={[str(f) for f in self.focus]})\n"
                f"# shapes\n{_turtle(self.shapes)}# data\n{_turtle(self.data)}")


def _turtle(graph: Graph) -> str:
    """Turtle of a small graph, blank nodes nested, lists in brackets, every literal with its datatype as written
    (rdflib's serializer would print ``"maybe"^^xsd:boolean`` as the bare word ``maybe``)."""
    names = Graph().namespace_manager
    for prefix, ns in (("ex", EX), ("n", N), ("sh", SH), ("xsd", XSD), ("rdf", RDF), ("rdfs", RDFS)):
        names.bind(prefix, ns, override=True)

    def term(node: Node, depth: int) -> str:
        if isinstance(node, BNode) and (node, RDF.first, None) in graph:
            return "( " + " ".join(term(m, depth) for m in Collection(graph, node)) + " )"
        if isinstance(node, BNode) and len(set(graph.subjects(None, node))) == 1 and depth < 4:
            inner = body(node, depth + 1)
            return f"[ {inner} ]" if inner else "[]"
        return node.n3(names)

    def body(subject: Node, depth: int) -> str:
        by_predicate: dict[Node, list[str]] = {}
        for p, o in sorted(graph.predicate_objects(subject), key=lambda po: (str(po[0]), po[1].n3())):
            by_predicate.setdefault(p, []).append(term(o, depth))
        return " ; ".join(("a" if p == RDF.type else p.n3(names)) + " " + ", ".join(objects)
                          for p, objects in by_predicate.items())

    lines = []
    for subject in sorted(set(graph.subjects()), key=lambda node: node.n3()):
        if isinstance(subject, BNode) and ((subject, RDF.first, None) in graph
                                          or len(set(graph.subjects(None, subject))) == 1):
            continue  # written where it is used
        lines.append(f"{subject.n3(names)} {body(subject, 0)} .")
    return "\n".join(lines) + "\n"


def cases(features: frozenset[str] | None = None) -> st.SearchStrategy[Case]:
    """(shapes, data) pairs over the features on (by default :func:`enabled_features`)."""
    on = enabled_features() if features is None else features
    return _cases(on)


@st.composite
def _cases(draw: Callable[..., Any], on: frozenset[str]) -> Case:
    shapes, data = Graph(), Graph()
    case = Case(shapes, data, [])
    counter = iter(range(1000))
    shape_values = VALUES + (NON_CANONICAL if "non-canonical" in on else ())  # for sh:hasValue and sh:in

    def use(feature: str) -> bool:
        """Whether to use an optional feature here (never when it is off)."""
        if feature in on and draw(st.integers(0, 2)) == 2:  # a third of the time (and 0, off, is what shrinks)
            case.used.add(feature)
            return True
        return False

    def message(shape: Node) -> None:
        if use("message"):
            shapes.add((shape, SH.message, Literal(f"[msg {next(counter)}]")))

    def severity(shape: Node) -> None:
        if use("severity"):
            shapes.add((shape, SH.severity, draw(st.sampled_from(SEVERITIES))))

    def deactivated(shape: Node) -> None:
        if use("deactivated"):
            shapes.add((shape, SH.deactivated, Literal(draw(st.sampled_from([True, True, False])))))

    def a_list(members: Iterable[Node]) -> Node:
        head = BNode()
        Collection(shapes, head, list(members))
        return head

    def param(shape: Node, name: str) -> None:
        """One constraint parameter ``name`` on ``shape``."""
        case.used.add(name)
        p = SH[name]
        if name == "minCount":
            shapes.add((shape, p, Literal(draw(st.integers(0, 3)))))
        elif name == "maxCount":
            shapes.add((shape, p, Literal(draw(st.integers(0, 2)))))
        elif name == "datatype":
            shapes.add((shape, p, draw(st.sampled_from(DATATYPES))))
        elif name == "class":
            shapes.add((shape, p, draw(st.sampled_from(CLASSES))))
        elif name == "hasValue":
            shapes.add((shape, p, draw(st.sampled_from(shape_values))))
        elif name == "in":
            members = draw(st.lists(st.sampled_from(shape_values), min_size=1, max_size=4, unique=True))
            shapes.add((shape, p, a_list(members)))
        elif name == "pattern":
            shapes.add((shape, p, Literal(draw(st.sampled_from(PATTERNS)))))
            if use("flags"):
                shapes.add((shape, SH.flags, Literal("i")))
        elif name in ("minLength", "maxLength"):
            shapes.add((shape, p, Literal(draw(st.integers(0, 5)))))
        elif name in ("minInclusive", "minExclusive", "maxInclusive", "maxExclusive"):
            shapes.add((shape, p, Literal(draw(st.integers(-1, 11)))))
        elif name in ("lessThan", "lessThanOrEquals", "disjoint", "equals"):
            shapes.add((shape, p, draw(st.sampled_from(PREDICATES))))
        elif name == "nodeKind":
            shapes.add((shape, p, draw(st.sampled_from(NODE_KINDS))))
        elif name == "languageIn":
            shapes.add((shape, p, a_list(Literal(tag) for tag in draw(st.sampled_from(LANGUAGES)))))
        elif name == "uniqueLang":
            shapes.add((shape, p, Literal(draw(st.sampled_from([True, True, False])))))
        elif name == "node":
            shapes.add((shape, p, EX.N1))
        else:  # pragma: no cover - a parameter of the lists above without a generator
            raise AssertionError(name)

    def property_shapes(shape: Node, allow_node: bool) -> None:
        # The shape sh:node reaches (allow_node false) has no comparisons: one left out as incomparable
        # (see keys) would still decide whether the sh:node result is there.
        names = [n for n in PROPERTY_PARAMS if n in on and (allow_node or n not in NOT_UNDER_NODE)]
        for _ in range(draw(st.integers(0, 3 if names else 0))):
            prop = draw(st.sampled_from([BNode(), EX[f"P{next(counter)}"]]))
            shapes.add((shape, SH.property, prop))
            shapes.add((prop, SH.path, draw(st.sampled_from(PREDICATES))))
            for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
                param(prop, name)
            message(prop)
            severity(prop)
            deactivated(prop)

    def node_shape(shape: Node, target: Node | None, allow_node: bool) -> None:
        shapes.add((shape, RDF.type, SH.NodeShape))
        if target is not None:
            shapes.add((shape, SH.targetClass, target))
        property_shapes(shape, allow_node)
        node_params = [n for n in NODE_PARAMS if n in on and (allow_node or n not in NOT_UNDER_NODE)]
        if node_params and use("node-level"):
            for name in draw(st.lists(st.sampled_from(node_params), min_size=1, max_size=2, unique=True)):
                param(shape, name)
        if use("closed"):
            shapes.add((shape, SH.closed, Literal(True)))
            if draw(st.booleans()):
                shapes.add((shape, SH.ignoredProperties, a_list([RDF.type])))
        message(shape)
        severity(shape)
        deactivated(shape)

    node_shape(EX.S1, EX.C, allow_node=True)
    if use("second-shape"):
        node_shape(EX.S2, draw(st.sampled_from([EX.C, EX.D])), allow_node=True)
    if "node" in case.used:
        node_shape(EX.N1, None, allow_node=False)  # reached by sh:node only (no recursion)

    # The data: each subject some types and some values for some predicates.
    pool = VALUES + (ILL_TYPED if "ill-typed" in on else ()) + (NON_CANONICAL if "non-canonical" in on else ())
    if case.used & PAIRS_FEATURES:  # pyshacl raises on a blank node compared by sh:lessThan(OrEquals): no reference
        pool = tuple(v for v in pool if not isinstance(v, BNode))
    if use("subClassOf"):
        data.add((EX.E, RDFS.subClassOf, EX.C))
    for subject in SUBJECTS:
        for cls in draw(st.lists(st.sampled_from(CLASSES), max_size=2, unique=True)):
            data.add((subject, RDF.type, cls))
        for predicate in draw(st.lists(st.sampled_from(PREDICATES), max_size=3, unique=True)):
            for value in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)):
                data.add((subject, predicate, value))
                if value in ILL_TYPED:
                    case.used.add("ill-typed")
                elif value in NON_CANONICAL:
                    case.used.add("non-canonical")
    case.focus = [s for s in SUBJECTS if isinstance(s, URIRef) and (s, None, None) in data]
    return case


# ---------------------------------------------------------------------------------------------- comparing

#: The components that compare values (see the module's docstring for their caveat).
RANGES = {"sh:minExclusive", "sh:minInclusive", "sh:maxExclusive", "sh:maxInclusive"}
PAIRS = {"sh:lessThan", "sh:lessThanOrEquals"}

Key = tuple[str, str, str, str, str | None, str | None]


def keys(results: Iterable[Result], case: Case) -> set[Key]:
    """What must agree: (focus node, path, constraint, severity, value, and the messages shapes gave that the
    result tells), comparisons the spec cannot make left out (:func:`incomparable`)."""
    declared = [str(m) for m in case.shapes.objects(None, SH.message)]
    out = set()
    for r in results:
        if r.constraint in RANGES | PAIRS and incomparable(r, case):
            continue
        # The messages the shapes gave, in the order the result tells them (a default wording around them, such
        # as "Value does not conform to …: [msg 2]" for a failure under sh:node, is each engine's own)
        told = sorted((r.message.find(m), m) for m in declared if m in r.message)
        out.add((r.focusNode, r.path, r.constraint, r.severity, r.value, " / ".join(m for _, m in told) or None))
    return out


_NUMBERS = {XSD.integer, XSD.decimal, XSD.int, XSD.long, XSD.double, XSD.float}


def comparable_as(node: Node) -> str | None:
    """What SPARQL's ``<`` can compare a term with (numbers with numbers, strings with strings, dates with dates,
    booleans with booleans), or None when nothing: IRIs, blank nodes, language-tagged and ill-typed literals."""
    if not isinstance(node, Literal) or node.language or node.ill_typed:
        return None
    datatype = node.datatype or XSD.string
    if datatype in _NUMBERS:
        return "number"
    return str(datatype) if datatype in (XSD.string, XSD.date, XSD.dateTime, XSD.boolean) else None


def incomparable(result: Result, case: Case) -> bool:
    """Whether a range or property-pair result involves a comparison the spec makes a type error (so the value
    node fails). There pyshacl answers erratically (it compares IRIs as strings, booleans as numbers, raises or
    passes on a date against a number, on an ill-typed literal…), so such results are left out on both sides.
    A result tells its value only as text, so any value of the focus node with that text counts."""
    shapes, data = case.shapes, case.data
    focus = URIRef(result.focusNode)
    if not result.path:  # a node shape's own range: the value node is the focus node, an IRI
        return True
    path = URIRef(result.path)
    values = [v for v in data.objects(focus, path) if str(v) == result.value]
    props = list(shapes.subjects(SH.path, path))
    if result.constraint in RANGES:
        bounds = [b for prop in props for b in shapes.objects(prop, SH[result.constraint.removeprefix("sh:")])]
        return any(comparable_as(v) is None or comparable_as(v) != comparable_as(b) for v in values for b in bounds)
    others = [w for prop in props for arg in shapes.objects(prop, SH[result.constraint.removeprefix("sh:")])
              for w in data.objects(focus, arg)]
    return any(comparable_as(v) is None or comparable_as(v) != comparable_as(w) for v in values for w in others)


@dataclass
class Outcome:
    """How the engines compared on one case: the results only pyshacl gave, only the compiled engine gave,
    or the error an engine raised."""

    case: Case
    missing: set[Key] = field(default_factory=set)  # pyshacl's, not the compiled engine's
    extra: set[Key] = field(default_factory=set)  # the compiled engine's, not pyshacl's
    error: str | None = None
    #: pyshacl could not validate the example (it raises on some comparisons: sh:lessThan of a date and a
    #: number, a TypeError in rdflib): no reference, so no verdict (the test rejects the example).
    reference_error: str | None = None
    seconds: tuple[float, float] = (0.0, 0.0)  # pyshacl's time, the compiled engine's (compiling included)

    @property
    def agrees(self) -> bool:
        return not self.missing and not self.extra and self.error is None and self.reference_error is None

    def __str__(self) -> str:
        if self.error is not None:
            return self.error
        def show(k: Key) -> str:
            focus, path, constraint, severity, value, message = k
            return (f"{focus.removeprefix(str(N))} {path.removeprefix(str(EX))} {constraint} {severity} value={value!r}"
                    + ("" if message is None else f" message={message!r}"))
        return ("pyshacl only:\n" + "".join(f"  {show(k)}\n" for k in sorted(self.missing, key=str))
                + "compiled only:\n" + "".join(f"  {show(k)}\n" for k in sorted(self.extra, key=str)))


def compare(case: Case) -> Outcome:
    """Validate ``case`` with both engines."""
    shapes, data = _copy(case.shapes), _copy(case.data)  # each engine its own copy: pyshacl adds triples
    started = time.perf_counter()
    reference = make_validator("pyshacl", shapes, {})
    reference.set_reference(Graph())
    try:
        expected = reference.validate(data, case.focus, None)
    except Exception as error:  # noqa: BLE001 - see Outcome.reference_error
        return Outcome(case, reference_error=f"pyshacl raised {type(error).__name__}: {error}")
    middle = time.perf_counter()
    shapes, data = _copy(case.shapes), _copy(case.data)
    try:
        compiled = make_validator("compiled", shapes, {})
        compiled.set_reference(Graph())
        actual = compiled.validate(data, case.focus, None)
    except Exception as error:  # noqa: BLE001 - refusing the shapes (or failing on them) is a disagreement too
        return Outcome(case, error=f"the compiled engine raised {type(error).__name__}: {error}",
                       seconds=(middle - started, time.perf_counter() - middle))
    want, got = keys(expected, case), keys(actual, case)
    return Outcome(case, missing=want - got, extra=got - want, seconds=(middle - started, time.perf_counter() - middle))


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(cases())
def test_the_compiled_engine_agrees_with_pyshacl(case: Case) -> None:
    outcome = compare(case)
    assume(outcome.reference_error is None)
    assert outcome.agrees, f"{outcome}\n{case!r}"


def test_the_feature_switches() -> None:
    assert enabled_features("") == FEATURES
    assert enabled_features("-nodeKind,-uniqueLang") == FEATURES - {"nodeKind", "uniqueLang"}
    assert enabled_features("minCount,class") == {"minCount", "class"}


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(cases(frozenset({"minCount", "class"})))
def test_the_generator_keeps_to_the_features_on(case: Case) -> None:
    assert case.used <= {"minCount", "class"}
    used = {str(p).split("#")[-1] for p in case.shapes.predicates() if str(p).startswith(str(SH))}
    assert used <= {"minCount", "class", "property", "path", "targetClass"}
