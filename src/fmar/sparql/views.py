"""Unified views (UC-05.01): the asset view, one row an asset, filtered and paged, on the graphs the caller
may read, as framed JSON-LD (one object an asset), CSV or Turtle.

The view is a saved query (``data/queries/asset-view.rq``); its variables are data dictionary terms. The assets
a page shows (and the exact total) are chosen by the pattern between its ``#PAGE#`` marks, through the pager
(:mod:`fmar.paging`); the columns are then read for that page's assets only, and each row written on its own.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import Graph, URIRef

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.errors import BadRequest
from fmar.iris import CODE, Iris, code
from fmar.jsonld import JsonLdContext
from fmar.media import choose_media
from fmar.ntriples import parts, to_node
from fmar.paging import Pager
from fmar.store import GraphStore
from fmar.store.syntax import serialize
from fmar.writepath import WritePath

JSON_LD, CSV, TURTLE = "application/ld+json", "text/csv", "text/turtle"
#: The largest page: the worst page stays fast in every format (bench/README.md).
MAX_PAGE = 500
#: Filter → (view variable, code scheme); None for a scheme: an organisation, or a capacity bound.
FILTERS = {"assetCategory": ("assetCategory", "AssetCategory"), "dno": ("dno", "DNOCode"),
           "gspGroup": ("gspGroup", "GSPGroup"), "status": ("status", "AssetStatus"),
           "operatedBy": ("operatedBy", None), "minCapacity": ("ratedCapacity", None),
           "maxCapacity": ("ratedCapacity", None)}
FMAR = "https://w3id.org/fmar#"
_CODE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_VARIABLE = {"id": "identifier"}
_RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_ASSET = URIRef("https://w3id.org/fmar#Asset")


class AssetView:
    """Pages of the asset view for a caller."""

    def __init__(self, store: GraphStore, policy: Policy, iris: Iris, context: JsonLdContext, write: WritePath,
                 pager: Pager, query: Path) -> None:
        """``query``: the saved query of the view."""
        self.store, self.policy, self.iris, self.context, self.write, self.pager = \
            store, policy, iris, context, write, pager
        text = query.read_text(encoding="utf-8")
        self._prologue, self._body = text[:text.index("SELECT")], text[text.index("SELECT"):]
        _, self._page, _ = self._body.split("#PAGE#")
        self._predicate_of = {name: URIRef(iri) for iri, name in context.term_for.items()}
        self._asset_graphs = (str(iris.graph("public")), str(iris.graph("org/")))

    def page(self, principal: Principal, filters: dict[str, str], limit: int, after: str | None,
             accept: str | None, request_id: str | None = None) -> tuple[bytes, str, str | None]:
        """One page (the body, its media type, and the next page's cursor)."""
        readable = self.policy.readable(principal, "view.read", self.store.graph_names())
        media = choose_media(accept, [JSON_LD, CSV, TURTLE], "the asset view")
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        where = "\n".join(self._filter(name, value) for name, value in filters.items())
        # Of the graphs the caller may read, only the public view and the organisations' graphs hold assets.
        graphs = None if readable.everything else [g for g in readable.graphs if g.startswith(self._asset_graphs)]
        matching = f"{self._prologue}SELECT (?asset AS ?record) ?id WHERE {{ {self._page.replace('#FILTERS#', where)} }}"
        chosen = self.pager.page(matching, limit=limit, after=_safe_id(after) if after else None, default_graphs=graphs,
                                 named_graphs=[])
        rows: list[dict[str, str | None]] = []
        variables = self._body[:self._body.index("WHERE")].split()[1:]
        if chosen.records:
            body = self._body.replace("#PAGE#", "").replace("#FILTERS#", f"VALUES ?asset {{ {' '.join(chosen.records)} }}")
            answer = self.store.answer(self._prologue + body, default_graphs=graphs, named_graphs=[])
            try:
                variables = answer.variables
                rows = [dict(zip(variables, row, strict=True)) for row in answer.rows]
            finally:
                answer.close()
        variables = [v.lstrip("?") for v in variables]
        if readable.restricted:
            self.write.log_read("view.read", principal, f"asset view {filters} after={after}", request_id)
        if media == CSV:
            return _csv(variables, rows), media, chosen.cursor
        graphs_of = [self._graph(row) for row in rows]
        if media == TURTLE:
            merged = Graph()
            for graph in graphs_of:
                merged += graph
            return serialize(merged, media), media, chosen.cursor
        items = []
        for row, graph in zip(rows, graphs_of, strict=True):
            item = self.context.write(graph, URIRef(parts(row["asset"] or "<>")[0]))
            item.pop("@context", None)  # the document's context covers them all
            items.append(item)
        document = {"@context": self.context.deployment_url, "total": chosen.total, "@graph": items}
        if chosen.cursor:
            document["next"] = chosen.cursor
        return json.dumps(document, ensure_ascii=False).encode(), media, chosen.cursor

    def _filter(self, name: str, value: str) -> str:
        """A filter as a pattern of its own (the page's pattern binds only ?asset and ?id), its value checked (a
        code, an organisation ID, a number) before it is written."""
        if name not in FILTERS:
            raise BadRequest(f"unknown filter {name!r}; filters: {', '.join(FILTERS)}")
        variable, scheme = FILTERS[name]
        if scheme is not None:
            if not _CODE.match(value):
                raise BadRequest(f"{name} must be a {scheme} code")
            return f"?asset <{FMAR}{variable}> <{code(scheme, value)}> ."
        if name == "operatedBy":
            org = self.iris.parse(value, "organisations")
            if org is None:
                raise BadRequest("operatedBy must be an FMAR Organisation ID or IRI")
            return f"?asset <{FMAR}operatedBy> <{org}> ."
        try:
            kw = Decimal(value)
        except InvalidOperation as exc:
            raise BadRequest(f"{name} must be a number of kW") from exc
        if not kw.is_finite():
            raise BadRequest(f"{name} must be a number of kW")
        bound = ">=" if name == "minCapacity" else "<="
        return f"?asset <{FMAR}ratedCapacity> ?{name} FILTER (?{name} {bound} {format(kw, 'f')})"

    def _graph(self, row: dict[str, str | None]) -> Graph:
        """One row as triples about its asset (a variable is a data dictionary term)."""
        predicate_of = self._predicate_of
        graph = Graph()
        subject = to_node(row["asset"] or "<>")
        for variable, value in row.items():
            name = _VARIABLE.get(variable, variable)
            if value is not None and variable != "asset" and name in predicate_of:
                graph.add((subject, predicate_of[name], to_node(value)))
        graph.add((subject, _RDF_TYPE, _ASSET))
        return graph


def _safe_id(value: str) -> str:
    if not re.match(r"^[0-9a-f-]{1,36}$", value):
        raise BadRequest("after must be an asset ID (the cursor of the previous page)")
    return value


def _csv(variables: list[str], rows: list[dict[str, str | None]]) -> bytes:
    buffer = io.StringIO()
    columns = [c for c in variables if c != "asset"]
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["identifier" if c == "id" else c for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode()


def _cell(value: str | None) -> str:
    if value is None:
        return ""
    text = parts(value)[0]
    return text.rsplit("/", 1)[-1] if value[0] == "<" and text.startswith(CODE) else text
