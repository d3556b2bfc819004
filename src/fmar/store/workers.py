"""Isolated queries: untrusted SPARQL runs in worker processes, each with the store opened read-only, so that a
query past its time limit can be stopped by stopping its process (Oxigraph cannot cancel a query in a thread).

A worker opens the store again when the server has written since it last opened it (the store's
``generation``), so every query sees every write acknowledged before it. A worker that is stopped is replaced
at once; the pool never has fewer than its size.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from fmar.store import Answer, QueryStopped, SparqlSyntaxError
from fmar.store.terms import named


def read_answer(store: ox.Store, query: str, default_graphs: Sequence[str] | None,
                named_graphs: Sequence[str] | None, base_iri: str | None,
                substitutions: Mapping[str, ox.NamedNode | ox.BlankNode | ox.Literal] | None = None) -> Answer:
    """A query's answer with its terms as N-Triples text, rows read lazily."""
    options: dict[str, object] = {"base_iri": base_iri}
    if default_graphs is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = [named(g) for g in default_graphs]
    if named_graphs is not None:
        options["named_graphs"] = [named(g) for g in named_graphs]
    if substitutions:
        options["substitutions"] = {ox.Variable(k): v for k, v in substitutions.items()}
    try:
        result = store.query(query, **options)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise SparqlSyntaxError(str(exc)) from exc
    if isinstance(result, ox.QueryBoolean):
        return Answer("boolean", boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        rows = (tuple(None if (t := row[n]) is None else str(t) for n in names) for row in result)
        return Answer("solutions", variables=names, rows=rows)
    return Answer("triples", triples=((str(t.subject), str(t.predicate), str(t.object)) for t in result))


#: Rows travel from a worker as one text, a line a row, its terms (N-Triples, which escape every tab and line
#: break) joined by a tab: one string to pickle rather than a tuple a row.
_SEPARATOR, _UNBOUND = "\t", ""


def _serve(path: str, connection: Connection) -> None:
    """A worker's loop: (the writes the query must see, the writes made so far, query, dataset, base, cap) in,
    ("ok", answer) or ("error", kind, text) out."""
    store, opened = None, -1
    while True:
        try:
            required, made, query, default, named_, base, cap = connection.recv()
        except EOFError:
            return
        try:
            if store is None or required > opened:  # a write it must see came after it was opened
                store, opened = None, -1
                store, opened = ox.Store.read_only(path), made
            answer = read_answer(store, query, default, named_, base)
            lines: list[str] = []
            for item in answer.rows if answer.form == "solutions" else answer.triples:
                lines.append(_SEPARATOR.join(_UNBOUND if t is None else t for t in item))
                if len(lines) > cap:
                    break
            connection.send(("ok", answer.form, answer.boolean, answer.variables, "\n".join(lines), len(lines)))
        except SparqlSyntaxError as exc:
            connection.send(("error", "syntax", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the server, which raises it
            connection.send(("error", type(exc).__name__, str(exc)))


class _Worker:
    def __init__(self, path: Path) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: the server's threads stay behind
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(str(path), child), daemon=True, name="fmar-query")
        self.process.start()
        child.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


class QueryWorkers:
    """A pool of query worker processes over an on-disk store."""

    def __init__(self, path: Path, size: int) -> None:
        """Workers start on first use (a command that runs no query starts none), or at :meth:`start`."""
        self.path, self.size = path, size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = self._started = False
        self._all: set[_Worker] = set()
        self._guard = threading.Lock()

    def start(self) -> None:
        """Start the workers (each in a thread of its own: a worker takes a moment to start)."""
        with self._guard:
            if self._started:
                return
            self._started = True
        for _ in range(self.size):
            threading.Thread(target=self._add, name="fmar-query-start", daemon=True).start()

    def _add(self) -> None:
        worker = _Worker(self.path)
        with self._guard:
            if self._closed:
                worker.stop()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def answer(self, required: int, made: int, query: str, default_graphs: Sequence[str] | None,
               named_graphs: Sequence[str] | None, base_iri: str | None, timeout: float, row_cap: int) -> Answer:
        """Run a query in a free worker, which opens the store again unless it opened it after write number
        ``required`` (the last the query must see; ``made``: the writes made so far); waiting for a worker counts
        against ``timeout``."""
        self.start()
        deadline = time.monotonic() + timeout
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty as exc:
            raise QueryStopped("every query worker stayed busy for the whole time limit") from exc
        try:
            worker.connection.send((required, made, query, None if default_graphs is None else list(default_graphs),
                                    None if named_graphs is None else list(named_graphs), base_iri, row_cap))
            if not worker.connection.poll(max(deadline - time.monotonic(), 0)):
                raise QueryStopped("the query ran past its time limit")
            reply = worker.connection.recv()
        except BaseException:
            self._replace(worker)
            raise
        self._idle.put(worker)
        if reply[0] == "error":
            if reply[1] == "syntax":
                raise SparqlSyntaxError(reply[2])
            raise OSError(f"the query failed in its worker: {reply[1]}: {reply[2]}")
        _, form, boolean, variables, text, count = reply
        items = [tuple(None if t == _UNBOUND else t for t in line.split(_SEPARATOR))
                 for line in text.split("\n")] if count else []
        if form == "solutions":
            return Answer(form, variables=variables, rows=iter(items))
        return Answer(form, boolean=boolean, triples=iter(items))  # type: ignore[arg-type]

    def _replace(self, worker: _Worker) -> None:
        """Stop a worker (and the query it runs), and start another in its place."""
        with self._guard:
            self._all.discard(worker)
        worker.stop()
        threading.Thread(target=self._add, name="fmar-query-respawn", daemon=True).start()

    def close(self) -> None:
        with self._guard:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()
