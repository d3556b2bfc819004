"""The SHACL validation pipeline.

A submission is validated with pyshacl against the shapes in ``shapes/``, together with
the context it refers to (code lists, reference data, the records it links to). Results
come back as :class:`Result` entries naming the JSON-LD term, ready for problem+json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.iris import CODE

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


#: A Python rule: given the data graph, yield (focus, predicate, value, message, constraint).
Rule = Callable[[Graph], Iterable[tuple[Node, URIRef, Node, str, str]]]


class Validator:
    """Holds the parsed shapes and validates record graphs against them."""

    def __init__(self, shape_files: Iterable[Path], term_for: dict[str, str],
                 rules: Iterable[Rule] = ()) -> None:
        self.shapes = Graph()
        for path in shape_files:
            self.shapes.parse(path, format="turtle")
        target_categories(self.shapes)
        self.term_for = term_for
        self.rules = list(rules)

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        """Validate ``focus`` nodes of ``data`` (with ``context`` beside it); every result, sorted."""
        graph = Graph()
        graph += data
        if context is not None:
            graph += context
        focus_nodes = list(focus)
        _, report, _ = validate(graph, shacl_graph=self.shapes, advanced=True, allow_warnings=True,
                                allow_infos=True, inference="none", do_owl_imports=False)
        if not isinstance(report, Graph):  # pyshacl reports a failure of its own (a broken shape) this way
            raise RuntimeError(f"SHACL validation could not run: {report}")
        details = set(report.objects(None, SH.detail))
        results = []
        for r in report.subjects(RDF.type, SH.ValidationResult):
            if r in details or not _about(report.value(r, SH.focusNode), focus_nodes):
                continue
            outer = self._result(report, r, focus_nodes)
            for leaf in self._explained(report, r):
                if _about(report.value(leaf, SH.focusNode), focus_nodes):
                    results.append(self._result(report, leaf, focus_nodes))
                else:  # a detail about a linked node (a code): keep the term, take its message
                    message = str(report.value(leaf, SH.resultMessage) or outer.message)
                    results.append(replace(outer, message=f"{outer.message}: {message}"))
        for rule in self.rules:
            for node, predicate, value, message, constraint in rule(data):
                results.append(Result(self._path(node, predicate, focus_nodes), str(value), message,
                                      constraint, "Violation", str(node)))
        return sorted(set(results), key=lambda r: (r.severity, r.path, r.message))

    def _explained(self, report: Graph, result: Node) -> list[Node]:
        """A nested result's own details when their shapes carry a message, else the result itself."""
        leaves = []
        for detail in report.objects(result, SH.detail):
            if (self.shapes.value(report.value(detail, SH.sourceShape), SH.message) is not None
                    or report.value(detail, SH.detail) is not None):
                leaves += self._explained(report, detail)
        return leaves or [result]

    def _result(self, report: Graph, node: Node, focus_nodes: list[Node]) -> Result:
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        severity = report.value(node, SH.resultSeverity)
        component = report.value(node, SH.sourceConstraintComponent)
        source = report.value(node, SH.sourceConstraint)
        if isinstance(source, URIRef):
            constraint = "fmarsh:" + source.split("#")[-1] if "fmar/shapes#" in source else str(source)
        else:
            local = str(component).split("#")[-1].removesuffix("ConstraintComponent")
            constraint = "sh:" + local[:1].lower() + local[1:]
        return Result(
            path=self._path(focus, path, focus_nodes),
            value=None if value is None else _display(value),
            message=str(report.value(node, SH.resultMessage) or "does not conform"),
            constraint=constraint,
            severity=str(severity).split("#")[-1],
            focusNode=str(focus),
        )

    def _path(self, focus: Node | None, path: Node | None, focus_nodes: list[Node]) -> str:
        """The JSON-LD term of a result, dotted under the nested object it sits in."""
        term = self.term_for.get(str(path), str(path)) if isinstance(path, URIRef) else ""
        focus_s = str(focus)
        if focus is not None and focus not in focus_nodes and "#" in focus_s:
            parent = focus_s.split("#", 1)[1].split("-")[0]
            parent_term = next((t for iri, t in self.term_for.items() if iri.endswith("#" + parent)), parent)
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


def _about(focus: Node | None, focus_nodes: list[Node]) -> bool:
    """Results about the submitted records or their nested nodes; context records are not judged."""
    return focus in focus_nodes or any(str(focus).startswith(f"{f}#") for f in focus_nodes)


def _display(value: Node) -> str:
    """Code-list concepts are shown as their bare code."""
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith(CODE) else text


def literal_values(graph: Graph, predicate: URIRef) -> Iterable[tuple[Node, Literal]]:
    """(subject, literal) pairs of a predicate, for Python rules."""
    for s, o in graph.subject_objects(predicate):
        if isinstance(o, Literal):
            yield s, o
