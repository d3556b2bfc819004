"""The store layer: the only code that touches a triplestore.

:class:`GraphStore` is the core every backend must have: SPARQL reads (values bound by substitution, never
written into the query text), one atomic write of N-Quads, and the named graphs. What only some backends can
do is a capability of its own: :class:`Updatable` (SPARQL Update, and its rehearsal on a copy),
:class:`Dumpable` (a graph streamed out in constant memory) and :class:`Isolating` (untrusted queries run
where they can be stopped). :func:`open_store` gives the embedded Oxigraph store, which has them all; nothing
outside this package names the implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rdflib import Graph
from rdflib.term import Node, URIRef

Quad = tuple[Node, Node, Node, URIRef]
Row = dict[str, Node]


class SparqlSyntaxError(ValueError):
    """The store could not parse a SPARQL query or update."""


class UpdateFailed(ValueError):
    """The store could not apply a SPARQL update to the graphs as they are (its reason is the message): a
    ``CREATE GRAPH`` of a graph that exists, a ``DROP`` or ``CLEAR`` of one that does not."""


class QueryStopped(RuntimeError):
    """An isolated query ran past its time limit and was stopped."""


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


def projected(bindings: Mapping[str, Node]) -> str:
    """The variables ``bindings`` binds, for a query's projection: a substitution binds only projected variables."""
    return " ".join(f"?{name}" for name in bindings)


class GraphStore(Protocol):
    """What every backend must do for the registry."""

    def select(self, query: str, *, bindings: Mapping[str, Node] | None = None,
               graphs: Sequence[URIRef] | None = None) -> list[Row]:
        """Run a SELECT; ``bindings`` are substituted for variables the query projects; ``graphs`` (when given)
        is the union default graph and the only named graphs (otherwise every graph)."""

    def ask(self, query: str, *, bindings: Mapping[str, Node] | None = None,
            graphs: Sequence[URIRef] | None = None) -> bool:
        """Run an ASK."""

    def construct(self, query: str, *, bindings: Mapping[str, Node] | None = None,
                  graphs: Sequence[URIRef] | None = None) -> Graph:
        """Run a CONSTRUCT into an rdflib graph."""

    def answer(self, query: str, *, default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None,
               base_iri: str | None = None, bindings: Mapping[str, Node] | None = None) -> Answer:
        """Run a SPARQL query on a dataset of named graphs (IRIs): ``default_graphs`` merged as the default
        graph (None: every graph), ``named_graphs`` for ``GRAPH`` (None: every graph). Raises
        :class:`SparqlSyntaxError`."""

    def graph(self, name: URIRef) -> Graph:
        """Every triple of one named graph."""

    def graph_nquads(self, name: str) -> str:
        """Every triple of one named graph, as N-Triples text."""

    def graph_names(self) -> tuple[str, ...]:
        """The IRIs of the named graphs in the store (the same tuple until the graphs change)."""

    def version(self) -> int:
        """A number that changes whenever the store's data changes (beyond its journal, the audit trail): what
        is derived from the data may be kept while it stays the same."""

    def write(self, removed: str, added: str) -> None:
        """Remove then add quads, each given as N-Quads text, in one atomic write."""

    def replace_graph(self, name: URIRef, paths: Sequence[Path], added: str = "") -> None:
        """Replace a named graph with the contents of RDF files, atomically, adding ``added`` (N-Quads: its
        audit event) in the same write."""

    def quads(self) -> Iterator[Quad]:
        """Every quad in the store (tests and exports)."""

    def close(self) -> None:
        """Flush and release the store."""


class Updatable(Protocol):
    """A backend that runs SPARQL Update."""

    def run_update(self, update: str, base_iri: str | None = None) -> None:
        """Run a SPARQL update, atomically. Raises :class:`SparqlSyntaxError` or :class:`UpdateFailed`."""

    def rehearse(self, update: str, base_iri: str | None, graphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """What ``update`` would remove and add (N-Quads lines), run on a copy of the default graph and ``graphs``."""


class Dumpable(Protocol):
    """A backend that streams a whole graph out in constant memory."""

    def dump_graph(self, name: str, sink: Callable[[bytes], object]) -> None:
        """One named graph as N-Triples (as Oxigraph writes them), a chunk at a time into ``sink``."""


class Isolating(Protocol):
    """A backend that runs untrusted queries where they can be stopped: past ``timeout`` seconds the query is
    stopped and whatever ran it is freed (:class:`QueryStopped`)."""

    def isolated_answer(self, query: str, *, default_graphs: Sequence[str] | None,
                        named_graphs: Sequence[str] | None, base_iri: str | None, timeout: float,
                        row_cap: int) -> Answer:
        """:meth:`GraphStore.answer`, read in full (at most ``row_cap`` + 1 rows or triples) where it can be
        stopped."""


class Store(GraphStore, Updatable, Dumpable, Isolating, Protocol):
    """A backend with every capability (the embedded Oxigraph store)."""


def open_store(path: Path | None, *, read_only: bool = False, query_workers: int = 0,
               journal: str | None = None) -> Store:
    """The embedded store: on disk at ``path`` (``read_only`` beside a process that writes it), or in memory.
    ``query_workers`` processes run isolated queries (on disk only; in memory they run in a thread);
    ``journal`` names a graph only ever appended to (the audit trail), which queries that do not read it need
    not wait for."""
    from fmar.store.oxigraph import OxigraphStore

    return OxigraphStore(path, read_only=read_only, query_workers=query_workers, journal=journal)
