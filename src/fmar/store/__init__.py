"""The store layer: the only code that touches a triplestore.

Services speak rdflib terms; :class:`GraphStore` is the interface a remote SPARQL
backend can implement later, and :class:`~fmar.store.oxigraph.OxigraphStore` is the
embedded implementation (on disk, or in memory for tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rdflib import Graph
from rdflib.term import Node, URIRef

Quad = tuple[Node, Node, Node, URIRef]
Row = dict[str, Node]


class SparqlSyntaxError(ValueError):
    """The store could not parse a SPARQL query or update."""


@dataclass
class Answer:
    """A SPARQL query's answer, its terms in N-Triples syntax (:mod:`fmar.ntriples`): a boolean (ASK),
    rows of ``variables`` (SELECT; None where unbound), or triples (CONSTRUCT, DESCRIBE). Rows and
    triples are read lazily: stop reading and the engine stops."""

    form: str  # "boolean" | "solutions" | "triples"
    boolean: bool = False
    variables: list[str] = field(default_factory=list)
    rows: Iterator[tuple[str | None, ...]] = field(default_factory=lambda: iter(()))
    triples: Iterator[tuple[str, str, str]] = field(default_factory=lambda: iter(()))

    def close(self) -> None:
        """Release the engine's iterator (in the thread that read it: pyoxigraph's may not cross threads)."""
        for items in (self.rows, self.triples):
            close = getattr(items, "close", None)
            if close is not None:
                close()


class GraphStore(Protocol):
    """What the registry needs from a quad store."""

    def select(self, query: str, *, bindings: Mapping[str, Node] | None = None,
               graphs: Sequence[URIRef] | None = None) -> list[Row]:
        """Run a SELECT; ``graphs`` (when given) is the union default graph and the only named graphs."""

    def ask(self, query: str, *, bindings: Mapping[str, Node] | None = None,
            graphs: Sequence[URIRef] | None = None) -> bool:
        """Run an ASK."""

    def construct(self, query: str, *, bindings: Mapping[str, Node] | None = None,
                  graphs: Sequence[URIRef] | None = None) -> Graph:
        """Run a CONSTRUCT into an rdflib graph."""

    def graph(self, name: URIRef) -> Graph:
        """Every triple of one named graph."""

    def apply(self, remove: Iterable[Quad], add: Iterable[Quad]) -> None:
        """Remove then add quads in one atomic write."""

    def canonical(self, nquads: str) -> str:
        """N-Quads as the store gives them back once written (typed literals in canonical form), unordered."""

    def dump_graph(self, name: str, sink: Callable[[bytes], object]) -> None:
        """One named graph as N-Triples (as Oxigraph writes them), a chunk at a time into ``sink``."""

    def add_nquads(self, text: str) -> None:
        """Add many quads, given as N-Quads text, fast (a bulk load): for batches of new records."""

    def answer(self, query: str, *, default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None,
               base_iri: str | None = None) -> Answer:
        """Run a SPARQL query on a dataset of named graphs (IRIs): ``default_graphs`` merged as the default
        graph (None: every graph), ``named_graphs`` for ``GRAPH`` (None: every graph). Raises
        :class:`SparqlSyntaxError`."""

    def run_update(self, update: str, base_iri: str | None = None) -> None:
        """Run a SPARQL update, atomically, under the write lock. Raises :class:`SparqlSyntaxError`."""

    def rehearse(self, update: str, base_iri: str | None, graphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """What ``update`` would remove and add (N-Quads lines), run on a copy of the default graph and ``graphs``."""

    def graph_names(self) -> tuple[str, ...]:
        """The IRIs of the named graphs in the store (the same tuple until the graphs change)."""

    def graph_nquads(self, name: str) -> str:
        """Every triple of one named graph, as N-Triples text."""

    def load(self, paths: Sequence[Path], graph: URIRef, extra: Sequence[Quad] = ()) -> None:
        """Replace a named graph with the contents of RDF files, atomically, adding ``extra`` quads (its audit
        event) in the same write."""

    def quads(self) -> Iterator[Quad]:
        """Every quad in the store (tests and exports)."""

    def close(self) -> None:
        """Flush and release the store."""
