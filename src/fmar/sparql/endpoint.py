"""The SPARQL 1.1 endpoint (UC-05.01): queries on the graphs the caller may read, updates for the admin.

Every query runs on an explicit dataset: the graphs the request names (by the protocol's
``default-graph-uri``/``named-graph-uri``, or else the query's own ``FROM``/``FROM NAMED``)
that the caller may read, or all the graphs the caller may read when it names none. A graph
outside that set simply contributes nothing. ``SERVICE``, ``LOAD`` and codepoint escapes are
refused before the store sees the request. Queries run in a pool of their own, read at most
``sparql_row_cap`` rows and stop at ``sparql_time_limit`` seconds with a problem response; reads
of restricted graphs are logged in the audit trail.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from fmar.access.datasets import Datasets
from fmar.access.principal import Principal
from fmar.errors import BadRequest, NotFound, QuerySyntax, QueryTimeout, ResultTooLarge, SparqlRefused
from fmar.media import choose_media
from fmar.ntriples import quad_line
from fmar.sparql import results
from fmar.sparql.fence import AppendOnly, Unchecked, fence
from fmar.sparql.lexer import Refused, Token, dataset_clause, head, screen, tokens, with_using
from fmar.sparql.protocol import Operation
from fmar.store import Answer, SparqlSyntaxError
from fmar.store.oxigraph import convert_ntriples, valid_iri

if TYPE_CHECKING:
    from fmar.registry import Registry

T = TypeVar("T")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
_FORMS = {"ASK": "boolean", "SELECT": "solutions", "CONSTRUCT": "triples", "DESCRIBE": "triples"}
_OFFERED = {"boolean": results.BOOLEAN, "solutions": results.SOLUTIONS, "triples": results.GRAPHS}


@dataclass(frozen=True)
class Prepared:
    """A query checked and ready to run: its text, its dataset, and how to write its answer."""

    text: str
    default: list[str] | None  # None: every graph
    named: list[str] | None
    media: str
    restricted: bool


class SparqlEndpoint:
    """Runs SPARQL requests for callers under the policy table."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry
        self.datasets = Datasets(registry.policy, registry.iris, registry.store)
        self._pool = ThreadPoolExecutor(max_workers=registry.settings.sparql_workers, thread_name_prefix="fmar-sparql")

    @property
    def base_iri(self) -> str:
        """The base IRI of relative IRIs in requests: the endpoint's own address."""
        return f"{self.r.iris.base}sparql"

    # ------------------------------------------------------------------ queries

    def prepare(self, principal: Principal, operation: Operation, accept: str | None) -> Prepared:
        """Screen a query and work out its dataset and media type (before anything runs)."""
        readable = self.datasets.readable(principal, "sparql.query")
        _screened(operation.text)
        found = head(operation.text)
        media = choose_media(accept, _OFFERED[_form(found)], "the answer to this query")
        clause = dataset_clause(found, self.base_iri)
        if operation.dataset_given:
            default, named = list(operation.default), list(operation.named)
        elif clause.given:
            default, named = list(clause.default), list(clause.named)
        else:
            everything = readable.everything
            return Prepared(operation.text, None if everything else list(readable.graphs),
                            None if everything else list(readable.graphs), media, readable.restricted)
        for iri in (*default, *named):
            if not valid_iri(iri):
                raise BadRequest(f"{iri!r} is not a graph IRI")
        default, named = readable.only(default), readable.only(named)
        return Prepared(operation.text, default, named, media,
                        readable.restricted and self.datasets.beyond_public([*default, *named]))

    async def query(self, principal: Principal, operation: Operation, accept: str | None,
                    request_id: str | None = None) -> tuple[bytes, str]:
        """The serialized answer and its media type; the query runs in the endpoint's pool."""
        prepared = self.prepare(principal, operation, accept)
        stop = threading.Event()
        limit = self.r.settings.sparql_time_limit
        future = self._pool.submit(self._run, prepared, stop, time.monotonic() + limit)
        ran = True
        try:
            body = await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except QuerySyntax:
            ran = False  # nothing was read
            raise
        except TimeoutError as exc:
            stop.set()  # a query still reading rows stops at the next one
            raise QueryTimeout(f"the query ran past the time limit of {limit:g} s; narrow it, or page it with "
                               "LIMIT and OFFSET", limit=limit) from exc
        finally:
            if ran and prepared.restricted:  # a read of restricted graphs is logged, whatever became of it
                self.r.write.log_read("sparql.query", principal, _detail(prepared), request_id)
        return body, prepared.media

    def _run(self, prepared: Prepared, stop: threading.Event, deadline: float) -> bytes:
        try:
            answer = self.r.store.answer(prepared.text, default_graphs=prepared.default,
                                         named_graphs=prepared.named, base_iri=self.base_iri)
        except SparqlSyntaxError as exc:
            raise QuerySyntax(f"the query is not valid SPARQL 1.1: {exc}") from exc
        try:
            return self._written(answer, prepared, stop, deadline)
        except Exception as exc:  # noqa: BLE001 - re-raised below, without the frames that hold the iterator
            failure = exc
        finally:
            answer.close()  # here, in the pool's thread, where the engine's iterator was read
        raise failure.with_traceback(None)  # nothing of the query's frames travels with the refusal

    def _written(self, answer: Answer, prepared: Prepared, stop: threading.Event, deadline: float) -> bytes:
        if answer.form == "boolean":
            return results.boolean(answer.boolean, prepared.media)
        cap = self.r.settings.sparql_row_cap
        if answer.form == "solutions":
            rows = _read(answer.rows, cap, stop, deadline, "rows")
            return results.solutions(answer.variables, rows, prepared.media)
        triples = _read(answer.triples, cap, stop, deadline, "triples")
        return _as(prepared.media, "".join(f"{s} {p} {o} .\n" for s, p, o in triples))

    # ------------------------------------------------------------------ updates

    def update(self, principal: Principal, operation: Operation, request_id: str | None = None) -> None:
        """Run an update (the admin's only): screened, its dataset written in, audited in the same write."""
        self.r.policy.require_role(principal, "sparql.update")
        _screened(operation.text)
        found = tokens(operation.text)
        try:
            text = with_using(operation.text, found, list(operation.default), list(operation.named))
        except Refused as exc:
            raise BadRequest(str(exc)) from exc
        with self.r.store.write_lock:  # type: ignore[attr-defined]  # the graphs fenced are the graphs updated
            try:
                fenced = fence(text, tokens(text), self.base_iri, str(self.r.iris.graph("audit")),
                               self.r.store.graph_names())
            except AppendOnly as exc:
                raise SparqlRefused(str(exc)) from exc
            except Unchecked as exc:
                raise QuerySyntax(str(exc)) from exc
            try:
                self.r.write.run_update(principal, fenced.text, tokens(fenced.text), self.base_iri, request_id,
                                        fenced.graphs)
            except SparqlSyntaxError as exc:
                raise QuerySyntax(f"the update is not valid SPARQL 1.1: {exc}") from exc
        self.r.forget_cached()

    # ------------------------------------------------------------------ graph store (read side)

    def graph(self, principal: Principal, graph: str | None, default: bool, accept: str | None,
              request_id: str | None = None) -> tuple[bytes, str]:
        """A named graph the caller may read (Graph Store Protocol ``GET /store?graph=``), or the default
        graph (``?default``: the registry keeps nothing there); 404 alike for a graph that does not exist
        and one the caller may not read."""
        readable = self.datasets.readable(principal, "store.read")
        if default == (graph is not None):
            raise BadRequest("name one graph: ?graph=<IRI>, or ?default for the default graph")
        media = choose_media(accept, results.GRAPHS, "a graph")
        if graph is None:
            return _as(media, ""), media
        if not valid_iri(graph) or graph not in readable or graph not in self.r.store.graph_names():
            raise NotFound(f"no graph <{graph}> that you may read")
        if readable.restricted and self.datasets.beyond_public([graph]):
            self.r.write.log_read("store.read", principal, f"graph <{graph}>", request_id)
        return _as(media, self.r.store.graph_nquads(graph)), media

    # ------------------------------------------------------------------ service description

    def description(self, accept: str | None) -> tuple[bytes, str]:
        """The SPARQL 1.1 Service Description of this endpoint."""
        media = choose_media(accept, results.GRAPHS, "the service description")
        graph = Graph()
        service = URIRef(self.base_iri)
        graph.add((service, RDF.type, SD.Service))
        graph.add((service, SD.endpoint, service))
        for language in ("SPARQL11Query", "SPARQL11Update"):
            graph.add((service, SD.supportedLanguage, SD[language]))
        graph.add((service, SD.feature, SD.UnionDefaultGraph))
        for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                    "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
            graph.add((service, SD.resultFormat, URIRef(f"http://www.w3.org/ns/formats/{fmt}")))
        graph.add((service, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"), Literal(
            "FMAR registry SPARQL endpoint: each query runs on the graphs its caller may read; "
            "SERVICE and LOAD are not supported; updates are for the Market Facilitator only.", lang="en")))
        return _as(media, "".join(quad_line(s, p, o) for s, p, o in graph)), media


def _as(media: str, ntriples: str) -> bytes:
    return ntriples.encode() if media == "application/n-triples" else convert_ntriples(ntriples, media)


def _screened(text: str) -> None:
    try:
        screen(text)
    except Refused as exc:
        if exc.forbidden:
            raise SparqlRefused(str(exc)) from exc
        raise BadRequest(str(exc)) from exc


def _form(found: list[Token]) -> str:
    """The query form (its first form keyword: a subquery's SELECT comes after it)."""
    for token in found:
        if token.kind == "name" and token.text.upper() in _FORMS:
            return _FORMS[token.text.upper()]
    raise QuerySyntax("the query has no SELECT, ASK, CONSTRUCT or DESCRIBE")


def _read(items: Iterator[T], cap: int, stop: threading.Event, deadline: float, what: str) -> list[T]:
    """Every item, stopping (with a problem) at the time limit and past the row cap."""
    out: list[T] = []
    for item in items:
        if stop.is_set() or time.monotonic() > deadline:
            raise QueryTimeout("the query ran past its time limit")
        out.append(item)
        if len(out) > cap:
            raise ResultTooLarge(f"the query returns more than {cap:,} {what}; page it with LIMIT and OFFSET",
                                 cap=cap)
    return out


def _detail(prepared: Prepared) -> str:
    digest = hashlib.sha256(prepared.text.encode()).hexdigest()[:16]
    graphs = "every graph" if prepared.default is None else f"{len(set(prepared.default) | set(prepared.named or []))} graph(s)"
    return f"SPARQL query {digest} on {graphs}: {prepared.text[:500]}"
