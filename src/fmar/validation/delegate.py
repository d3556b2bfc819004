"""Shapes the compiled engine hands to pyshacl: evaluated there, and only there, for the nodes they target.

The compiled engine covers what the registry's shapes use most, fast. A shape that needs more of SHACL
(path expressions, ``sh:or``, qualified shapes, SPARQL-based constraint components…) keeps its meaning by
being *delegated*: pyshacl validates the data against a copy of the shapes graph in which every other
shape has lost its targets, so each delegated shape is checked once, with every shape it refers to intact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from fmar.ntriples import to_node
from fmar.validation.shacl import FMAR_FOR_CATEGORY, SH, Facts, ShapeResult, report_trees


@dataclass
class Targets:
    """What a shape targets: N-Triples terms of classes, nodes, predicates; a category; anything (SPARQL)."""

    classes: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    subjects_of: list[str] = field(default_factory=list)
    objects_of: list[str] = field(default_factory=list)
    category: str | None = None
    anything: bool = False

    def __bool__(self) -> bool:
        return bool(self.classes or self.nodes or self.subjects_of or self.objects_of or self.category or self.anything)


class NodeView(Protocol):
    """What deciding a target reads of the data (the engine's view of the batch, linked records, reference)."""

    def props(self, subject: str) -> dict[str, list[str]]: ...

    def classes_of(self, node: str) -> list[str]: ...

    def is_object_of(self, node: str, predicate: str) -> bool: ...


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target, FMAR_FOR_CATEGORY)


def strip_targets(shapes: Graph, keep: set[Node]) -> Graph:
    """A copy of ``shapes`` where only the shapes of ``keep`` have targets (implicit class targets included)."""
    out = Graph()
    for s, p, o in shapes:
        if s not in keep and (p in _TARGETS or (p == RDF.type and o in (RDFS.Class, OWL.Class))):
            continue
        out.add((s, p, o))
    for prefix, namespace in shapes.namespaces():
        out.bind(prefix, namespace, override=False)
    return out


class Delegation:
    """pyshacl over the delegated shapes (``shapes``: the shapes graph with only theirs targeted)."""

    def __init__(self, shapes: Graph, targets: dict[Node, Targets],
                 parts: Sequence[tuple[Node, list[Node], Targets]] = ()) -> None:
        """``targets``: the delegated shapes and what they target; ``parts``: shapes the engine compiled but for
        some property shapes, which pyshacl evaluates as a node shape of their own, aimed where their owner is."""
        self.targets = dict(targets)
        #: What a part is part of, for the messages that name it.
        self.owner: dict[Node, Node] = {}
        members, aims = Graph(), Graph()
        for n, (owner, properties, owner_targets) in enumerate(parts):
            part = URIRef(f"urn:fmar:delegated:{n}")
            members.add((part, RDF.type, SH.NodeShape))
            for prop in properties:
                members.add((part, SH.property, prop))
            for target in _TARGETS:
                for value in shapes.objects(owner, target):
                    aims.add((part, target, value))
            if (owner, RDF.type, RDFS.Class) in shapes or (owner, RDF.type, OWL.Class) in shapes:
                aims.add((part, SH.targetClass, owner))
            self.targets[part] = owner_targets
            self.owner[part] = owner
        self.shapes = strip_targets(shapes, keep=set(targets))
        self.shapes += members
        self.shapes += aims
        #: Each delegated shape with only its own targets (shapes it names by IRI stay whole: pyshacl's
        #: use_shapes would treat them as conforming), for shapes targeted by SPARQL.
        self.alone = {shape: strip_targets(shapes, keep={shape}) for shape in targets if targets[shape].anything}
        #: Each delegated shape with what it reaches (and the constraint components the shapes declare), no
        #: shape targeted: the records it targets are given to it as sh:targetNode.
        untargeted = strip_targets(shapes, keep=set())
        untargeted += members
        components = list(untargeted.subjects(SH.parameter, None))
        self.reached = {shape: reached(untargeted, [shape, *components]) for shape in self.targets}

    def run(self, data: Graph) -> list[ShapeResult]:
        """Every result of the delegated shapes on a whole data graph."""
        return self._pyshacl(data, advanced=True)

    def _pyshacl(self, data: Graph, shapes: Graph | None = None, **options: Any) -> list[ShapeResult]:
        shapes = self.shapes if shapes is None else shapes
        _, report, _ = validate(data, shacl_graph=shapes, allow_warnings=True, allow_infos=True,
                                inference="none", do_owl_imports=False, **options)
        if not isinstance(report, Graph):  # pyshacl reports a failure of its own (a broken shape) this way
            raise RuntimeError(f"SHACL validation could not run: {report}")
        return report_trees(report, shapes)

    def evaluate(self, facts: Facts, linked: Facts, reference: Graph, focus: list[str], view: NodeView) -> list[ShapeResult]:
        """The delegated shapes' results on the records ``focus`` (their facts, the linked records and the
        reference data beside them): one pyshacl run a delegated shape and batch, with those records as its
        only targets (the shapes it names stay whole); a shape pyshacl cannot evaluate fails those records, and
        only them."""
        groups = {shape: nodes for shape, targets in self.targets.items()
                  if (nodes := [f for f in focus if self._targets(targets, f, view)])}
        if not groups:
            return []
        batch = Graph()
        for source in (linked, facts):
            for triple in _triples(source):
                batch.add(triple)
        data = ReadOnlyGraphAggregate([reference, batch])  # the reference data is read where it is, not copied
        trees: list[ShapeResult] = []
        names = {n[1:-1] for nodes in groups.values() for n in nodes}
        for shape, nodes in groups.items():
            try:
                if shape in self.alone:  # targeted by SPARQL: that target, over a copy of the whole data
                    whole = Graph()
                    whole += reference
                    whole += batch
                    found = self._pyshacl(whole, self.alone[shape], advanced=True)
                else:  # the records it targets, named as its focus nodes
                    aimed = Graph()
                    aimed += self.reached[shape]
                    for node in nodes:
                        aimed.add((shape, SH.targetNode, to_node(node)))
                    found = self._pyshacl(data, aimed)
                trees += [t for t in found if str(t.focus).split("#", 1)[0] in names]
            except Exception as exc:  # noqa: BLE001 - whatever stops pyshacl fails these records, and only them
                trees += [ShapeResult(to_node(f), None, to_node(f), "sh:shape",
                                      f"the shape {self.owner.get(shape, shape)} could not be evaluated: {exc}"[:500],
                                      SH.Violation, self.owner.get(shape, shape), [], declared=True) for f in nodes]
        return trees

    @staticmethod
    def _targets(targets: Targets, focus: str, view: NodeView) -> bool:
        own = view.props(focus)
        return (targets.anything or focus in targets.nodes
                or any(c in targets.classes for c in view.classes_of(focus))
                or (targets.category is not None and targets.category in own.get("<https://w3id.org/fmar#assetCategory>", []))
                or any(p in own for p in targets.subjects_of)
                or any(view.is_object_of(focus, p) for p in targets.objects_of))


def reached(shapes: Graph, roots: Iterable[Node]) -> Graph:
    """The triples of ``roots`` and of every node they reach in ``shapes`` (shapes, lists, paths, prefixes)."""
    out, todo, seen = Graph(), list(roots), set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in shapes.predicate_objects(node):
            out.add((node, p, o))
            if not isinstance(o, Literal):
                todo.append(o)
    for prefix, namespace in shapes.namespaces():
        out.bind(prefix, namespace, override=False)
    return out


def _triples(facts: Facts) -> Iterable[tuple[Node, Node, Node]]:
    for s, po in facts.items():
        subject = to_node(s)
        for p, objects in po.items():
            predicate = to_node(p)
            for o in objects:
                yield subject, predicate, to_node(o)
