"""Assets: register and validate (UC-02.02), read and find, update (UC-02.04), de-register (UC-02.03)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD
from rdflib.term import Node

from fmar.access.principal import Principal
from fmar.arm.public_view import PublicView
from fmar.errors import BadRequest, Conflict, Duplicate, NotFound, PreconditionFailed, Unprocessable
from fmar.graphs import new_graph
from fmar.iris import DCTERMS, FMAR, code, new_id
from fmar.ntriples import is_iri, literal, parts, term, to_node
from fmar.records import (
    REGISTRY_SET,
    carry_over,
    etag,
    load_record,
    merge_patch,
    pop_text,
    require_match,
    transition_check,
    with_status,
)
from fmar.validation.shacl import SH
from fmar.writepath import Change, RecordChange, warning_triples

if TYPE_CHECKING:
    from fmar.registry import Registry

_PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>\n"
# Look-ups start from the value (an index look-up), never from every asset.
_DUPLICATE = _PREFIXES + """SELECT ?asset ?id WHERE {
  { ?asset fmar:importMPAN ?mpan } UNION { ?asset fmar:exportMPAN ?mpan }
  ?asset fmar:serialNumber ?serial ; dcterms:identifier ?id .
  FILTER NOT EXISTS { ?asset fmar:status <https://w3id.org/fmar/code/AssetStatus/Deregistered> } }"""
_FRIENDLY = _PREFIXES + """SELECT ?asset ?id WHERE {
  ?asset fmar:friendlyCode ?code ; fmar:operatedBy ?operator ; dcterms:identifier ?id . FILTER (?operator = ?org) }"""
_SAME_MPAN = _PREFIXES + """CONSTRUCT { ?other ?p ?mpan ; fmar:operatedBy ?org ; fmar:status ?status }
WHERE { { ?other fmar:importMPAN ?mpan BIND(fmar:importMPAN AS ?p) } UNION
        { ?other fmar:exportMPAN ?mpan BIND(fmar:exportMPAN AS ?p) }
  ?other fmar:operatedBy ?org ; fmar:status ?status FILTER (?other != ?self) }"""
_AREA_OF_MPAN = _PREFIXES + "SELECT ?id ?gsp WHERE { ?dno fmar:distributorId ?id ; fmar:gspGroup ?gsp }"
_IN_ACTIVE_UNIT = _PREFIXES + """SELECT ?unit ?id WHERE {
  ?unit a fmar:MarketUnit ; fmar:hasAsset ?asset ; dcterms:identifier ?id .
  FILTER NOT EXISTS { ?unit fmar:status ?s FILTER (STRENDS(STR(?s), "/Inactive") || STRENDS(STR(?s), "/Deregistered")) } }"""

ASSET_STATUS = "AssetStatus"
#: Asset terms only the registry sets.
REGISTRY_ASSET_TERMS = ("statusNote", "deregistrationReason", "materialChange", "postcodeDistrict")
DEREGISTERED = code(ASSET_STATUS, "Deregistered")
#: Validation outcomes an SO or the admin may set.
VALIDATION_OUTCOMES = {"Verified", "Query"}
#: The filters of ``GET /assets`` and the code scheme of those that take a code.
FILTERS = {"mpan": None, "serialNumber": None, "friendlyCode": None, "assetCategory": "AssetCategory",
           "dno": "DNOCode", "gspGroup": "GSPGroup", "status": ASSET_STATUS, "operatedBy": None}
_CODE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MPAN_TERMS = {FMAR.importMPAN: "importMPAN", FMAR.exportMPAN: "exportMPAN"}


#: N-Triples terms the registration path reads or writes.
_IMPORT, _EXPORT, _GSP, _CATEGORY, _OPERATED_BY, _DNO = (term(p) for p in (
    FMAR.importMPAN, FMAR.exportMPAN, FMAR.gspGroup, FMAR.assetCategory, FMAR.operatedBy, FMAR.dno))
_IDENTIFIER, _STATUS, _RECORDED_AT = term(DCTERMS.identifier), term(FMAR.status), term(FMAR.recordedAt)
_PENDING = term(code(ASSET_STATUS, "PendingValidation"))
_XSD_DECIMAL = str(XSD.decimal)
_DECIMAL_TYPE = f"^^<{_XSD_DECIMAL}>"
_XSD_DATETIME = str(XSD.dateTime)
Terms = list[tuple[str, str, str]]


@dataclass(frozen=True)
class _Tables:
    gsp_by_distributor: dict[str, str]
    defaults: dict[str, list[tuple[str, str]]]
    deprecated: set[str]


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

    @property
    def mpans(self) -> list[str]:
        subject = f"<{self.record}>"
        return [o for s, p, o in self.triples if s == subject and p in (_IMPORT, _EXPORT)]

    def graph(self) -> Graph:
        graph = new_graph()
        for s, p, o in self.triples:
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph


@dataclass(frozen=True)
class Page:
    """One page of a search: the records, the exact total, and the cursor of the next page."""

    items: list[tuple[URIRef, Graph]]
    total: int
    cursor: str | None


class Assets:
    """The asset service."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry
        self._tables: _Tables | None = None
        self._view: PublicView | None = None

    # ------------------------------------------------------------------ helpers

    def parse(self, value: str) -> URIRef:
        asset = self.r.iris.parse(value, "assets")
        if asset is None:
            raise NotFound(f"no asset {value!r}")
        return asset

    def load(self, asset: URIRef) -> Graph:
        graph, named = load_record(self.r.store, asset)
        if named is None or (asset, RDF.type, FMAR.Asset) not in graph:
            raise NotFound("no such asset")
        return graph

    @property
    def view(self) -> PublicView:
        """The public asset view's definition (``data/views/public-assets.ttl``), read once."""
        if self._view is None:
            self._view = PublicView(self.r.settings.resource("data", "views", "public-assets.ttl"))
        return self._view

    def graph_of(self, record: Graph, asset: URIRef) -> URIRef:
        """The graph of an asset's restricted facts: its operator's, for its DNO area."""
        org, area = self.target(record, asset)
        if org is None:
            raise Unprocessable("operatedBy is required: the FSP that operates the asset", pointer="/operatedBy")
        return self.r.iris.asset_graph(org, area)

    def changes(self, asset: URIRef, before: Graph, after: Graph) -> list[RecordChange]:
        """A new version of an asset as writes: its restricted facts in its operator's graph for its area
        (moving there if that changed), its public facts and what the public view derives from them in
        the public graph, so that the view is always in step with the record."""
        public = self.r.iris.graph("public")
        before_public, before_rest = self.view.split(before, asset)
        after_public, after_rest = self.view.split(after, asset)
        return [RecordChange(asset, self.graph_of(after, asset), before_rest, after_rest,
                             previous=self.graph_of(before, asset) if len(before) else None),
                RecordChange(asset, public, before_public, after_public),
                RecordChange(asset, public, self.view.derived_graph(before, asset),
                             self.view.derived_graph(after, asset), derived=True)]

    @staticmethod
    def target(graph: Graph, asset: URIRef) -> tuple[URIRef | None, URIRef | None]:
        """The operating organisation and the DNO area: what the policy table's scopes look at."""
        org, area = graph.value(asset, FMAR.operatedBy), graph.value(asset, FMAR.dno)
        return (org if isinstance(org, URIRef) else None, area if isinstance(area, URIRef) else None)

    def read(self, body: dict[str, Any], asset: URIRef) -> Graph:
        """A submission as the asset's graph (IDs of organisations accepted bare or as IRIs)."""
        graph = new_graph()
        for s, p, o in self.read_terms(body, asset):
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph

    def read_terms(self, body: dict[str, Any], asset: URIRef) -> Terms:
        """A submission as the asset's triples (N-Triples terms), decimals in canonical form."""
        body = dict(self.r.organisations.expand_reference(body, "operatedBy"))
        for name in self.r.context.terms_typed("Asset", _XSD_DECIMAL):
            if name in body:
                body[name] = _decimal_text(body[name])
        triples = self.r.context.read_terms({k: v for k, v in body.items() if v is not None}, record=asset,
                                            record_type="Asset")
        return [(s, p, _canonical(o) if o.endswith(_DECIMAL_TYPE) else o) for s, p, o in triples]

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
        out: Terms = []
        mpan = given.get(_IMPORT) or given.get(_EXPORT)
        if mpan is not None and _GSP not in given:
            gsp = self.tables.gsp_by_distributor.get(parts(mpan)[0][:2])
            if gsp is not None:
                out.append((subject, _GSP, gsp))
        category = given.get(_CATEGORY)
        for path, default in self.tables.defaults.get(category, ()) if category else ():
            if path not in given:
                out.append((subject, path, default))
        return out

    @property
    def tables(self) -> _Tables:
        """Lookups read once from the reference data and the category shapes."""
        if self._tables is None:
            shapes = self.r.write.validator.shapes
            defaults: dict[str, list[tuple[str, str]]] = {}
            deprecated = set()
            for shape, category in shapes.subject_objects(FMAR.forCategory):
                if shapes.value(shape, OWL.deprecated) == Literal(True):
                    deprecated.add(term(category))
                for prop in shapes.objects(shape, SH.property):
                    path, default = shapes.value(prop, SH.path), shapes.value(prop, SH.defaultValue)
                    if isinstance(path, URIRef) and default is not None:
                        defaults.setdefault(term(category), []).append((term(path), term(default)))
            gsp = {str(r["id"]): term(r["gsp"]) for r in self.r.store.select(_AREA_OF_MPAN)}
            self._tables = _Tables(gsp, defaults, deprecated)
        return self._tables

    def new(self, principal: Principal, body: dict[str, Any], recorded_at: str | None = None) -> NewAsset:
        """A new asset from a submission: read, derived terms added, stamped PendingValidation with a fresh
        FMAR Asset ID; refused when its category is deprecated or no operating FSP is given."""
        body, justification = self.submission(principal, body)
        identifier = new_id()
        asset = self.r.iris.record("assets", identifier)
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

    def _context(self, graph: Graph, asset: URIRef) -> Graph:
        """Other assets on the same MPANs, for the soft rule on MPANs used by another organisation."""
        context = new_graph()
        for p in MPAN_TERMS:
            for mpan in graph.objects(asset, p):
                context += self.r.store.construct(_SAME_MPAN, bindings={"mpan": mpan, "self": asset})
        return context

    def _uniqueness(self, graph: Graph, asset: URIRef) -> list[Any]:
        serial, friendly = graph.value(asset, FMAR.serialNumber), graph.value(asset, FMAR.friendlyCode)
        org = graph.value(asset, FMAR.operatedBy)
        mpans = [m for p in MPAN_TERMS for m in graph.objects(asset, p)]

        def not_registered_twice() -> None:
            if serial is None:
                return
            for mpan in mpans:
                for row in self.r.store.select(_DUPLICATE, bindings={"mpan": mpan, "serial": serial}):
                    if row["asset"] != asset:
                        existing = self.r.iris.identifier(str(row["asset"]))
                        raise Duplicate(f"an asset with MPAN {mpan} and serial number {serial} is already registered "
                                        f"as {existing}", existingId=existing, existing=str(row["asset"]))

        def friendly_code_unique() -> None:
            if friendly is None or org is None:
                return
            for row in self.r.store.select(_FRIENDLY, bindings={"org": org, "code": friendly}):
                if row["asset"] != asset:
                    existing = self.r.iris.identifier(str(row["asset"]))
                    raise Duplicate(f"friendlyCode {friendly} is already used by this organisation's asset {existing}",
                                    existingId=existing, existing=str(row["asset"]))

        return [not_registered_twice, friendly_code_unique]

    def category_open(self, category: str | None) -> None:
        """Refuse a registration in a deprecated category (an N-Triples term)."""
        if category in self.tables.deprecated:
            raise Unprocessable(f"the asset category {category.strip('<>').rsplit('/', 1)[-1]} is deprecated: "
                                "no new registrations", pointer="/assetCategory")

    @staticmethod
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

    # ------------------------------------------------------------------ use cases

    def register(self, principal: Principal, body: dict[str, Any], request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-02.02: validate in full; on success the asset is PendingValidation with a new FMAR Asset ID."""
        self.r.policy.require_role(principal, "asset.create")
        new = self.new(principal, body)
        asset, graph = new.record, new.graph()
        self.r.policy.require(principal, "asset.create", new.org, "asset.read", new.area)
        committed = self.r.write.commit(Change("asset.create", principal, new.org, self.changes(asset, new_graph(), graph),
                                   justification=new.justification, request_id=request_id,
                                   read_operation="asset.read", target_area=new.area,
                                   context=self._context(graph, asset), checks=self._uniqueness(graph, asset)))
        for triple in warning_triples(asset, committed.warnings):  # accepted warnings are kept with the record
            graph.add(triple)
        return asset, graph

    def get(self, principal: Principal, value: str) -> tuple[URIRef, Graph]:
        asset = self.parse(value)
        graph = self.load(asset)
        org, area = self.target(graph, asset)
        self.r.policy.require(principal, "asset.read", org, "asset.read", area)
        return asset, graph

    def find(self, principal: Principal, filters: dict[str, str], limit: int = 100, after: str | None = None) -> Page:
        """The assets the caller may see that match every filter, in ID order, with the exact total."""
        self.r.policy.require_role(principal, "asset.list")
        patterns, bindings = self.filters(filters)
        visible = self.visibility(principal)
        if visible is None:
            return Page([], 0, None)
        where = "?asset a fmar:Asset ; dcterms:identifier ?id ; fmar:operatedBy ?org .\n" + patterns + visible
        count = self.r.store.select(_PREFIXES + f"SELECT (COUNT(?asset) AS ?n) WHERE {{ {where} }}", bindings=bindings)
        total = int(str(count[0]["n"]))
        if after is not None:
            where += "FILTER (STR(?id) > ?after)\n"
            bindings["after"] = Literal(after)
        rows = self.r.store.select(_PREFIXES + f"SELECT ?asset ?id WHERE {{ {where} }} ORDER BY ?id LIMIT {limit + 1}",
                                   bindings=bindings)
        items = [(URIRef(str(r["asset"])), load_record(self.r.store, URIRef(str(r["asset"])))[0]) for r in rows[:limit]]
        return Page(items, total, str(rows[limit - 1]["id"]) if len(rows) > limit else None)

    def filters(self, filters: dict[str, str]) -> tuple[str, dict[str, Node]]:
        """SPARQL patterns and bindings for the search filters (400 for an unknown or malformed one)."""
        patterns: list[str] = []
        bindings: dict[str, Node] = {}
        for name, value in filters.items():
            if name not in FILTERS:
                raise BadRequest(f"unknown filter {name!r}; filters: {', '.join(FILTERS)}")
            scheme = FILTERS[name]
            if name == "mpan":
                patterns.append("{ ?asset fmar:importMPAN ?mpan } UNION { ?asset fmar:exportMPAN ?mpan }")
                bindings["mpan"] = Literal(value)
            elif name == "operatedBy":
                org = self.r.iris.parse(value, "organisations")
                if org is None:
                    raise BadRequest("operatedBy must be an FMAR Organisation ID or IRI")
                patterns.append("FILTER (?org = ?wanted_org)")
                bindings["wanted_org"] = org
            elif scheme is not None:
                if not _CODE.match(value):
                    raise BadRequest(f"{name} must be a {scheme} code")
                patterns.append(f"?asset fmar:{'status' if name == 'status' else name} ?{name}_code .")
                bindings[f"{name}_code"] = code(scheme, value)
            else:
                patterns.append(f"?asset fmar:{name} ?{name}_value .")
                bindings[f"{name}_value"] = Literal(value)
        return "\n".join(patterns) + "\n", bindings

    def visibility(self, principal: Principal, operation: str = "asset.list") -> str | None:
        """The pattern that restricts a search to what the policy table lets the caller see (None: nothing)."""
        if principal.acting_for_other:
            return f"FILTER (?org = <{principal.org}>)\n" if operation in principal.delegated_scopes else None
        scopes = self.r.policy.scopes(principal.role, operation)
        if "any" in scopes:
            return ""
        options = []
        if scopes & {"own", "own-manager", "own-admin"} and principal.org is not None:
            options.append(f"?org = <{principal.org}>")
        if "area" in scopes and principal.areas:
            areas = ", ".join(f"<{a}>" for a in sorted(principal.areas))
            options.append(f"EXISTS {{ ?asset fmar:dno ?area FILTER (?area IN ({areas})) }}")
        return f"FILTER ({' || '.join(options)})\n" if options else None

    def update(self, principal: Principal, value: str, patch: dict[str, Any], if_match: str | None,
               request_id: str | None = None) -> tuple[URIRef, Graph, list[str]]:
        """UC-02.04: merge patch, revalidated in full; returns the terms that make the change material."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.r.policy.require(principal, "asset.update", org, "asset.read", area)
        patch = dict(patch)
        reason, justification = pop_text(patch, "reason"), pop_text(patch, "justification")
        fixed = sorted(k for k in (*REGISTRY_SET, "type", *REGISTRY_ASSET_TERMS) if k in patch)
        if fixed:
            raise Unprocessable(f"{', '.join(fixed)} cannot be changed by PATCH", terms=fixed)
        if "operatedBy" in patch:
            raise Unprocessable("operatedBy changes through an asset switch between FSPs, not by PATCH",
                                pointer="/operatedBy")
        if before.value(asset, FMAR.status) == DEREGISTERED:
            raise Conflict("a de-registered asset cannot be updated")
        require_match(if_match, before)
        current = self.r.context.write(before, asset)
        current.pop("acceptedWarnings", None)  # revalidated in full: warnings are accepted afresh
        merged = merge_patch(current, patch)
        assert isinstance(merged, dict)  # noqa: S101 - a dict patched with a dict
        after = self.enrich(self.read(merged, asset), asset)
        carry_over(before, after, asset, (DCTERMS.identifier, FMAR.status, FMAR.recordedAt, FMAR.operatedBy,
                                          FMAR.statusNote))
        material = self._material(before, after, asset)

        def unchanged() -> None:
            if etag(load_record(self.r.store, asset)[0]) != etag(before):
                raise PreconditionFailed("the asset changed while the update was prepared")

        self.r.write.commit(Change("asset.update", principal, org, self.changes(asset, before, after),
                                   reason=reason, justification=justification, request_id=request_id,
                                   read_operation="asset.read", target_area=area, material=material,
                                   context=self._context(after, asset),
                                   checks=[unchanged, *self._uniqueness(after, asset)]))
        return asset, self.load(asset), material

    def _material(self, before: Graph, after: Graph, asset: URIRef) -> list[str]:
        """Category, an MPAN, or rated capacity moving by more than the configured share."""
        changed = [term for p, term in ((FMAR.assetCategory, "assetCategory"), (FMAR.importMPAN, "importMPAN"),
                                        (FMAR.exportMPAN, "exportMPAN"))
                   if set(before.objects(asset, p)) != set(after.objects(asset, p))]
        old, new = before.value(asset, FMAR.ratedCapacity), after.value(asset, FMAR.ratedCapacity)
        try:
            old_kw, new_kw = Decimal(str(old)), Decimal(str(new))
        except InvalidOperation:
            return changed
        share = Decimal(str(self.r.settings.material_change_share))
        if old_kw > 0 and abs(new_kw - old_kw) > share * old_kw:
            changed.append("ratedCapacity")
        return changed

    def set_validation(self, principal: Principal, value: str, status: str, note: str | None,
                       request_id: str | None = None) -> tuple[URIRef, Graph]:
        """An SO of the asset's area, or the admin, marks it Verified or Query, with a note."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.r.policy.require(principal, "asset.validate", org, "asset.read", area)
        if status not in VALIDATION_OUTCOMES:
            raise Unprocessable("status must be Verified or Query", pointer="/status")
        if status == "Query" and not (note and note.strip()):
            raise Unprocessable("a note is required to put an asset in Query: say what needs answering",
                                pointer="/note")
        target = code(ASSET_STATUS, status)
        after = with_status(before, asset, target)
        after.remove((asset, FMAR.statusNote, None))
        if note:
            after.add((asset, FMAR.statusNote, Literal(note)))
        self.r.write.commit(Change("asset.validate", principal, org, self.changes(asset, before, after),
                                   reason=note, request_id=request_id, read_operation="asset.read",
                                   target_area=area, context=self._context(after, asset),
                                   checks=[transition_check(self.r.store, "an asset", before.value(asset, FMAR.status),
                                                            target)]))
        return asset, after

    def deregister(self, principal: Principal, value: str, reason: str, note: str | None,
                   request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-02.03: a soft delete, refused while the asset is in an active market unit."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.r.policy.require(principal, "asset.deregister", org, "asset.read", area)
        if not _CODE.match(reason):
            raise Unprocessable("reason must be DECOMMISSIONED, END_OF_CONTRACT or NO_LONGER_FLEXIBLE", pointer="/reason")
        after = with_status(before, asset, DEREGISTERED)
        after.set((asset, FMAR.deregistrationReason, code("DeregistrationReason", reason)))

        def not_in_active_unit() -> None:
            rows = self.r.store.select(_IN_ACTIVE_UNIT, bindings={"asset": asset})
            if rows:
                raise Conflict("the asset is in an active market unit; remove it from the unit first",
                               dependents=[{"kind": "market unit", "id": str(r["id"]), "record": str(r["unit"])}
                                           for r in rows])

        self.r.write.commit(Change("asset.deregister", principal, org, self.changes(asset, before, after),
                                   reason=f"{reason}: {note}" if note else reason, request_id=request_id,
                                   read_operation="asset.read", target_area=area,
                                   checks=[transition_check(self.r.store, "an asset", before.value(asset, FMAR.status),
                                                            DEREGISTERED), not_in_active_unit]))
        return asset, after


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
