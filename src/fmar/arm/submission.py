"""An asset submission read: JSON (or JSON-LD) to the asset's triples as N-Triples terms, with what the data
dictionary derives (the GSP group from the MPAN, the category's defaults) and the registry stamps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import XSD

from fmar.access.principal import Principal
from fmar.catalogue import Catalogue
from fmar.errors import Unprocessable
from fmar.graphs import new_graph
from fmar.iris import DCTERMS, FMAR, Iris, code, new_id
from fmar.jsonld import JsonLdContext
from fmar.ntriples import is_iri, literal, parts, term, to_node
from fmar.records import REGISTRY_SET, expand_reference, pop_text

ASSET_STATUS = "AssetStatus"
#: Asset terms only the registry sets.
REGISTRY_ASSET_TERMS = ("statusNote", "deregistrationReason", "materialChange", "postcodeDistrict")

#: N-Triples terms the registration path reads or writes.
IMPORT, EXPORT, SERIAL, FRIENDLY = (term(p) for p in (FMAR.importMPAN, FMAR.exportMPAN, FMAR.serialNumber,
                                                      FMAR.friendlyCode))
_GSP, _CATEGORY, _OPERATED_BY, _DNO = (term(p) for p in (FMAR.gspGroup, FMAR.assetCategory, FMAR.operatedBy, FMAR.dno))
_IDENTIFIER, _STATUS, _RECORDED_AT = term(DCTERMS.identifier), term(FMAR.status), term(FMAR.recordedAt)
_PENDING = term(code(ASSET_STATUS, "PendingValidation"))
_XSD_DECIMAL = str(XSD.decimal)
_DECIMAL_TYPE = f"^^<{_XSD_DECIMAL}>"
_XSD_DATETIME = str(XSD.dateTime)
Terms = list[tuple[str, str, str]]


@dataclass
class NewAsset:
    """A new asset as N-Triples terms, with what the policy table and the uniqueness checks look at."""

    record: URIRef
    triples: Terms
    org: URIRef
    area: URIRef | None
    justification: str | None

    def value(self, predicate: str) -> str | None:
        """The (first) object of one of the record's own predicates (an N-Triples term)."""
        subject = f"<{self.record}>"
        return next((o for s, p, o in self.triples if s == subject and p == predicate), None)

    def graph(self) -> Graph:
        graph = new_graph()
        for s, p, o in self.triples:
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph


class AssetReader:
    """Reads asset submissions against the published context and the tables of the catalogue."""

    def __init__(self, iris: Iris, context: JsonLdContext, catalogue: Catalogue) -> None:
        self.iris, self.context, self.catalogue = iris, context, catalogue

    def read_terms(self, body: dict[str, Any], asset: URIRef) -> Terms:
        """A submission as the asset's triples (N-Triples terms), decimals in canonical form (IDs of organisations
        accepted bare or as IRIs)."""
        body = dict(expand_reference(self.iris, body, "operatedBy"))
        for name in self.context.terms_typed("Asset", _XSD_DECIMAL):
            if name in body:
                body[name] = _decimal_text(body[name])
        triples = self.context.read_terms({k: v for k, v in body.items() if v is not None}, record=asset,
                                          record_type="Asset")
        return [(s, p, _canonical(o) if o.endswith(_DECIMAL_TYPE) else o) for s, p, o in triples]

    def read(self, body: dict[str, Any], asset: URIRef) -> Graph:
        """A submission as the asset's graph."""
        graph = new_graph()
        for s, p, o in self.read_terms(body, asset):
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph

    def enrich(self, graph: Graph, asset: URIRef) -> Graph:
        """Derive what the data dictionary derives: GSP group from the MPAN, category defaults."""
        subject = term(asset)
        given = {term(p): term(o) for p, o in graph.predicate_objects(asset)}
        for s, p, o in self.derived(given, subject):
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph

    def derived(self, given: dict[str, str], subject: str) -> Terms:
        """The triples the registry derives for an asset (given its own predicate → object terms): its GSP
        group from the MPAN, its category's defaults."""
        tables = self.catalogue.tables
        out: Terms = []
        mpan = given.get(IMPORT) or given.get(EXPORT)
        if mpan is not None and _GSP not in given:
            gsp = tables.gsp_by_distributor.get(parts(mpan)[0][:2])
            if gsp is not None:
                out.append((subject, _GSP, gsp))
        category = given.get(_CATEGORY)
        for path, default in tables.defaults.get(category, ()) if category else ():
            if path not in given:
                out.append((subject, path, default))
        return out

    def category_open(self, category: str | None) -> None:
        """Refuse a registration in a deprecated category (an N-Triples term)."""
        if category in self.catalogue.tables.deprecated:
            raise Unprocessable(f"the asset category {category.strip('<>').rsplit('/', 1)[-1]} is deprecated: "
                                "no new registrations", pointer="/assetCategory")

    def new(self, principal: Principal, body: dict[str, Any], recorded_at: str | None = None) -> NewAsset:
        """A new asset from a submission: read, derived terms added, stamped PendingValidation with a fresh
        FMAR Asset ID; refused when its category is deprecated or no operating FSP is given."""
        body, justification = submission(principal, body)
        identifier = new_id()
        asset = self.iris.record("assets", identifier)
        subject = f"<{asset}>"
        triples = self.read_terms(body, asset)
        given = {p: o for s, p, o in triples if s == subject}
        triples += self.derived(given, subject)
        recorded_at = recorded_at or literal(datetime.now(UTC).isoformat(timespec="seconds"), _XSD_DATETIME)
        triples += [(subject, _IDENTIFIER, literal(identifier)), (subject, _STATUS, _PENDING),
                    (subject, _RECORDED_AT, recorded_at)]
        self.category_open(given.get(_CATEGORY))
        org, area = given.get(_OPERATED_BY), given.get(_DNO)
        if org is None or not is_iri(org):
            raise Unprocessable("operatedBy is required: the FSP that operates the asset", pointer="/operatedBy")
        return NewAsset(asset, triples, _iri(org), _iri(area) if area and is_iri(area) else None, justification)


def submission(principal: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A new asset's body without its justification; registry-set terms refused; operatedBy defaulted."""
    body = dict(body)
    justification = pop_text(body, "justification")
    supplied = sorted(k for k in (*REGISTRY_SET, *REGISTRY_ASSET_TERMS) if k in body or f"@{k}" in body)
    if supplied:
        raise Unprocessable(f"{', '.join(supplied)} are set by the registry, not by the submitter", terms=supplied)
    if "operatedBy" not in body and principal.org is not None:
        body["operatedBy"] = str(principal.org)  # an FSP (or a platform for one) registers its own
    return body, justification


_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@lru_cache(maxsize=1024)
def _iri(nt: str) -> URIRef:
    """The rdflib IRI of an N-Triples IRI term; organisations and areas repeat, and URIRef is not cheap."""
    return URIRef(nt[1:-1])


@lru_cache(maxsize=4096)
def _canonical(obj: str) -> str:
    """A decimal literal in its canonical form, as the store keeps it ("5.50" → "5.5", "5.0" → "5"), so that a
    record reads back exactly as it was written."""
    text = parts(obj)[0]
    if not _DECIMAL.match(text):
        return obj
    return literal(format(Decimal(text).normalize(), "f"), _XSD_DECIMAL)


def _decimal_text(value: Any) -> Any:
    """JSON numbers for decimal terms as exact decimal text (JSON-LD would turn 5.25 into "5.25E0")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
