"""Unified views (UC-05.01): the asset view, one row an asset, filtered and paged, on the graphs the caller
may read, as framed JSON-LD (one object an asset), CSV or Turtle.

The view is a saved query (``data/queries/asset-view.rq``); its variables are data dictionary terms.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from rdflib import Graph, URIRef

from fmar.access.principal import Principal
from fmar.errors import BadRequest
from fmar.iris import CODE, code
from fmar.media import choose_media
from fmar.ntriples import parts, to_node
from fmar.store.oxigraph import serialize

if TYPE_CHECKING:
    from fmar.registry import Registry

JSON_LD, CSV, TURTLE = "application/ld+json", "text/csv", "text/turtle"
#: Filter → (view variable, code scheme); None for a scheme: an organisation, or a capacity bound.
FILTERS = {"assetCategory": ("assetCategory", "AssetCategory"), "dno": ("dno", "DNOCode"),
           "gspGroup": ("gspGroup", "GSPGroup"), "status": ("status", "AssetStatus"),
           "operatedBy": ("operatedBy", None), "minCapacity": ("ratedCapacity", None),
           "maxCapacity": ("ratedCapacity", None)}
_CODE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_VARIABLE = {"id": "identifier"}


class AssetView:
    """Pages of the asset view for a caller."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry
        text = registry.settings.resource("data", "queries", "asset-view.rq").read_text(encoding="utf-8")
        self._prologue, self._body = text[:text.index("SELECT")], text[text.index("SELECT"):]

    def page(self, principal: Principal, filters: dict[str, str], limit: int, after: str | None,
             accept: str | None, request_id: str | None = None) -> tuple[bytes, str, str | None]:
        """One page (the body, its media type, and the next page's cursor)."""
        readable = self.r.sparql.datasets.readable(principal, "view.read")
        media = choose_media(accept, [JSON_LD, CSV, TURTLE], "the asset view")
        where = "\n".join(self._filter(name, value) for name, value in filters.items())
        graphs = None if readable.everything else list(readable.graphs)
        total = self._total(where, graphs)
        paged = where + (f'\nFILTER (STR(?id) > "{_safe_id(after)}")' if after else "")
        body = self._body.replace("#FILTERS#", paged) + f" LIMIT {limit + 1}"
        answer = self.r.store.answer(self._prologue + body, default_graphs=graphs, named_graphs=[])
        rows = [dict(zip(answer.variables, row, strict=True)) for row in answer.rows]
        cursor = parts(rows[limit - 1]["id"] or '""')[0] if len(rows) > limit else None
        rows = rows[:limit]
        if readable.restricted:
            self.r.write.log_read("view.read", principal, f"asset view {filters} after={after}", request_id)
        if media == CSV:
            return _csv(answer.variables, rows), media, cursor
        graph = self._graph(rows)
        if media == TURTLE:
            return serialize(graph, media), media, cursor
        items = [self.r.context.write(graph, URIRef(parts(row["asset"] or "<>")[0])) for row in rows]
        for item in items:
            item.pop("@context", None)  # the document's context covers them all
        document = {"@context": self.r.context.deployment_url, "total": total, "@graph": items}
        if cursor:
            document["next"] = cursor
        return json.dumps(document, ensure_ascii=False).encode(), media, cursor

    def _filter(self, name: str, value: str) -> str:
        if name not in FILTERS:
            raise BadRequest(f"unknown filter {name!r}; filters: {', '.join(FILTERS)}")
        variable, scheme = FILTERS[name]
        if scheme is not None:
            if not _CODE.match(value):
                raise BadRequest(f"{name} must be a {scheme} code")
            return f"FILTER (?{variable} = <{code(scheme, value)}>)"
        if name == "operatedBy":
            org = self.r.iris.parse(value, "organisations")
            if org is None:
                raise BadRequest("operatedBy must be an FMAR Organisation ID or IRI")
            return f"FILTER (?operatedBy = <{org}>)"
        try:
            kw = Decimal(value)
        except InvalidOperation as exc:
            raise BadRequest(f"{name} must be a number of kW") from exc
        if not kw.is_finite():
            raise BadRequest(f"{name} must be a number of kW")
        return f"FILTER (?ratedCapacity {'>=' if name == 'minCapacity' else '<='} {format(kw, 'f')})"

    def _total(self, where: str, graphs: list[str] | None) -> int:
        body = self._body.replace("#FILTERS#", where).rsplit("ORDER BY", 1)[0]
        query = f"{self._prologue}SELECT (COUNT(*) AS ?total) WHERE {{ {{ {body} }} }}"
        answer = self.r.store.answer(query, default_graphs=graphs, named_graphs=[])
        return int(parts(next(answer.rows)[0] or '"0"')[0])

    def _graph(self, rows: list[dict[str, str | None]]) -> Graph:
        """The rows as triples about each asset (a variable is a data dictionary term)."""
        terms = self.r.context.term_for
        predicate_of = {term: URIRef(iri) for iri, term in terms.items()}
        graph = Graph()
        for row in rows:
            subject = to_node(row["asset"] or "<>")
            for variable, value in row.items():
                name = _VARIABLE.get(variable, variable)
                if value is not None and variable != "asset" and name in predicate_of:
                    graph.add((subject, predicate_of[name], to_node(value)))
            graph.add((subject, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                       URIRef("https://w3id.org/fmar#Asset")))
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
