"""The SHACL validation pipeline.

A submission is validated with pyshacl against the shapes in ``shapes/``, together with
the context it refers to (code lists, reference data, the records it links to). Results
come back as :class:`Result` entries naming the JSON-LD term, ready for problem+json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from pyshacl import validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.iris import CODE
from fmar.ntriples import to_node

SH = Namespace("http://www.w3.org/ns/shacl#")
FMAR_FOR_CATEGORY = URIRef("https://w3id.org/fmar#forCategory")


@dataclass(frozen=True)
class Result:
    """One validation result, as the API reports it."""

    path: str
    value: str | None
    message: str
    constraint: str
    severity: str
    focusNode: str  # noqa: N815 - the JSON member name

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Triples(Protocol):
    """What a Python rule reads: rdflib's Graph, or the compiled engine's view of facts."""

    def subject_objects(self, predicate: Node) -> Iterable[tuple[Node, Node]]: ...


#: A Python rule: given the data, yield (focus, predicate, value, message, constraint).
Rule = Callable[[Triples], Iterable[tuple[Node, URIRef, Node, str, str]]]


def load_shapes(shape_files: Iterable[Path]) -> Graph:
    """The shapes graph: every file, category shapes aimed at their assets."""
    shapes = Graph()
    for path in shape_files:
        shapes.parse(path, format="turtle")
    return target_categories(shapes)


class Validator:
    """The reference validator: pyshacl over the submission, its linked records and the reference data."""

    def __init__(self, shapes: Graph, term_for: dict[str, str], rules: Iterable[Rule] = ()) -> None:
        self.shapes = shapes
        self.term_for = term_for
        self.rules = list(rules)
        self.reference = Graph()

    def set_reference(self, reference: Graph) -> None:
        """The code lists and reference data every validation reads."""
        self.reference = reference

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        """Validate ``focus`` nodes of ``data`` (with ``context`` beside it); every result, sorted."""
        graph = Graph()
        graph += data
        graph += self.reference
        if context is not None:
            graph += context
        names = names_of(focus)
        _, report, _ = validate(graph, shacl_graph=self.shapes, advanced=True, allow_warnings=True,
                                allow_infos=True, inference="none", do_owl_imports=False)
        if not isinstance(report, Graph):  # pyshacl reports a failure of its own (a broken shape) this way
            raise RuntimeError(f"SHACL validation could not run: {report}")
        trees = report_trees(report, self.shapes)
        results = flatten(trees, names, self.term_for)
        for rule in self.rules:
            for node, predicate, value, message, constraint in rule(data):
                results.append(Result(result_path(node, predicate, names, self.term_for), str(value), message,
                                      constraint, "Violation", str(node)))
        return sorted(set(results), key=lambda r: (r.severity, r.path, r.message))

    def core(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """pyshacl checks everything in one pass, in context (see :meth:`in_context`)."""
        return []

    def in_context(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """Validate records given as facts (N-Triples terms), as the compiled engine's batch entry point does."""
        return self.validate(_graph(facts), [to_node(f) for f in focus], _graph(linked or {}))


#: Subject → predicate → objects, every term an N-Triples string (the compiled engine's and the bulk path's form).
Facts = dict[str, dict[str, list[str]]]


def _graph(facts: Facts) -> Graph:
    graph = Graph()
    for s, po in facts.items():
        for p, objects in po.items():
            for o in objects:
                graph.add((to_node(s), to_node(p), to_node(o)))
    return graph


@dataclass
class ShapeResult:
    """One failed constraint, with the failures that explain it (``sh:detail``)."""

    focus: Node
    path: Node | None
    value: Node | None
    constraint: str
    message: str | None
    severity: Node
    shape: Node | None
    details: list[ShapeResult]
    declared: bool = False  # the shape gave the message (sh:message), so it explains something
    component: Node | None = None  # sh:sourceConstraintComponent, when ``constraint`` does not say it
    source: Node | None = None  # sh:sourceConstraint (of a SPARQL-based constraint)
    path_graph: Graph | None = None  # where a path expression (a blank node) is spelled out


def report_trees(report: Graph, shapes: Graph) -> list[ShapeResult]:
    """The results of a pyshacl report, each with its details (``sh:detail``), as :class:`ShapeResult` trees."""
    details = set(report.objects(None, SH.detail))
    return [_tree(report, shapes, r) for r in report.subjects(RDF.type, SH.ValidationResult) if r not in details]


def _tree(report: Graph, shapes: Graph, node: Node) -> ShapeResult:
    source = report.value(node, SH.sourceConstraint)
    shape = report.value(node, SH.sourceShape)
    component = report.value(node, SH.sourceConstraintComponent)
    if isinstance(source, URIRef):
        constraint = "fmarsh:" + source.split("#")[-1] if "fmar/shapes#" in source else str(source)
    elif str(component).startswith(str(SH)):
        local = str(component).split("#")[-1].removesuffix("ConstraintComponent")
        constraint = "sh:sparql" if local == "SPARQL" else "sh:" + local[:1].lower() + local[1:]
    else:
        constraint = str(component)  # a SPARQL-based constraint component of the shapes graph
    message = report.value(node, SH.resultMessage)
    return ShapeResult(
        focus=report.value(node, SH.focusNode), path=report.value(node, SH.resultPath),  # type: ignore[arg-type]
        value=report.value(node, SH.value), constraint=constraint,
        message=None if message is None else str(message),
        severity=report.value(node, SH.resultSeverity), shape=shape,  # type: ignore[arg-type]
        details=[_tree(report, shapes, d) for d in report.objects(node, SH.detail)],
        declared=shapes.value(shape, SH.message) is not None
        or (isinstance(source, URIRef) and shapes.value(source, SH.message) is not None),
        component=component, source=source, path_graph=report)


def report_graph(trees: Iterable[ShapeResult], shapes: Graph) -> tuple[bool, Graph]:
    """Results as a SHACL validation report: ``(conforms, report)``; it conforms when there is no result. A
    result whose shape (or SPARQL constraint) gives messages carries them all, in their languages."""
    graph = Graph()
    graph.bind("sh", SH)
    report = BNode()
    graph.add((report, RDF.type, SH.ValidationReport))
    conforms = True
    for tree in trees:
        conforms = False
        result = BNode()
        graph.add((report, SH.result, result))
        graph.add((result, RDF.type, SH.ValidationResult))
        component = tree.component or component_of(tree.constraint)
        path = tree.path if not isinstance(tree.path, BNode) else _copy_path(tree.path_graph or shapes, tree.path, graph)
        for predicate, value in ((SH.focusNode, tree.focus), (SH.resultPath, path), (SH.value, tree.value),
                                 (SH.resultSeverity, tree.severity), (SH.sourceShape, tree.shape),
                                 (SH.sourceConstraintComponent, component), (SH.sourceConstraint, tree.source)):
            if value is not None:
                graph.add((result, predicate, value))
        for message in _messages(tree, shapes):
            graph.add((result, SH.resultMessage, message))
    graph.add((report, SH.conforms, Literal(conforms)))
    return conforms, graph


_PATH_FORMS = (SH.inversePath, SH.alternativePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath)


def _copy_path(source: Graph, path: Node, into: Graph) -> Node:
    """A path expression spelled out in ``into`` as SHACL reads it: a list is a sequence path (whatever else its
    node says), else the one path form the node has."""
    if not isinstance(path, BNode):
        return path
    if (path, RDF.first, None) in source:
        return _copy_list(source, path, into, lambda item: _copy_path(source, item, into))
    for form in _PATH_FORMS:
        inner = source.value(path, form)
        if inner is not None:
            node = BNode()
            copied = _copy_list(source, inner, into, lambda item: _copy_path(source, item, into)) \
                if form == SH.alternativePath else _copy_path(source, inner, into)
            into.add((node, form, copied))
            return node
    return path


def _copy_list(source: Graph, head: Node, into: Graph, copy: Callable[[Node], Node]) -> Node:
    items = list(Collection(source, head))
    new_head: Node = RDF.nil
    for item in reversed(items):
        cell = BNode()
        into.add((cell, RDF.first, copy(item)))
        into.add((cell, RDF.rest, new_head))
        new_head = cell
    return new_head


def _messages(tree: ShapeResult, shapes: Graph) -> list[Literal]:
    declared = [m for m in shapes.objects(tree.source or tree.shape, SH.message) if isinstance(m, Literal)]
    if not tree.declared or not declared:
        return [] if tree.message is None else [Literal(tree.message)]
    if tree.source is not None:  # a SPARQL constraint's template, filled: the filled text, in its language
        return [Literal(tree.message or str(declared[0]), lang=declared[0].language)]
    return declared


def component_of(constraint: str) -> URIRef:
    """The constraint component of a compiled result's constraint name (``sh:minCount``, ``sh:sparql``…)."""
    if constraint.startswith("sh:") and constraint != "sh:sparql":
        local = constraint[3:]
        return SH[local[:1].upper() + local[1:] + "ConstraintComponent"]
    return SH.SPARQLConstraintComponent


def flatten(trees: Iterable[ShapeResult], names: frozenset[str], term_for: dict[str, str]) -> list[Result]:
    """Results about the submitted records (``names``: their IRIs); a failure on a linked node (a code) is
    told under the term."""
    results = []
    for tree in trees:
        if not _about(tree.focus, names):
            continue
        outer = _as_result(tree, names, term_for)
        for leaf in _explained(tree):
            if _about(leaf.focus, names):
                results.append(_as_result(leaf, names, term_for))
            else:
                results.append(replace(outer, message=f"{outer.message}: {leaf.message or outer.message}"))
    return results


def names_of(focus_nodes: Iterable[Node]) -> frozenset[str]:
    """The IRIs of the focus nodes, for membership tests (rdflib terms hash slowly)."""
    return frozenset(str(f) for f in focus_nodes)


def _explained(tree: ShapeResult) -> list[ShapeResult]:
    """A result's own details when their shapes carry a message, else the result itself."""
    leaves = []
    for detail in tree.details:
        if detail.declared or detail.details:
            leaves += _explained(detail)
    return leaves or [tree]


def _as_result(tree: ShapeResult, names: frozenset[str], term_for: dict[str, str]) -> Result:
    return Result(path=result_path(tree.focus, tree.path, names, term_for),
                  value=None if tree.value is None else _display(tree.value),
                  message=tree.message or "does not conform", constraint=tree.constraint,
                  severity=str(tree.severity).split("#")[-1], focusNode=str(tree.focus))


def result_path(focus: Node | None, path: Node | None, names: frozenset[str], term_for: dict[str, str]) -> str:
    """The JSON-LD term of a result, dotted under the nested object it sits in (``names``: the focus IRIs)."""
    term = term_for.get(str(path), str(path)) if isinstance(path, URIRef) else ""
    focus_s = str(focus)
    if focus is not None and focus_s not in names and "#" in focus_s:
        parent = focus_s.split("#", 1)[1].split("-")[0]
        parent_term = next((t for iri, t in term_for.items() if iri.endswith("#" + parent)), parent)
        return f"{parent_term}.{term}" if term else parent_term
    return term


def target_categories(shapes: Graph) -> Graph:
    """Aim each category shape (``fmar:forCategory``) at the assets of its category (a SHACL-AF SPARQL target)."""
    for shape, category in list(shapes.subject_objects(FMAR_FOR_CATEGORY)):
        if (shape, SH.target, None) in shapes:
            continue
        target = BNode()
        shapes.add((shape, SH.target, target))
        shapes.add((target, RDF.type, SH.SPARQLTarget))
        shapes.add((target, SH.select, Literal(
            f"SELECT ?this WHERE {{ ?this <https://w3id.org/fmar#assetCategory> <{category}> }}")))
    return shapes


def _about(focus: Node | None, names: frozenset[str]) -> bool:
    """Results about the submitted records or their nested nodes; context records are not judged."""
    return focus is not None and str(focus).split("#", 1)[0] in names


def _display(value: Node) -> str:
    """Code-list concepts are shown as their bare code."""
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith(CODE) else text


def literal_values(graph: Triples, predicate: URIRef) -> Iterable[tuple[Node, Literal]]:
    """(subject, literal) pairs of a predicate, for Python rules."""
    for s, o in graph.subject_objects(predicate):
        if isinstance(o, Literal):
            yield s, o
