"""Export (UC-02.05): every asset the caller may see, streamed a page at a time in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from rdflib import Graph, URIRef
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.assets import SEARCHED, search_patterns
from fmar.errors import BadRequest
from fmar.iris import CODE, FMAR, Iris
from fmar.jsonld import JsonLdContext
from fmar.records import load_records
from fmar.store import GraphStore, projected
from fmar.store.syntax import serialize
from fmar.writepath import WritePath

FORMATS = {"jsonld": "application/ld+json", "turtle": "text/turtle", "ntriples": "application/n-triples",
           "csv": "text/csv"}
PAGE = 500
_MATCHING = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?asset ?id %s WHERE { %s }"""
#: CSV columns: the record's IRI and ID, then the data dictionary terms of an asset.
CSV_TERMS = ("assetName", "friendlyCode", "assetCategory", "operatedBy", "status", "ratedCapacity",
             "generationCapacity", "demandCapacity", "installedCapacity", "storageCapacity", "energySource",
             "demandTechType", "otherDescription", "manufacturer", "assetModel", "serialNumber", "importMPAN",
             "exportMPAN", "dno", "gspGroup", "postcode", "connectionStatus", "connectionType", "commissioningDate",
             "effectiveDate", "ownerType", "consentReference", "statusNote", "deregistrationReason", "recordedAt")


class Export:
    """Streams assets as JSON-LD, Turtle, N-Triples or CSV."""

    def __init__(self, store: GraphStore, iris: Iris, context: JsonLdContext, policy: Policy, write: WritePath) -> None:
        self.store, self.iris, self.context, self.policy, self.write = store, iris, context, policy, write

    def stream(self, principal: Principal, fmt: str, filters: dict[str, str] | None = None,
               request_id: str | None = None) -> tuple[str, Iterator[bytes]]:
        """The media type and the chunks of an export; the export itself is logged in the audit trail."""
        visible = self.policy.search_filter(principal, "asset.export", org="?org", area="?dno")
        if fmt not in FORMATS:
            raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
        patterns, bindings = search_patterns(self.iris, filters or {})
        self.write.log_read("asset.export", principal, f"format={fmt}", request_id)
        where = patterns + ("FILTER (false)\n" if visible is None else visible)
        return FORMATS[fmt], self._chunks(fmt, where, bindings)

    def pages(self, where: str, bindings: dict[str, Node]) -> Iterator[list[tuple[URIRef, Graph]]]:
        """Assets matching ``where`` (a SPARQL pattern over ``SEARCHED``'s ?asset, ?org and ?dno), in ID order, a
        page of records at a time. The matching assets are found in one query (no sort by the store, which
        would sort every one of them again for every page), their records read a page at a time."""
        rows = self.store.select(_MATCHING % (projected(bindings), SEARCHED + where), bindings=bindings)
        matching = sorted((str(r["id"]), URIRef(str(r["asset"]))) for r in rows)
        for start in range(0, len(matching), PAGE):
            yield load_records(self.store, [asset for _, asset in matching[start:start + PAGE]])

    def _chunks(self, fmt: str, where: str, bindings: dict[str, Node]) -> Iterator[bytes]:
        if fmt == "jsonld":
            yield f'{{"@context": "{self.context.deployment_url}", "@graph": ['.encode()
        if fmt == "csv":
            yield _csv_row(["id", "identifier", *CSV_TERMS])
        first = True
        for page in self.pages(where, bindings):
            if fmt in ("turtle", "ntriples"):
                merged = Graph()
                for _, graph in page:
                    merged += graph
                yield serialize(merged, FORMATS[fmt])
            elif fmt == "csv":
                yield b"".join(_csv_row(_csv_values(asset, graph, self.iris.identifier(asset))) for asset, graph in page)
            else:
                docs = []
                for asset, graph in page:
                    doc = self.context.write(graph, asset)
                    doc.pop("@context", None)
                    docs.append(json.dumps(doc))
                yield (("" if first else ",") + ",".join(docs)).encode()
                first = False
        if fmt == "jsonld":
            yield b"]}\n"


def _csv_values(asset: URIRef, graph: Graph, identifier: str) -> list[str]:
    values = [str(asset), identifier]
    for term in CSV_TERMS:
        objects = sorted(graph.objects(asset, FMAR[term if term != "status" else "status"]), key=str)
        values.append("|".join(_cell(o) for o in objects))
    return values


def _cell(value: Node) -> str:
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith(CODE) else text


def _csv_row(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode()
