"""The store layer: the only code that touches a triplestore.

Services speak rdflib terms; :class:`GraphStore` is the interface a remote SPARQL
backend can implement later, and :class:`~fmar.store.oxigraph.OxigraphStore` is the
embedded implementation (on disk, or in memory for tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from rdflib import Graph
from rdflib.term import Node, URIRef

Quad = tuple[Node, Node, Node, URIRef]
Row = dict[str, Node]


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

    def add_nquads(self, text: str) -> None:
        """Add many quads, given as N-Quads text, fast (a bulk load): for batches of new records."""

    def load(self, paths: Sequence[Path], graph: URIRef) -> None:
        """Replace a named graph with the contents of RDF files, atomically."""

    def quads(self) -> Iterator[Quad]:
        """Every quad in the store (tests and exports)."""

    def close(self) -> None:
        """Flush and release the store."""
