"""A runner for the W3C SHACL test suite (``../shared/w3c/shacl``, read in place).

The suite's root manifest includes ``core/`` and ``sparql/``, whose manifests include a manifest a
directory, which include the test files; each test file is itself a manifest whose ``mf:entries`` are
``sht:Validate`` tests: a data graph and a shapes graph (``<>`` for the test file itself), and the
validation report expected of them (or ``sht:Failure``: the shapes must be refused).

Graphs are parsed with rdflib, each file with its own IRI as base, literals kept as written (:func:`load`).

How reports are compared is what the suite defines
(https://w3c.github.io/data-shapes/data-shapes-test-suite/, "Validate RDF data", full compliance):
*expected* is the ``mf:result`` node's triples, its ``sh:result`` nodes' triples, and the triples
needed to represent each ``sh:resultPath``; *actual* is the engine's report without nested results
(``sh:detail``), with ``sh:ValidationReport`` and ``sh:ValidationResult`` as the only types and only
the predicates ``rdf:type``, ``sh:focusNode``, ``sh:resultPath``, ``sh:resultSeverity``,
``sh:sourceConstraint``, ``sh:sourceConstraintComponent``, ``sh:sourceShape`` and ``sh:value`` on its
results (``sh:resultMessage`` goes: engines word messages differently), a result's path structure not
shared with another's; the two must be isomorphic. One refinement of the suite's own:
``core/misc/message-001`` says a harness must keep the ``sh:resultMessage`` triples the expected
report mentions, so an actual message is kept when the same literal is an expected message (and
then must match, language tag and all).

Blank nodes. Plain isomorphism treats every blank node as "some node": a report naming the wrong
blank shape (one anonymous property shape for another) or the wrong blank value would still pass. So
the blank nodes that refer into a graph are described before the isomorphism test, the same way on
both sides:

* a ``sh:resultPath`` blank node becomes a literal (datatype :data:`DESCRIBED`) of its path
  structure: its triples, nested blank nodes (lists, ``sh:inversePath`` …) expanded recursively,
  sorted (read from the report graph, or the shapes graph when a report does not copy the path).
  A path is its structure: the suite clones paths per result.
* a ``sh:sourceShape``/``sh:sourceConstraint`` blank node (``sh:focusNode``/``sh:value``) becomes a
  fresh blank node, one for each distinct node, carrying (``DESCRIBED``) the same expansion of its
  triples in the shapes (data) graph *plus* the arcs that lead to it, each referrer expanded in turn
  up to IRIs, so that two identical anonymous property shapes of two node shapes stay apart. Being a
  blank node still, two distinct nodes cannot pass for one (the isomorphism is a bijection).

A description is a function of the node and the graph alone, and the same graph serves both sides,
so the same node always gets the same description (no false failure); two nodes get the same
description only when no triple tells them or their referrers apart, i.e. when swapping them is an
automorphism of the graph, which a report cannot tell anyway. The graph is the test file without the
test's own description (manifest, entries, expected reports: :func:`without_tests`), which would
otherwise tell the expected node apart merely by the expected report naming it. And the expected
report can name a blank node of the data or shapes graph only when that graph *is* the test file
(``<>``): a Turtle file's labels are its own. So data (shapes) blank nodes are described only when the
data (shapes) graph is the test file; otherwise they stay plain blank nodes on both sides, compared as
the suite's isomorphism compares them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, XSD, NamespaceManager
from rdflib.term import Node

from fmar.validation.shacl import SH
from tests.w3c import MF, W3C, missing

SUITE = W3C / "shacl"
MANIFEST = SUITE / "manifest.ttl"
NAME = "W3C SHACL test suite"

SHT = Namespace("http://www.w3.org/ns/shacl-test#")
#: The datatype of a literal that stands for a described blank node.
DESCRIBED = URIRef("urn:fmar:test:blank-node-description")

#: The result predicates the suite compares (``rdf:type`` is normalised to ``sh:ValidationResult``).
COMPARED = (SH.focusNode, SH.resultPath, SH.resultSeverity, SH.sourceConstraint, SH.sourceConstraintComponent,
            SH.sourceShape, SH.value)
_DATA_ROLES = {SH.focusNode, SH.value}
_SHAPE_ROLES = {SH.sourceShape, SH.sourceConstraint}

#: The engine under test: ``(conforms, report)`` of a data graph against a shapes graph.
Engine = Callable[[Graph, Graph], tuple[bool, Graph]]


@dataclass(frozen=True)
class ShaclTest:
    """One ``sht:Validate`` entry."""

    id: str  # the entry's IRI relative to the suite, e.g. core/node/class-001
    file: Path  # the test file (the manifest holding the entry)
    entry: URIRef
    label: str
    status: str
    data: Path
    shapes: Path
    #: Whether the root manifest reaches it through ``mf:include`` (see :func:`tests`).
    listed: bool = True


def tests() -> list[ShaclTest]:
    """Every ``sht:Validate`` entry reachable from the root manifest, in manifest order; then the entries
    of test files in the suite's folders that no manifest includes (``listed`` false: at commit ff9edb9
    one, ``sparql/component/nodeValidator-001``, status proposed, left out of its folder's manifest)."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(missing(SUITE, NAME))
    found: list[ShaclTest] = []
    seen: set[Path] = set()
    _walk(MANIFEST.resolve(), found, seen, listed=True)
    for path in sorted(SUITE.resolve().rglob("*.ttl")):
        if path not in seen and "test-manifest#" in path.read_text(encoding="utf-8"):
            _walk(path, found, seen, listed=False)
    return found


def _walk(path: Path, found: list[ShaclTest], seen: set[Path], listed: bool) -> None:
    if path in seen:
        return
    seen.add(path)
    g = load(path)
    root = URIRef(path.as_uri())
    for included in g.objects(root, MF.include):
        _walk(_local(included), found, seen, listed)
    entries = g.value(root, MF.entries)
    if entries is None:
        return
    for entry in Collection(g, entries):
        if (entry, RDF.type, SHT.Validate) not in g:
            continue
        assert isinstance(entry, URIRef), entry
        action = g.value(entry, MF.action)
        data, shapes = g.value(action, SHT.dataGraph), g.value(action, SHT.shapesGraph)
        found.append(ShaclTest(
            id=str(entry).removeprefix(SUITE.resolve().as_uri() + "/"), file=path, entry=entry,
            label=str(g.value(entry, RDFS_LABEL) or g.value(entry, MF.name) or ""),
            status=str(g.value(entry, MF.status) or "").rsplit("#", 1)[-1],
            data=_local(data), shapes=_local(shapes), listed=listed))


RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")


def _local(iri: Node | None) -> Path:
    if not isinstance(iri, URIRef) or not str(iri).startswith("file://"):
        raise ValueError(f"a manifest names {iri!r}: the suite's graphs are files beside their manifests")
    return Path(str(iri).removeprefix("file://"))


def load(path: Path) -> Graph:
    """A Turtle file of the suite, with its own IRI as base (so ``<>`` is the file), its literals as written:
    rdflib's parser would rewrite a well-typed literal in canonical form (``"1"^^xsd:boolean`` as ``"true"``,
    which ``core/property/uniqueLang-002`` tells apart), so it parses with ``rdflib.NORMALIZE_LITERALS`` off."""
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        return Graph().parse(path, format="turtle", publicID=path.as_uri())
    finally:
        rdflib.NORMALIZE_LITERALS = normalize


# ---------------------------------------------------------------------------------------------- running


def run(test: ShaclTest, engine: Engine) -> list[str]:
    """Run one test: what differs from the expected outcome (nothing when it passes)."""
    manifest = load(test.file)
    graphs = {test.file: manifest}
    for path in (test.data, test.shapes):
        if path not in graphs:
            graphs[path] = load(path)
    data, shapes = graphs[test.data], graphs[test.shapes]
    expected_node = manifest.value(test.entry, MF.result)
    if expected_node == SHT.Failure:
        try:
            conforms, _ = engine(data, shapes)
        except Exception:  # noqa: BLE001 - any refusal is what the test expects
            return []
        return [f"the shapes should have been refused (mf:result sht:Failure), but validation ran: conforms={conforms}"]
    assert expected_node is not None, test.id
    try:
        conforms, report = engine(data, shapes)
    except Exception as error:  # noqa: BLE001 - a test that cannot run fails with what stopped it
        return [f"validation raised {type(error).__name__}: {error}"]
    actual_node = _report_node(report)
    expected_messages = {m for r in manifest.objects(expected_node, SH.result)
                         for m in manifest.objects(r, SH.resultMessage)}
    # Blank nodes of the data (shapes) graph are described only when it is the test file (see the module's
    # docstring), in that file without the test's own description (the manifest, its entries, expected reports)
    described = without_tests(manifest)
    in_data = described if test.data == test.file else None
    in_shapes = described if test.shapes == test.file else None
    names = manifest.namespace_manager  # the test file's prefixes, for both sides' failure lines
    expected = Normalised(manifest, expected_node, in_data, in_shapes, expected_messages, shapes, names)
    actual = Normalised(report, actual_node, in_data, in_shapes, expected_messages, shapes, names)
    problems = []
    wanted = _boolean(manifest.value(expected_node, SH.conforms))
    if conforms != wanted:
        problems.append(f"conforms: expected {wanted}, got {conforms}")
    if _boolean(report.value(actual_node, SH.conforms)) != conforms:
        problems.append(f"the report says sh:conforms {report.value(actual_node, SH.conforms)}, "
                        f"validate_graph returned {conforms}")
    if not isomorphic(expected.graph, actual.graph):
        want, got = expected.lines(), actual.lines()
        problems.append("the reports differ (after the suite's normalisation)\n" + _block("expected", want)
                        + _block("actual", got) + _block("missing", sorted(set(want) - set(got)))
                        + _block("unexpected", sorted(set(got) - set(want))))
    return problems


def without_tests(graph: Graph) -> Graph:
    """A test file without the triples that describe its tests: the manifest node, its list of entries,
    each entry, its action, its expected report and that report's results (what is left is the data and
    shapes the test validates, and any expected result paths, which nothing else refers to)."""
    subjects: set[Node] = set(graph.subjects(RDF.type, MF.Manifest))
    for manifest in list(subjects):
        entries = graph.value(manifest, MF.entries)
        while entries is not None and entries != RDF.nil:
            subjects.add(entries)
            entries = graph.value(entries, RDF.rest)
        listed = graph.value(manifest, MF.entries)
        for entry in Collection(graph, listed) if listed is not None else ():
            subjects.add(entry)
            for part in (graph.value(entry, MF.action), graph.value(entry, MF.result)):
                if isinstance(part, BNode):
                    subjects.add(part)
                    subjects.update(graph.objects(part, SH.result))
    kept = Graph(namespace_manager=graph.namespace_manager)
    for triple in graph:
        if triple[0] not in subjects:
            kept.add(triple)
    return kept


def _block(title: str, lines: list[str]) -> str:
    return f"  {title} ({len(lines)}):\n" + "".join(f"    {line}\n" for line in lines)


def _boolean(value: Node | None) -> bool | None:
    if not isinstance(value, Literal):
        return None
    return str(value).strip() in ("true", "1") if value.datatype in (None, XSD.boolean) else None


def _report_node(report: Graph) -> Node:
    reports = set(report.subjects(RDF.type, SH.ValidationReport))
    if len(reports) != 1:
        raise AssertionError(f"the report graph has {len(reports)} sh:ValidationReport nodes, not one")
    return reports.pop()


class Normalised:
    """A report as the suite compares it: a graph of the report node, its top-level results and their
    compared triples; each blank node of the data or shapes graph a fresh blank node carrying its description
    (one a distinct node), each path blank node its path structure."""

    def __init__(self, source: Graph, report: Node, data: Graph | None, shapes: Graph | None,
                 messages: set[Node], path_fallback: Graph, names: NamespaceManager) -> None:
        self.source, self.data, self.shapes, self.path_fallback = source, data, shapes, path_fallback
        self.graph = Graph()
        self.results: list[dict[URIRef, list[str]]] = []
        self._blanks: dict[tuple[bool, Node], BNode] = {}
        self._shown: dict[Node, str] = {}
        top = BNode()
        self.graph.add((top, RDF.type, SH.ValidationReport))
        conforms = source.value(report, SH.conforms)
        if conforms is not None:
            self.graph.add((top, SH.conforms, Literal(_boolean(conforms))))
        nested = set(source.objects(None, SH.detail))
        for result in source.objects(report, SH.result):
            if result in nested:
                continue
            node, fields = BNode(), {}
            self.graph.add((top, SH.result, node))
            self.graph.add((node, RDF.type, SH.ValidationResult))
            for predicate in (*COMPARED, SH.resultMessage):
                values = [o for o in source.objects(result, predicate) if predicate != SH.resultMessage or o in messages]
                for value in values:
                    self.graph.add((node, predicate, self._term(predicate, value)))
                if values:
                    fields[predicate] = sorted(self._show(predicate, v, names) for v in values)
            self.results.append(fields)

    def _term(self, role: URIRef, term: Node) -> Node:
        if not isinstance(term, BNode):
            return term
        if role == SH.resultPath:  # a path's structure is all it is (the suite clones them per result)
            return Literal(describe(term, self._path_graph(term)), datatype=DESCRIBED)
        in_data = role in _DATA_ROLES
        key = (in_data, term)
        if key not in self._blanks:  # distinct nodes stay distinct: one fresh blank node each
            self._blanks[key] = BNode()
            graph = self.data if in_data else self.shapes if role in _SHAPE_ROLES else None
            if graph is not None:  # else not describable (see the docstring): some blank node, as the suite has it
                self.graph.add((self._blanks[key], DESCRIBED, Literal(describe(term, graph) + " "
                                                                      + referrers(term, graph))))
        return self._blanks[key]

    def _path_graph(self, path: Node) -> Graph:
        return self.source if (path, None, None) in self.source else self.path_fallback

    def _show(self, role: URIRef, value: Node, names: NamespaceManager) -> str:
        """A term for a failure message: a blank node as its description with prefixes (and, for a
        described data or shapes node, a hash of its whole description, referrers too)."""
        if not isinstance(value, BNode):
            return value.n3(names)
        if role == SH.resultPath:
            return "_:" + describe(value, self._path_graph(value), names=names)
        graph = self.data if role in _DATA_ROLES else self.shapes if role in _SHAPE_ROLES else None
        if graph is None:
            return "_:?"
        whole = self.graph.value(self._term(role, value), DESCRIBED)
        return f"_:{describe(value, graph, names=names)}~{hashlib.sha256(str(whole).encode()).hexdigest()[:6]}"

    def lines(self) -> list[str]:
        """Each result on a line, for a failure message."""
        return sorted(" ".join(f"{p.split('#')[-1]}=" + ",".join(values) for p, values in fields.items())
                      for fields in self.results)


def describe(node: Node, graph: Graph, seen: frozenset[Node] = frozenset(), names: NamespaceManager | None = None
             ) -> str:
    """A node's triples in ``graph``, nested blank nodes expanded, sorted: ``[p o ; p [p o]]``; an IRI
    or literal is itself. (Cycles through blank nodes are cut at the repeated node.) ``names``: prefixes,
    for display only."""
    if not isinstance(node, BNode):
        return node.n3(names)
    if node in seen:
        return "[…]"
    inner = seen | {node}
    return "[" + " ; ".join(sorted(f"{p.n3(names)} {describe(o, graph, inner, names)}"
                                   for p, o in graph.predicate_objects(node))) + "]"


def referrers(node: Node, graph: Graph, seen: frozenset[Node] = frozenset()) -> str:
    """The arcs that lead to a blank node, each referrer described (and its own referrers, up to IRIs)."""
    inner = seen | {node}
    arcs = []
    for subject, predicate in graph.subject_predicates(node):
        if isinstance(subject, BNode) and subject not in inner:
            arcs.append(f"{describe(subject, graph, inner)} {referrers(subject, graph, inner)} {predicate.n3()}")
        else:
            arcs.append(f"{describe(subject, graph, inner)} {predicate.n3()}")
    return "{" + " , ".join(sorted(arcs)) + "}"
