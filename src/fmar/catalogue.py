"""What every check reads, held once: the SHACL shapes in force (the repository's, with each category's newest
published version in place of its seed), the validator built from them, the code lists and reference data,
and the look-up tables derived from both. :meth:`Catalogue.reload` reads it all again from the store (after
an initialisation or a SPARQL update); :meth:`Catalogue.use` puts a newly published category shape in force.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL
from rdflib.term import Node

from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris
from fmar.ntriples import term
from fmar.store import GraphStore
from fmar.validation import Checker, make_validator
from fmar.validation.shacl import SH, target_categories

CATEGORY_SHAPES = "https://w3id.org/fmar/shapes/category/"
_VERSIONS = """SELECT ?g ?category WHERE { GRAPH ?g { ?shape <https://w3id.org/fmar#forCategory> ?category } }"""
_READY = "ASK { GRAPH ?g { ?s a <http://www.w3.org/2002/07/owl#Ontology> } }"
_AREA_OF_MPAN = "PREFIX fmar: <https://w3id.org/fmar#> SELECT ?id ?gsp WHERE { ?dno fmar:distributorId ?id ; fmar:gspGroup ?gsp }"


def shape_iri(category_code: str) -> URIRef:
    """The IRI of a category's shape."""
    return URIRef(CATEGORY_SHAPES + category_code)


_GENID = "/.well-known/genid/"


def skolemise_shape(graph: Graph, shape: URIRef) -> Graph:
    """A category version as stored: each blank node named by a skolem IRI (RDF 1.1 §3.5) in the shape, so
    lists, path expressions and nested shapes are stored as submitted and read back as blank nodes."""
    names: dict[BNode, URIRef] = {}

    def named(node: Node) -> Node:
        if not isinstance(node, BNode):
            return node
        if node not in names:
            names[node] = URIRef(f"{shape}#{_GENID}{len(names) + 1}")  # a {record}# node: in the history
        return names[node]

    out = Graph()
    for s, p, o in sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2]))):
        out.add((named(s), p, named(o)))
    return out


def deskolemise(graph: Graph) -> Graph:
    """A stored category version as it was submitted: its skolem IRIs blank nodes again."""
    def node(term_: Node) -> Node:
        if isinstance(term_, URIRef) and _GENID in term_:
            return BNode("sk" + hashlib.sha256(term_.encode()).hexdigest()[:24])
        return term_

    out = Graph()
    for s, p, o in graph:
        out.add((node(s), p, node(o)))
    return out


def split_seed(shape_files: Sequence[Path]) -> tuple[Graph, dict[str, Graph]]:
    """The repository's shapes: those every record uses, and each category's file (by category code)."""
    common, categories = Graph(), {}
    for path in shape_files:
        graph = Graph().parse(path, format="turtle")
        category = next(graph.objects(None, FMAR.forCategory), None)
        if category is None:
            common += graph
        else:
            categories[str(category).rsplit("/", 1)[-1]] = graph
    return common, categories


@dataclass(frozen=True)
class Tables:
    """Look-ups the registration path derives from the reference data and the shapes (N-Triples terms)."""

    gsp_by_distributor: dict[str, str]
    defaults: dict[str, list[tuple[str, str]]]
    deprecated: frozenset[str]


class Catalogue:
    """The shapes, validator, reference data and look-up tables in force, and their reload."""

    def __init__(self, store: GraphStore, iris: Iris, kind: str, shape_files: Sequence[Path],
                 term_for: dict[str, str]) -> None:
        self.store, self.iris, self.kind, self.term_for = store, iris, kind, term_for
        self.common, self.seed = split_seed(shape_files)
        self._guard = threading.Lock()
        self._validator: Checker | None = None
        self._reference: Graph | None = None
        self._tables: Tables | None = None
        self._categories: dict[str, Graph] = {}

    @property
    def validator(self) -> Checker:
        """The validator of the shapes in force, holding the reference data (built on first use)."""
        with self._guard:
            if self._validator is None:
                self._install(self._shapes_in_store())
            assert self._validator is not None  # noqa: S101 - just installed
            return self._validator

    @property
    def shapes(self) -> Graph:
        return self.validator.shapes

    @property
    def categories(self) -> dict[str, Graph]:
        """Each category's shapes graph in force: its shape and the helper shapes it brought."""
        self.validator  # noqa: B018 - installs them
        return self._categories

    def with_category(self, category_code: str, graph: Graph) -> Graph:
        """The shapes in force with ``graph`` as the category's (a new version, or a new category)."""
        return self._assemble({**self.categories, category_code: graph})

    def _assemble(self, categories: dict[str, Graph]) -> Graph:
        shapes = Graph()
        shapes += self.common
        for graph in categories.values():
            shapes += graph
        return target_categories(shapes)

    @property
    def reference(self) -> Graph:
        """Code lists and reference data, the fixed part of every validation context."""
        self.validator  # noqa: B018 - installs both
        assert self._reference is not None  # noqa: S101
        return self._reference

    @property
    def tables(self) -> Tables:
        """GSP group by MPAN distributor id, each category's default values, the deprecated categories."""
        tables = self._tables
        if tables is None:
            shapes = self.shapes
            defaults: dict[str, list[tuple[str, str]]] = {}
            deprecated = set()
            for shape, category in shapes.subject_objects(FMAR.forCategory):
                if shapes.value(shape, OWL.deprecated) == Literal(True):
                    deprecated.add(term(category))
                for prop in shapes.objects(shape, SH.property):
                    path, default = shapes.value(prop, SH.path), shapes.value(prop, SH.defaultValue)
                    if isinstance(path, URIRef) and default is not None:
                        defaults.setdefault(term(category), []).append((term(path), term(default)))
            gsp = {str(r["id"]): term(r["gsp"]) for r in self.store.select(_AREA_OF_MPAN)}
            tables = self._tables = Tables(gsp, defaults, frozenset(deprecated))
        return tables

    def candidate(self, shapes: Graph) -> Checker:
        """A validator of other shapes, holding the same reference data (to try a category version on)."""
        validator = make_validator(self.kind, shapes, self.term_for)
        validator.set_reference(self.reference)
        return validator

    def use(self, validator: Checker, category_code: str | None = None, graph: Graph | None = None) -> None:
        """Put a candidate's shapes in force (``graph``, a version of the category, was published)."""
        with self._guard:
            self._validator, self._tables = validator, None
            if category_code is not None and graph is not None:
                self._categories = {**self._categories, category_code: graph}

    def reload(self) -> None:
        """Read the shapes, the reference data and the tables from the store again, on next use."""
        with self._guard:
            self._validator = self._reference = self._tables = None

    def unready(self) -> str | None:
        """Why the registry cannot serve yet (the store does not answer, or holds no ontology), or None."""
        try:
            loaded = self.store.ask(_READY)
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready
            return str(exc)
        return None if loaded else "reference graphs not loaded; run fmar init"

    def published(self) -> dict[str, list[tuple[int, URIRef]]]:
        """Category code → its published versions (number, named graph), oldest first; one query."""
        versions: dict[str, list[tuple[int, URIRef]]] = {}
        for row in self.store.select(_VERSIONS):
            match = re.search(r"/v(\d+)$", str(row["g"]))
            if match:
                versions.setdefault(str(row["category"]).rsplit("/", 1)[-1], []).append(
                    (int(match.group(1)), URIRef(str(row["g"]))))
        return {c: sorted(v) for c, v in versions.items()}

    def version(self, graph: URIRef) -> Graph:
        """A published version's graph, as it was submitted."""
        return deskolemise(self.store.graph(graph))

    def _shapes_in_store(self) -> Graph:
        categories = dict(self.seed)
        for category_code, versions in self.published().items():
            categories[category_code] = self.version(versions[-1][1])
        self._categories = categories
        return self._assemble(categories)

    def _install(self, shapes: Graph) -> None:
        reference = new_graph()
        for name in ("codes", "reference"):
            reference += self.store.graph(self.iris.graph(name))
        validator = make_validator(self.kind, shapes, self.term_for)
        validator.set_reference(reference)
        self._validator, self._reference, self._tables = validator, reference, None
