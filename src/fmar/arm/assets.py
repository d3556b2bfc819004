"""Assets: read and find, update (UC-02.04), validation status, de-register (UC-02.03); registration is
:mod:`fmar.arm.registration`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.public_view import PublicView
from fmar.arm.submission import ASSET_STATUS, REGISTRY_ASSET_TERMS, AssetReader
from fmar.arm.uniqueness import Keys, Uniqueness
from fmar.errors import BadRequest, Conflict, NotFound, PreconditionFailed, Unprocessable
from fmar.iris import DCTERMS, FMAR, Iris, code
from fmar.jsonld import JsonLdContext
from fmar.ntriples import term
from fmar.paging import Pager
from fmar.records import (
    REGISTRY_SET,
    carry_over,
    etag,
    load_record,
    load_records,
    merge_patch,
    pop_text,
    require_match,
    transition_check,
    with_status,
)
from fmar.store import GraphStore, projected
from fmar.writepath import Change, RecordChange, WritePath

_PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>\n"
_IN_ACTIVE_UNIT = _PREFIXES + """SELECT ?asset ?unit ?id WHERE {
  ?unit a fmar:MarketUnit ; fmar:hasAsset ?asset ; dcterms:identifier ?id .
  FILTER NOT EXISTS { ?unit fmar:status ?s FILTER (STRENDS(STR(?s), "/Inactive") || STRENDS(STR(?s), "/Deregistered")) } }"""
#: What a search or an export of assets binds: each asset, its ID, its operator and its DNO area (the policy's
#: search filter reads ?org and ?dno).
SEARCHED = "?asset a fmar:Asset ; dcterms:identifier ?id ; fmar:operatedBy ?org . OPTIONAL { ?asset fmar:dno ?dno }\n"

DEREGISTERED = code(ASSET_STATUS, "Deregistered")
#: Validation outcomes an SO or the admin may set.
VALIDATION_OUTCOMES = {"Verified", "Query"}
#: The filters of ``GET /assets`` and the code scheme of those that take a code.
FILTERS = {"mpan": None, "serialNumber": None, "friendlyCode": None, "assetCategory": "AssetCategory",
           "dno": "DNOCode", "gspGroup": "GSPGroup", "status": ASSET_STATUS, "operatedBy": None}
_CODE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True)
class Page:
    """One page of a search: the records, the exact total, and the cursor of the next page."""

    items: list[tuple[URIRef, Graph]]
    total: int
    cursor: str | None


class Assets:
    """The asset service."""

    def __init__(self, store: GraphStore, iris: Iris, context: JsonLdContext, policy: Policy, write: WritePath,
                 reader: AssetReader, uniqueness: Uniqueness, view: PublicView, pager: Pager,
                 material_share: float) -> None:
        """``material_share``: the move of rated capacity that makes an update material."""
        self.store, self.iris, self.context, self.policy, self.write = store, iris, context, policy, write
        self.reader, self.uniqueness, self.view, self.pager = reader, uniqueness, view, pager
        self.material_share = material_share

    # ------------------------------------------------------------------ helpers

    def parse(self, value: str) -> URIRef:
        asset = self.iris.parse(value, "assets")
        if asset is None:
            raise NotFound(f"no asset {value!r}")
        return asset

    def load(self, asset: URIRef) -> Graph:
        graph, named = load_record(self.store, asset)
        if named is None or (asset, RDF.type, FMAR.Asset) not in graph:
            raise NotFound("no such asset")
        return graph

    def graph_of(self, record: Graph, asset: URIRef) -> URIRef:
        """The graph of an asset's restricted facts: its operator's, for its DNO area."""
        org, area = self.target(record, asset)
        if org is None:
            raise Unprocessable("operatedBy is required: the FSP that operates the asset", pointer="/operatedBy")
        return self.iris.asset_graph(org, area)

    def changes(self, asset: URIRef, before: Graph, after: Graph) -> list[RecordChange]:
        """A new version of an asset as writes: its restricted facts in its operator's graph for its area
        (moving there if that changed), its public facts and what the public view derives from them in
        the public graph, so that the view is always in step with the record."""
        public = self.iris.graph("public")
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

    def _keys(self, graph: Graph, asset: URIRef) -> Keys:
        return Keys.of(asset, self.target(graph, asset)[0], [(term(s), term(p), term(o)) for s, p, o in graph])

    # ------------------------------------------------------------------ use cases

    def get(self, principal: Principal, value: str) -> tuple[URIRef, Graph]:
        asset = self.parse(value)
        graph = self.load(asset)
        org, area = self.target(graph, asset)
        self.policy.require(principal, "asset.read", org, "asset.read", area)
        return asset, graph

    def find(self, principal: Principal, filters: dict[str, str], limit: int = 100, after: str | None = None) -> Page:
        """The assets the caller may see that match every filter, in ID order, with the exact total."""
        visible = self.policy.search_filter(principal, "asset.list", org="?org", area="?dno")
        patterns, bindings = search_patterns(self.iris, filters)
        if visible is None:
            return Page([], 0, None)
        query = _PREFIXES + f"SELECT (?asset AS ?record) ?id {projected(bindings)} WHERE {{ {SEARCHED}{patterns}{visible} }}"
        chosen = self.pager.page(query, limit=limit, after=after, bindings=bindings)
        return Page(load_records(self.store, [URIRef(r[1:-1]) for r in chosen.records]), chosen.total, chosen.cursor)

    def update(self, principal: Principal, value: str, patch: dict[str, Any], if_match: str | None,
               request_id: str | None = None) -> tuple[URIRef, Graph, list[str]]:
        """UC-02.04: merge patch, revalidated in full; returns the terms that make the change material."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.policy.require(principal, "asset.update", org, "asset.read", area)
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
        current = self.context.write(before, asset)
        current.pop("acceptedWarnings", None)  # revalidated in full: warnings are accepted afresh
        merged = merge_patch(current, patch)
        assert isinstance(merged, dict)  # noqa: S101 - a dict patched with a dict
        after = self.reader.enrich(self.reader.read(merged, asset), asset)
        carry_over(before, after, asset, (DCTERMS.identifier, FMAR.status, FMAR.recordedAt, FMAR.operatedBy,
                                          FMAR.statusNote))
        material = self._material(before, after, asset)
        keys = self._keys(after, asset)

        def unchanged() -> None:
            if etag(load_record(self.store, asset)[0]) != etag(before):
                raise PreconditionFailed("the asset changed while the update was prepared")

        self.write.commit(Change("asset.update", principal, org, self.changes(asset, before, after),
                                 reason=reason, justification=justification, request_id=request_id,
                                 read_operation="asset.read", target_area=area, material=material,
                                 context=lambda: self.uniqueness.context_graph(keys),
                                 checks=[unchanged, lambda: self.uniqueness.require_unique(principal, keys)]))
        return asset, self.load(asset), material

    def _material(self, before: Graph, after: Graph, asset: URIRef) -> list[str]:
        """Category, an MPAN, or rated capacity moving by more than the configured share."""
        changed = [name for p, name in ((FMAR.assetCategory, "assetCategory"), (FMAR.importMPAN, "importMPAN"),
                                        (FMAR.exportMPAN, "exportMPAN"))
                   if set(before.objects(asset, p)) != set(after.objects(asset, p))]
        old, new = before.value(asset, FMAR.ratedCapacity), after.value(asset, FMAR.ratedCapacity)
        try:
            old_kw, new_kw = Decimal(str(old)), Decimal(str(new))
        except InvalidOperation:
            return changed
        share = Decimal(str(self.material_share))
        if old_kw > 0 and abs(new_kw - old_kw) > share * old_kw:
            changed.append("ratedCapacity")
        return changed

    def set_validation(self, principal: Principal, value: str, status: str, note: str | None,
                       request_id: str | None = None) -> tuple[URIRef, Graph]:
        """An SO of the asset's area, or the admin, marks it Verified or Query, with a note."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.policy.require(principal, "asset.validate", org, "asset.read", area)
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
        keys = self._keys(after, asset)
        self.write.commit(Change("asset.validate", principal, org, self.changes(asset, before, after),
                                 reason=note, request_id=request_id, read_operation="asset.read",
                                 target_area=area, context=lambda: self.uniqueness.context_graph(keys),
                                 checks=[transition_check(self.store, "an asset", before.value(asset, FMAR.status),
                                                          target)]))
        return asset, after

    def deregister(self, principal: Principal, value: str, reason: str, note: str | None,
                   request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-02.03: a soft delete, refused while the asset is in an active market unit."""
        asset = self.parse(value)
        before = self.load(asset)
        org, area = self.target(before, asset)
        self.policy.require(principal, "asset.deregister", org, "asset.read", area)
        if not _CODE.match(reason):
            raise Unprocessable("reason must be DECOMMISSIONED, END_OF_CONTRACT or NO_LONGER_FLEXIBLE", pointer="/reason")
        after = with_status(before, asset, DEREGISTERED)
        after.set((asset, FMAR.deregistrationReason, code("DeregistrationReason", reason)))

        def not_in_active_unit() -> None:
            rows = self.store.select(_IN_ACTIVE_UNIT, bindings={"asset": asset})
            if rows:
                raise Conflict("the asset is in an active market unit; remove it from the unit first",
                               dependents=[{"kind": "market unit", "id": str(r["id"]), "record": str(r["unit"])}
                                           for r in rows])

        self.write.commit(Change("asset.deregister", principal, org, self.changes(asset, before, after),
                                 reason=f"{reason}: {note}" if note else reason, request_id=request_id,
                                 read_operation="asset.read", target_area=area,
                                 checks=[transition_check(self.store, "an asset", before.value(asset, FMAR.status),
                                                          DEREGISTERED), not_in_active_unit]))
        return asset, after


def search_patterns(iris: Iris, filters: dict[str, str]) -> tuple[str, dict[str, Node]]:
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
            org = iris.parse(value, "organisations")
            if org is None:
                raise BadRequest("operatedBy must be an FMAR Organisation ID or IRI")
            patterns.append("FILTER (?org = ?wanted_org)")
            bindings["wanted_org"] = org
        elif scheme is not None:
            if not _CODE.match(value):
                raise BadRequest(f"{name} must be a {scheme} code")
            patterns.append(f"?asset fmar:{name} ?{name}_code .")
            bindings[f"{name}_code"] = code(scheme, value)
        else:
            patterns.append(f"?asset fmar:{name} ?{name}_value .")
            bindings[f"{name}_value"] = Literal(value)
    return "\n".join(patterns) + "\n", bindings

