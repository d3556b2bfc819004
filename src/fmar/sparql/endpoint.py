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
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol, TypeVar

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.errors import BadRequest, NotFound, QuerySyntax, QueryTimeout, ResultTooLarge, SparqlRefused
from fmar.iris import Iris
from fmar.media import choose_media
from fmar.ntriples import quad_line
from fmar.sparql import results
from fmar.sparql.budget import Budget
from fmar.sparql.fence import AppendOnly, Unchecked, fence
from fmar.sparql.lexer import Refused, Token, dataset_clause, head, screen, tokens, with_using
from fmar.sparql.protocol import Operation
from fmar.store import Answer, GraphStore, Isolating, QueryStopped, SparqlSyntaxError, UpdateFailed
from fmar.store.syntax import convert_ntriples
from fmar.store.terms import valid_iri
from fmar.writepath import WritePath

T = TypeVar("T")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
_FORMS = {"ASK": "boolean", "SELECT": "solutions", "CONSTRUCT": "triples", "DESCRIBE": "triples"}
_OFFERED = {"boolean": results.BOOLEAN, "solutions": results.SOLUTIONS, "triples": results.GRAPHS}
#: How much longer than the time limit the endpoint waits for a worker's own verdict.
_GRACE = 2.0


class QueryStore(GraphStore, Isolating, Protocol):
    """What the endpoint needs of the store: the core, and queries run where they can be stopped."""


@dataclass(frozen=True)
class Limits:
    """What one query may cost: seconds, rows (or triples), and how many run at once."""

    seconds: float
    rows: int
    workers: int


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

    def __init__(self, store: QueryStore, policy: Policy, iris: Iris, write: WritePath, limits: Limits,
                 budget: Budget) -> None:
        """``budget``: what anonymous callers may spend."""
        self.store, self.policy, self.iris, self.write, self.limits, self.budget = \
            store, policy, iris, write, limits, budget
        self._pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="fmar-sparql")

    @property
    def base_iri(self) -> str:
        """The base IRI of relative IRIs in requests: the endpoint's own address."""
        return f"{self.iris.base}sparql"

    # ------------------------------------------------------------------ queries

    def prepare(self, principal: Principal, operation: Operation, accept: str | None) -> Prepared:
        """Screen a query and work out its dataset and media type (before anything runs)."""
        readable = self.policy.readable(principal, "sparql.query", self.store.graph_names())
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
                        readable.restricted and self.policy.beyond_public([*default, *named]))

    async def query(self, principal: Principal, operation: Operation, accept: str | None,
                    request_id: str | None = None, client: str = "") -> tuple[bytes, str]:
        """The serialized answer and its media type. The query runs in a worker where it is stopped at the time
        limit (its worker freed); an anonymous ``client`` spends its budget (429 when spent)."""
        prepared = await asyncio.to_thread(self.prepare, principal, operation, accept)
        spending: AbstractContextManager[None] = self.budget.spend(client) if principal.anonymous else nullcontext()
        with spending:
            future = self._pool.submit(self._run, prepared)
            ran = True
            try:
                body = await asyncio.wait_for(asyncio.wrap_future(future), self.limits.seconds + _GRACE)
            except QuerySyntax:
                ran = False  # nothing was read
                raise
            except (TimeoutError, QueryStopped) as exc:
                raise QueryTimeout(f"the query ran past the time limit of {self.limits.seconds:g} s and was stopped; "
                                   "narrow it, or page it with LIMIT and OFFSET", limit=self.limits.seconds) from exc
            finally:
                if ran and prepared.restricted:  # a read of restricted graphs is logged, whatever became of it
                    await asyncio.to_thread(self.write.log_read, "sparql.query", principal, _detail(prepared),
                                            request_id)
        return body, prepared.media

    def _run(self, prepared: Prepared) -> bytes:
        try:
            answer = self.store.isolated_answer(prepared.text, default_graphs=prepared.default,
                                                named_graphs=prepared.named, base_iri=self.base_iri,
                                                timeout=self.limits.seconds, row_cap=self.limits.rows)
        except SparqlSyntaxError as exc:
            raise QuerySyntax(f"the query is not valid SPARQL 1.1: {exc}") from None
        return self._written(answer, prepared)

    def _written(self, answer: Answer, prepared: Prepared) -> bytes:
        if answer.form == "boolean":
            return results.boolean(answer.boolean, prepared.media)
        if answer.form == "solutions":
            return results.solutions(answer.variables, self._capped(list(answer.rows), "rows"), prepared.media)
        triples = self._capped(list(answer.triples), "triples")
        return _as(prepared.media, "".join(f"{s} {p} {o} .\n" for s, p, o in triples))

    def _capped(self, items: list[T], what: str) -> list[T]:
        cap = self.limits.rows
        if len(items) > cap:
            raise ResultTooLarge(f"the query returns more than {cap:,} {what}; page it with LIMIT and OFFSET", cap=cap)
        return items

    # ------------------------------------------------------------------ updates

    def update(self, principal: Principal, operation: Operation, request_id: str | None = None) -> None:
        """Run an update (the admin's only): screened, its dataset written in, fenced (the audit graph is
        append-only) and audited in the same write."""
        self.policy.require_role(principal, "sparql.update")
        _screened(operation.text)
        try:
            text = with_using(operation.text, tokens(operation.text), list(operation.default), list(operation.named))
        except Refused as exc:
            raise BadRequest(str(exc)) from exc
        audit = str(self.iris.graph("audit"))

        def fenced(graphs: tuple[str, ...]) -> tuple[str, frozenset[str] | None]:
            try:
                found = fence(text, tokens(text), self.base_iri, audit, graphs)
            except AppendOnly as exc:
                raise SparqlRefused(str(exc)) from exc
            except Unchecked as exc:
                raise QuerySyntax(str(exc)) from exc
            update, found_tokens = found.text, tokens(found.text)
            if found_tokens and found_tokens[-1].kind == "punct" and found_tokens[-1].text == ";":
                update = update[:found_tokens[-1].start]  # a trailing ';' ends the update
            return update, found.graphs

        try:
            self.write.run_update(principal, fenced, self.base_iri, request_id)
        except SparqlSyntaxError as exc:
            raise QuerySyntax(f"the update is not valid SPARQL 1.1: {exc}") from exc
        except UpdateFailed as exc:
            raise BadRequest(f"the update cannot be applied to the graphs as they are: {exc}") from exc

    # ------------------------------------------------------------------ graph store (read side)

    def graph(self, principal: Principal, graph: str | None, default: bool, accept: str | None,
              request_id: str | None = None) -> tuple[bytes, str]:
        """A named graph the caller may read (Graph Store Protocol ``GET /store?graph=``), or the default
        graph (``?default``: the registry keeps nothing there); 404 alike for a graph that does not exist
        and one the caller may not read."""
        readable = self.policy.readable(principal, "store.read", self.store.graph_names())
        if default == (graph is not None):
            raise BadRequest("name one graph: ?graph=<IRI>, or ?default for the default graph")
        media = choose_media(accept, results.GRAPHS, "a graph")
        if graph is None:
            return _as(media, ""), media
        if not valid_iri(graph) or graph not in readable or graph not in self.store.graph_names():
            raise NotFound(f"no graph <{graph}> that you may read")
        if readable.restricted and self.policy.beyond_public([graph]):
            self.write.log_read("store.read", principal, f"graph <{graph}>", request_id)
        return _as(media, self.store.graph_nquads(graph)), media

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


def _detail(prepared: Prepared) -> str:
    digest = hashlib.sha256(prepared.text.encode()).hexdigest()[:16]
    graphs = "every graph" if prepared.default is None else f"{len(set(prepared.default) | set(prepared.named or []))} graph(s)"
    return f"SPARQL query {digest} on {graphs}: {prepared.text[:500]}"
