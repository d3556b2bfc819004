"""The validation staging store: an in-memory Oxigraph where SPARQL constraints meet submissions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

import pyoxigraph as ox
from rdflib.term import Node

from fmar.ntriples import term, to_node
from fmar.store.terms import to_oxigraph, to_rdflib

#: A SELECT and the focus nodes (N-Triples terms) to pre-bind ``$this`` to, one run each; None: run it once.
Query = tuple[str, Sequence[str] | None]
_THIS = ox.Variable("this")
#: The named graph the shapes graph is staged in, when a SPARQL constraint reads it (``$shapesGraph``).
SHAPES_GRAPH = "urn:fmar:staging:shapes"


class QueryFailed(Exception):
    """A SPARQL-based constraint's query could not run (its reason is the message)."""


class Staging:
    """An in-memory Oxigraph holding the reference data, where SPARQL constraints meet submissions.

    Each call puts the submitted triples (N-Triples terms) in a graph of its own, runs the queries
    over that graph and the reference, and drops it; calls may run concurrently.
    """

    REFERENCE = ox.NamedNode("urn:fmar:staging:reference")
    #: Calls with at least this many quads (a bulk batch) get a store of their own: a bulk load, nothing to remove.
    LARGE_QUADS = 2000
    #: The small-call store is rebuilt this often (a removed graph leaves tombstones behind).
    RENEW_EVERY = 256

    SHAPES = ox.NamedNode(SHAPES_GRAPH)

    def __init__(self, reference: Iterable[tuple[Node, Node, Node]],
                 shapes: Iterable[tuple[Node, Node, Node]] = ()) -> None:
        """``shapes``: the shapes graph, when a constraint reads it (``$shapesGraph``), as the named graph
        :attr:`SHAPES`."""
        self._reference = "".join([f"{term(s)} {term(p)} {term(o)} {self.REFERENCE} .\n" for s, p, o in reference]
                                  + [f"{term(s)} {term(p)} {term(o)} {self.SHAPES} .\n" for s, p, o in shapes]).encode()
        self._store = self._fresh()
        self._calls = 0

    def _fresh(self) -> ox.Store:
        store = ox.Store()
        store.bulk_load(input=self._reference, format=ox.RdfFormat.N_QUADS)
        return store

    def select_over(self, sources: Sequence[Mapping[str, Mapping[str, list[str]]]], queries: Sequence[Query],
                    predicates: frozenset[str] | None = None) -> list[list[dict[str, Node]] | QueryFailed]:
        """Each SELECT's rows over the reference and the facts of ``sources`` (subject → predicate → objects,
        N-Triples terms), of which only the triples of ``predicates`` are staged when given. A query with focus
        nodes runs once for each, ``$this`` pre-bound to it (and bound in its rows); a query that fails gives
        :class:`QueryFailed` in its place, so one broken constraint never hides the others' answers."""
        graph = ox.NamedNode(f"urn:fmar:staging:{uuid.uuid4()}")
        lines = [f"{s} {p} {o} {graph} .\n" for facts in sources for s, po in facts.items() for p, objects in po.items()
                 if predicates is None or p in predicates for o in objects]
        text = "".join(lines).encode()
        if len(lines) >= self.LARGE_QUADS:
            store = self._fresh()
            if b"_:" in text:  # parsed, not loaded: blank nodes keep their names (a pre-bound one is found)
                store.bulk_extend(ox.parse(text, format=ox.RdfFormat.N_QUADS, lenient=True))
            else:
                store.bulk_load(input=text, format=ox.RdfFormat.N_QUADS, lenient=True)  # IRIs checked on reading
            return self._answers(store, graph, queries)
        self._calls += 1
        if self._calls % self.RENEW_EVERY == 0:  # removed graphs leave tombstones that slow every query
            self._store = self._fresh()
        store = self._store
        if b"_:" in text:
            store.extend(ox.parse(text, format=ox.RdfFormat.N_QUADS))
        else:
            store.load(input=text, format=ox.RdfFormat.N_QUADS)
        try:
            return self._answers(store, graph, queries)
        finally:
            store.remove_graph(graph)

    def _answers(self, store: ox.Store, graph: ox.NamedNode,
                 queries: Sequence[Query]) -> list[list[dict[str, Node]] | QueryFailed]:
        answers: list[list[dict[str, Node]] | QueryFailed] = []
        for query, focus in queries:
            try:
                if focus is None:
                    answers.append(self._rows(store, graph, query, None))
                else:
                    answers.append([row for node in focus for row in self._rows(store, graph, query, node)])
            except (SyntaxError, OSError, ValueError) as exc:
                answers.append(QueryFailed(str(exc)))
        return answers

    def _rows(self, store: ox.Store, graph: ox.NamedNode, query: str, this: str | None) -> list[dict[str, Node]]:
        bound = None if this is None else to_oxigraph(to_node(this))
        result = store.query(query, default_graph=[self.REFERENCE, graph],
                             substitutions=None if bound is None else {_THIS: bound})
        if not isinstance(result, ox.QuerySolutions):
            raise ValueError("a SPARQL-based constraint must be a SELECT query")
        names = [v.value for v in result.variables]
        rows = [{n: to_rdflib(row[n]) for n in names if row[n] is not None} for row in result]
        if bound is not None:
            for row in rows:
                row.setdefault("this", to_node(this))
        return rows
