"""The embedded store: pyoxigraph, on disk under the data directory or in memory."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from fmar.graphs import new_graph
from fmar.store import Answer, Quad, QueryStopped, Row, SparqlSyntaxError, UpdateFailed
from fmar.store.terms import named, to_oxigraph, to_rdflib
from fmar.store.workers import QueryWorkers, read_answer

_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".rdf": ox.RdfFormat.RDF_XML,
            ".jsonld": ox.RdfFormat.JSON_LD}
#: Added N-Quads of at least this many bytes (a bulk batch) are bulk-loaded (new SST files, far faster than a
#: transaction); smaller writes are one transaction, so that single records leave no small files behind.
BULK_BYTES = 256 * 1024


class OxigraphStore:
    """:class:`fmar.store.Store` over pyoxigraph."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False, query_workers: int = 0,
                 journal: str | None = None) -> None:
        """On disk at ``path`` (``read_only``: beside a process that has it open to write), or in memory;
        ``query_workers`` processes for isolated queries (on disk only); ``journal``: a graph only ever appended
        to (the audit trail), which a query that does not read it need not wait for."""
        self.path = path
        if path is None:
            self._store = ox.Store()
        else:
            self._store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
        self.read_only = read_only
        self._lock = threading.Lock()  # writes are one at a time (the write path serialises them too)
        self._names: tuple[str, ...] | None = None
        #: Bumped by every write: an isolated query worker opens the store again when what it reads has changed
        #: (``data_generation``: the last write beyond the journal).
        self.generation = self.data_generation = 0
        self._journal = f" <{journal}> .\n" if journal else None
        self._workers = QueryWorkers(path, query_workers) if path is not None and query_workers > 0 else None

    # ------------------------------------------------------------------ reading

    def _query(self, query: str, bindings: Mapping[str, Node] | None, graphs: Sequence[URIRef] | None) -> object:
        options: dict[str, object] = {}
        if bindings:
            options["substitutions"] = {ox.Variable(k): to_oxigraph(v) for k, v in bindings.items()}
        if graphs is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = [named(str(g)) for g in graphs]
            options["named_graphs"] = [named(str(g)) for g in graphs]
        try:
            return self._store.query(query, **options)  # type: ignore[arg-type]
        except RuntimeError as exc:  # e.g. a bound variable the query does not project
            raise ValueError(f"{exc} (bindings: {', '.join(bindings or {})})") from exc

    def select(self, query: str, *, bindings: Mapping[str, Node] | None = None,
               graphs: Sequence[URIRef] | None = None) -> list[Row]:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QuerySolutions)  # noqa: S101 - a SELECT
        names = [v.value for v in result.variables]
        return [{n: to_rdflib(sol[n]) for n in names if sol[n] is not None} for sol in result]

    def ask(self, query: str, *, bindings: Mapping[str, Node] | None = None,
            graphs: Sequence[URIRef] | None = None) -> bool:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QueryBoolean)  # noqa: S101 - an ASK
        return bool(result)

    def construct(self, query: str, *, bindings: Mapping[str, Node] | None = None,
                  graphs: Sequence[URIRef] | None = None) -> Graph:
        result = self._query(query, bindings, graphs)
        assert isinstance(result, ox.QueryTriples)  # noqa: S101 - a CONSTRUCT
        graph = new_graph()
        for t in result:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
        return graph

    def answer(self, query: str, *, default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None,
               base_iri: str | None = None, bindings: Mapping[str, Node] | None = None) -> Answer:
        return read_answer(self._store, query, default_graphs, named_graphs, base_iri,
                           {k: to_oxigraph(v) for k, v in (bindings or {}).items()})

    def isolated_answer(self, query: str, *, default_graphs: Sequence[str] | None,
                        named_graphs: Sequence[str] | None, base_iri: str | None, timeout: float,
                        row_cap: int) -> Answer:
        """In a worker process that is killed past ``timeout`` (on disk); in memory, in this thread, stopped
        between rows only."""
        if self._workers is not None:
            journal = self._journal
            reads_journal = journal is None or default_graphs is None or named_graphs is None or \
                any(f" <{g}> .\n" == journal for g in (*default_graphs, *named_graphs))
            required = self.generation if reads_journal else self.data_generation
            return self._workers.answer(required, self.generation, query, default_graphs, named_graphs, base_iri,
                                        timeout, row_cap)
        deadline = time.monotonic() + timeout
        answer = self.answer(query, default_graphs=default_graphs, named_graphs=named_graphs, base_iri=base_iri)
        try:
            items: list[tuple[str | None, ...]] | list[tuple[str, str, str]] = []
            for item in answer.rows if answer.form == "solutions" else answer.triples:
                if time.monotonic() > deadline:
                    raise QueryStopped("the query ran past its time limit")
                items.append(item)  # type: ignore[arg-type]
                if len(items) > row_cap:
                    break
        finally:
            answer.close()
        if answer.form == "solutions":
            return Answer("solutions", variables=answer.variables, rows=iter(items))
        return Answer(answer.form, boolean=answer.boolean, triples=iter(items))  # type: ignore[arg-type]

    def graph(self, name: URIRef) -> Graph:
        graph = new_graph()
        for q in self._store.quads_for_pattern(None, None, None, named(str(name))):
            graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        return graph

    def version(self) -> int:
        return self.data_generation

    def graph_names(self) -> tuple[str, ...]:
        """The named graphs' IRIs: one tuple, kept until a write may have made or dropped a graph."""
        names = self._names
        if names is None:
            names = self._names = tuple(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))
        return names

    def graph_nquads(self, name: str) -> str:
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for q in self._store.quads_for_pattern(None, None, None, named(name))]
        output = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        assert output is not None  # noqa: S101 - no output file given, so bytes come back
        return output.decode()

    def quads(self) -> Iterator[Quad]:
        for q in self._store:
            graph = q.graph_name
            yield (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object),
                   URIRef(graph.value) if isinstance(graph, ox.NamedNode) else URIRef(""))

    def dump_graph(self, name: str, sink: Callable[[bytes], object]) -> None:
        """One named graph as N-Triples, written by Oxigraph a chunk at a time into ``sink`` (constant memory).

        An on-disk store is dumped by a child process (``fmar.store.dump``, reading the store read-only) into a
        pipe: Oxigraph's writer holds the interpreter lock, so in this process it could not overlap with what
        ``sink`` does with the text."""
        if self.path is None:
            self._store.dump(_Sink(sink), format=ox.RdfFormat.N_TRIPLES, from_graph=named(name))  # type: ignore[arg-type]
            return
        child = subprocess.Popen([sys.executable, "-m", "fmar.store.dump", str(self.path), name],  # noqa: S603
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None  # noqa: S101 - a pipe was asked for
        while chunk := child.stdout.read(1 << 20):
            sink(chunk)
        _, errors = child.communicate()
        if child.returncode != 0:
            raise OSError(f"dumping {name} failed: {errors.decode(errors='replace')[-500:]}")

    # ------------------------------------------------------------------ writing

    def write(self, removed: str, added: str) -> None:
        """Removals and additions are one SPARQL update (DELETE DATA; INSERT DATA): one transaction. Additions
        alone are one transactional load, or a bulk load (atomic since pyoxigraph 0.5) when large; the text is
        the registry's own, every IRI in it checked already, so the bulk loader need not check them again."""
        with self._lock:
            try:
                if removed:
                    parts = [f"DELETE DATA {{ {_data(removed)} }}"]
                    if added:
                        parts.append(f"INSERT DATA {{ {_data(added)} }}")
                    self._store.update(" ;\n".join(parts))
                elif len(added) >= BULK_BYTES:
                    self._store.bulk_load(input=added.encode(), format=ox.RdfFormat.N_QUADS, lenient=True)
                elif added:
                    self._store.load(input=added.encode(), format=ox.RdfFormat.N_QUADS)
            finally:
                self._changed(journal_only=not removed and self._only_journal(added))

    def replace_graph(self, name: URIRef, paths: Sequence[Path], added: str = "") -> None:
        target = named(str(name))
        quads = [ox.Quad(t.subject, t.predicate, t.object, target)
                 for path in paths for t in ox.parse(path=str(path), format=_FORMATS[path.suffix])]
        data = " ".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} . }}" for q in quads)
        parts = [f"DROP SILENT GRAPH {target}"]  # one update: the graph is replaced atomically
        if data or added:
            parts.append(f"INSERT DATA {{ {data} {_data(added)} }}")
        with self._lock:
            try:
                self._store.update(" ;\n".join(parts))
            finally:
                self._changed()

    def run_update(self, update: str, base_iri: str | None = None) -> None:
        with self._lock:
            try:
                self._store.update(update, base_iri=base_iri)
            except SyntaxError as exc:
                raise SparqlSyntaxError(str(exc)) from exc
            except (RuntimeError, OSError) as exc:
                raise UpdateFailed(str(exc)) from exc
            finally:
                self._changed()

    def rehearse(self, update: str, base_iri: str | None, graphs: Sequence[str]) -> tuple[list[str], list[str]]:
        """What ``update`` would remove and add (N-Quads lines), found by running it on an in-memory copy of the
        default graph and ``graphs``: the change set of an update run as SPARQL text."""
        scratch = ox.Store()
        for name in graphs:
            scratch.add_graph(named(name))  # an empty graph exists too (it can be dropped or cleared)
            scratch.bulk_load(input=self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=named(name)) or b"",
                              format=ox.RdfFormat.N_TRIPLES, to_graph=named(name))
        scratch.bulk_load(input=self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b"",
                          format=ox.RdfFormat.N_TRIPLES)
        before = set((scratch.dump(format=ox.RdfFormat.N_QUADS) or b"").decode().splitlines())
        try:
            scratch.update(update, base_iri=base_iri)
        except SyntaxError as exc:
            raise SparqlSyntaxError(str(exc)) from exc
        except (RuntimeError, OSError) as exc:
            raise UpdateFailed(str(exc)) from exc
        after = set((scratch.dump(format=ox.RdfFormat.N_QUADS) or b"").decode().splitlines())
        return sorted(f"{line}\n" for line in before - after), sorted(f"{line}\n" for line in after - before)

    def _only_journal(self, nquads: str) -> bool:
        """Whether every quad of ``nquads`` is in the journal (looked at lazily: a batch's first line says no)."""
        journal = self._journal
        if journal is None or not nquads[:nquads.find("\n") + 1].endswith(journal):
            return False
        return all(line.endswith(journal) for line in nquads.splitlines(keepends=True))

    def _changed(self, journal_only: bool = False) -> None:
        self._names = None
        self.generation += 1
        if not journal_only:
            self.data_generation = self.generation

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
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


def _data(nquads: str) -> str:
    """N-Quads lines (the registry's own: terms written by :mod:`fmar.ntriples`, each quad in a named graph) in
    SPARQL DATA-block syntax."""
    blocks = []
    for line in nquads.splitlines():
        if line:
            triple, graph, _ = line.rsplit(" ", 2)
            blocks.append(f"GRAPH {graph} {{ {triple} . }}")
    return " ".join(blocks)
