"""The embedded store: pyoxigraph, on disk under the data directory or in memory."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from fmar.graphs import new_graph
from fmar.ntriples import term
from fmar.store import Answer, Quad, Row, SparqlSyntaxError

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".rdf": ox.RdfFormat.RDF_XML,
            ".jsonld": ox.RdfFormat.JSON_LD}


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph | ox.Triple) -> Node:
    """Convert a pyoxigraph term to the rdflib term services use."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


_NAMED: dict[str, ox.NamedNode] = {}


def _named(iri: str) -> ox.NamedNode:
    """IRIs repeat (predicates, codes, graphs): convert each once."""
    node = _NAMED.get(iri)
    if node is None:
        if len(_NAMED) > 200_000:
            _NAMED.clear()
        node = _NAMED[iri] = ox.NamedNode(iri)
    return node


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to pyoxigraph."""
    if isinstance(term, URIRef):
        return _named(term)
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=_named(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported term {term!r}")


@lru_cache(maxsize=65536)
def valid_iri(iri: str) -> bool:
    """Whether Oxigraph takes ``iri`` as an IRI (RFC 3987: no spaces, percent-encodings of two hex digits…)."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return True


SERIALISERS = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
               "application/rdf+xml": ox.RdfFormat.RDF_XML}
PREFIXES = {"fmar": "https://w3id.org/fmar#", "dcterms": "http://purl.org/dc/terms/",
            "xsd": "http://www.w3.org/2001/XMLSchema#", "sh": "http://www.w3.org/ns/shacl#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#"}


def convert_ntriples(text: str, media: str) -> bytes:
    """N-Triples text as another RDF syntax (Turtle, RDF/XML, JSON-LD), written by Oxigraph."""
    triples = list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))
    output = ox.serialize(triples, format=_SYNTAXES[media], prefixes=PREFIXES if media == "text/turtle" else None)
    assert output is not None  # noqa: S101 - no output file given, so bytes come back
    return output


_SYNTAXES = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
             "application/rdf+xml": ox.RdfFormat.RDF_XML, "application/ld+json": ox.RdfFormat.JSON_LD}


def serialize(graph: Graph, media: str) -> bytes:
    """A graph as Turtle, N-Triples or RDF/XML, written by Oxigraph (literals as the store keeps them)."""
    triples = []
    for s, p, o in graph:
        subject = to_oxigraph(s)
        if isinstance(subject, ox.Literal):
            raise TypeError("a literal cannot be a subject")
        triples.append(ox.Triple(subject, ox.NamedNode(str(p)), to_oxigraph(o)))
    triples.sort(key=str)
    output = ox.serialize(triples, format=SERIALISERS[media],
                          prefixes=PREFIXES if media == "text/turtle" else None)
    assert output is not None  # noqa: S101 - no output file given, so bytes come back
    return output


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

    def __init__(self, reference: Iterable[tuple[Node, Node, Node]]) -> None:
        self._reference = "".join(f"{term(s)} {term(p)} {term(o)} {self.REFERENCE} .\n"
                                  for s, p, o in reference).encode()
        self._store = self._fresh()
        self._calls = 0

    def _fresh(self) -> ox.Store:
        store = ox.Store()
        store.bulk_load(input=self._reference, format=ox.RdfFormat.N_QUADS)
        return store

    def select_over(self, sources: Sequence[Mapping[str, Mapping[str, list[str]]]], queries: Sequence[str],
                    predicates: frozenset[str] | None = None) -> list[list[dict[str, Node]]]:
        """Each SELECT's rows over the reference and the facts of ``sources`` (subject → predicate → objects,
        N-Triples terms), of which only the triples of ``predicates`` are staged when given."""
        graph = ox.NamedNode(f"urn:fmar:staging:{uuid.uuid4()}")
        lines = [f"{s} {p} {o} {graph} .\n" for facts in sources for s, po in facts.items() for p, objects in po.items()
                 if predicates is None or p in predicates for o in objects]
        text = "".join(lines).encode()
        if len(lines) >= self.LARGE_QUADS:
            store = self._fresh()
            store.bulk_load(input=text, format=ox.RdfFormat.N_QUADS, lenient=True)  # IRIs checked on reading
            return self._answers(store, graph, queries)
        self._calls += 1
        if self._calls % self.RENEW_EVERY == 0:  # removed graphs leave tombstones that slow every query
            self._store = self._fresh()
        store = self._store
        store.load(input=text, format=ox.RdfFormat.N_QUADS)
        try:
            return self._answers(store, graph, queries)
        finally:
            store.remove_graph(graph)

    def _answers(self, store: ox.Store, graph: ox.NamedNode, queries: Sequence[str]) -> list[list[dict[str, Node]]]:
        answers = []
        for query in queries:
            result = store.query(query, default_graph=[self.REFERENCE, graph])
            assert isinstance(result, ox.QuerySolutions)  # noqa: S101 - SELECT queries only
            names = [v.value for v in result.variables]
            answers.append([{n: to_rdflib(row[n]) for n in names if row[n] is not None} for row in result])
        return answers


def _quad(q: Quad) -> ox.Quad:
    s, p, o, g = q
    subject = to_oxigraph(s)
    if isinstance(subject, ox.Literal):
        raise TypeError("a literal cannot be a subject")
    return ox.Quad(subject, _named(str(p)), to_oxigraph(o), _named(str(g)))


class OxigraphStore:
    """:class:`fmar.store.GraphStore` over pyoxigraph; writes are serialised by one lock."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        """On disk at ``path`` (``read_only``: beside a process that has it open to write), or in memory."""
        self.path = path
        if path is None:
            self._store = ox.Store()
        else:
            self._store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
        self.read_only = read_only
        self.write_lock = threading.RLock()
        self._names: tuple[str, ...] | None = None

    def _query(self, query: str, bindings: Mapping[str, Node] | None,
               graphs: Sequence[URIRef] | None) -> object:
        if bindings:
            query = _bind(query, bindings)
        if graphs is None:
            return self._store.query(query, use_default_graph_as_union=True)
        default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.NamedNode(str(g)) for g in graphs]
        named: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(str(g)) for g in graphs]
        return self._store.query(query, default_graph=default, named_graphs=named)

    def select(self, query: str, *, bindings: Mapping[str, Node] | None = None,
               graphs: Sequence[URIRef] | None = None) -> list[Row]:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        return [{n: to_rdflib(sol[n]) for n in names if sol[n] is not None} for sol in result]

    def ask(self, query: str, *, bindings: Mapping[str, Node] | None = None,
            graphs: Sequence[URIRef] | None = None) -> bool:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QueryBoolean)
        return bool(result)

    def construct(self, query: str, *, bindings: Mapping[str, Node] | None = None,
                  graphs: Sequence[URIRef] | None = None) -> Graph:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QueryTriples)
        graph = new_graph()
        for t in result:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
        return graph

    def graph(self, name: URIRef) -> Graph:
        graph = new_graph()
        for q in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(name))):
            graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        return graph

    def apply(self, remove: Iterable[Quad], add: Iterable[Quad]) -> None:
        """One SPARQL update (DELETE DATA; INSERT DATA) is one transaction in Oxigraph."""
        removed = [_quad(q) for q in remove]
        added = [_quad(q) for q in add]
        if any(isinstance(t, ox.BlankNode) for q in removed + added for t in (q.subject, q.object)):
            raise ValueError("records are stored without blank nodes (skolemise them first)")
        known = self._names
        if known is not None and any(q.graph_name.value not in known for q in added):  # type: ignore[union-attr]
            self._names = None  # a new graph: the names are read again
        if not removed:  # adding only: one atomic extend, no SPARQL to parse
            with self.write_lock:
                self._store.extend(added)
            return
        parts = ["DELETE DATA { " + " ".join(_data(q) for q in removed) + " }"]
        if added:
            parts.append("INSERT DATA { " + " ".join(_data(q) for q in added) + " }")
        with self.write_lock:
            self._store.update(" ;\n".join(parts))

    def add_nquads(self, text: str) -> None:
        """Oxigraph's bulk loader (atomic since pyoxigraph 0.5): far faster than a transaction, used only to
        add new records. The text is the registry's own, every IRI in it checked already (``valid_iri``), so
        the loader need not check them again (``lenient``)."""
        data = text.encode()
        with self.write_lock:
            self._store.bulk_load(input=data, format=ox.RdfFormat.N_QUADS, lenient=True)
            self._names = None

    def answer(self, query: str, *, default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None,
               base_iri: str | None = None) -> Answer:
        options: dict[str, object] = {"base_iri": base_iri}
        if default_graphs is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = [_named(g) for g in default_graphs]
        if named_graphs is not None:
            options["named_graphs"] = [_named(g) for g in named_graphs]
        try:
            result = self._store.query(query, **options)  # type: ignore[arg-type]
        except SyntaxError as exc:
            raise SparqlSyntaxError(str(exc)) from exc
        if isinstance(result, ox.QueryBoolean):
            return Answer("boolean", boolean=bool(result))
        if isinstance(result, ox.QuerySolutions):
            names = [v.value for v in result.variables]
            rows = (tuple(None if (t := row[n]) is None else str(t) for n in names) for row in result)
            return Answer("solutions", variables=names, rows=rows)
        return Answer("triples", triples=((str(t.subject), str(t.predicate), str(t.object)) for t in result))

    def run_update(self, update: str, base_iri: str | None = None) -> None:
        with self.write_lock:
            try:
                self._store.update(update, base_iri=base_iri)
            except SyntaxError as exc:
                raise SparqlSyntaxError(str(exc)) from exc
            finally:
                self._names = None

    def rehearse(self, update: str, base_iri: str | None, graphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """What ``update`` would remove and add (N-Quads lines), found by running it on an in-memory copy of the
        default graph and ``graphs``: the change set of an update run as SPARQL text."""
        scratch = ox.Store()
        for name in graphs:
            scratch.bulk_load(input=self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=_named(name)) or b"",
                              format=ox.RdfFormat.N_TRIPLES, to_graph=_named(name))
        scratch.bulk_load(input=self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b"",
                          format=ox.RdfFormat.N_TRIPLES)
        before = set((scratch.dump(format=ox.RdfFormat.N_QUADS) or b"").decode().splitlines())
        try:
            scratch.update(update, base_iri=base_iri)
        except SyntaxError as exc:
            raise SparqlSyntaxError(str(exc)) from exc
        after = set((scratch.dump(format=ox.RdfFormat.N_QUADS) or b"").decode().splitlines())
        return sorted(f"{line}\n" for line in before - after), sorted(f"{line}\n" for line in after - before)

    def graph_names(self) -> tuple[str, ...]:
        """The named graphs' IRIs: one tuple, kept until a write may have made or dropped a graph."""
        names = self._names
        if names is None:
            names = self._names = tuple(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))
        return names

    def graph_nquads(self, name: str) -> str:
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for q in self._store.quads_for_pattern(None, None, None, _named(name))]
        output = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        assert output is not None  # noqa: S101 - no output file given, so bytes come back
        return output.decode()

    def canonical(self, nquads: str) -> str:
        """N-Quads as the store gives them back once written (typed literals in their canonical form, e.g.
        ``"…Z"`` for a UTC xsd:dateTime), in no particular order."""
        scratch = ox.Store()
        scratch.bulk_load(input=nquads.encode(), format=ox.RdfFormat.N_QUADS, lenient=True)
        output = scratch.dump(format=ox.RdfFormat.N_QUADS)
        assert output is not None  # noqa: S101 - no output file given, so bytes come back
        return output.decode()

    def dump_graph(self, name: str, sink: Callable[[bytes], object]) -> None:
        """One named graph as N-Triples, written by Oxigraph a chunk at a time into ``sink`` (constant memory).

        An on-disk store is dumped by a child process (``fmar.store.dump``, reading the store read-only) into a
        pipe: Oxigraph's writer holds the interpreter lock, so in this process it could not overlap with what
        ``sink`` does with the text."""
        if self.path is None:
            self._store.dump(_Sink(sink), format=ox.RdfFormat.N_TRIPLES, from_graph=_named(name))  # type: ignore[arg-type]
            return
        child = subprocess.Popen([sys.executable, "-m", "fmar.store.dump", str(self.path), name],  # noqa: S603
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None  # noqa: S101 - a pipe was asked for
        while chunk := child.stdout.read(1 << 20):
            sink(chunk)
        _, errors = child.communicate()
        if child.returncode != 0:
            raise OSError(f"dumping {name} failed: {errors.decode(errors='replace')[-500:]}")

    def load(self, paths: Sequence[Path], graph: URIRef, extra: Sequence[Quad] = ()) -> None:
        target = ox.NamedNode(str(graph))
        quads = [ox.Quad(t.subject, t.predicate, t.object, target)
                 for path in paths for t in ox.parse(path=str(path), format=_FORMATS[path.suffix])]
        quads += [_quad(q) for q in extra]
        parts = [f"DROP SILENT GRAPH {target}"]  # one update: the graph is replaced atomically
        if quads:
            parts.append("INSERT DATA { " + " ".join(_data(q) for q in quads) + " }")
        with self.write_lock:
            self._store.update(" ;\n".join(parts))
            self._names = None

    def quads(self) -> Iterator[Quad]:
        for q in self._store:
            graph = q.graph_name
            yield (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object),
                   URIRef(graph.value) if isinstance(graph, ox.NamedNode) else URIRef(""))

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store


class _Sink:
    """The file-like object Oxigraph's ``dump`` writes to."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write

    def write(self, chunk: bytes) -> int:
        self._write(chunk)
        return len(chunk)

    def flush(self) -> None:
        pass


_WHERE = re.compile(r"WHERE\s*\{", re.IGNORECASE)


def _bind(query: str, bindings: Mapping[str, Node]) -> str:
    """Bind variables with a VALUES block at the start of the first WHERE group.

    Terms are written by pyoxigraph (N-Triples escaping), so values can never
    change the query's structure.
    """
    match = _WHERE.search(query)
    if match is None:
        raise ValueError("a query with bindings needs a 'WHERE {' group")
    names = " ".join(f"?{k}" for k in bindings)
    values = " ".join(str(to_oxigraph(v)) for v in bindings.values())
    return f"{query[:match.end()]} VALUES ({names}) {{ ({values}) }} {query[match.end():]}"


def _data(q: ox.Quad) -> str:
    """A quad in SPARQL DATA-block syntax (N-Triples terms are valid SPARQL terms)."""
    return f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} . }}"
