"""The compiled reading of flat submissions gives exactly the RDF the JSON-LD algorithm (pyld) gives."""

from __future__ import annotations

from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from fmar.iris import CONTEXT_URL
from fmar.registry import Registry
from tests.conftest import asset_body

RECORD = URIRef("http://testserver/assets/00000000-0000-4000-8000-000000000001")
FLAT: list[tuple[str, dict[str, Any]]] = [
    ("Asset", asset_body("http://testserver/organisations/00000000-0000-4000-8000-000000000002")),
    ("Asset", {"ratedCapacity": 5.25, "storageCapacity": 13, "generationCapacity": 1e22, "demandCapacity": 2.0}),
    ("Asset", {"assetName": 5, "serialNumber": True, "manufacturer": 1.5, "assetModel": False}),
    ("Asset", {"assetCategory": "NOT_A_CODE", "dno": "", "status": "Verified", "commissioningDate": "not a date"}),
    ("Asset", {"ratedCapacity": "12.50", "effectiveDate": "2026-01-01", "materialChange": ["a", "b"]}),
    ("User", {"name": "Ann", "email": "ann@example.org", "roles": ["ORG_ADMIN", "DATA_VIEWER"]}),
    ("User", {"name": "Ann", "roles": "ORG_ADMIN", "memberOf": "http://testserver/organisations/1"}),
    ("Delegation", {"platform": "http://testserver/organisations/2", "scopes": ["asset.read", "asset.list"],
                    "validFrom": "2026-01-01T00:00:00Z"}),
]
FALLBACK: list[tuple[str, dict[str, Any]]] = [
    ("Asset", {"assetCategory": "status"}),  # a code spelt like a term: the algorithm decides
    ("Asset", {"operatedBy": "relative/id"}),
    ("Asset", {"dno": "fmar:UKPN_EPN"}),
    ("Organisation", {"registeredAddress": {"city": "Ely"}}),
]


def _doc(record_type: str, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "@context": CONTEXT_URL, "type": record_type, "id": str(RECORD)}


@pytest.mark.parametrize(("record_type", "body"), FLAT, ids=range(len(FLAT)))
def test_flat_reading_equals_the_json_ld_algorithm(registry: Registry, record_type: str, body: dict[str, Any]) -> None:
    doc = _doc(record_type, body)
    triples = registry.context.flat_triples(doc, RECORD, record_type)
    assert triples is not None
    flat = Graph()
    for p, o in triples:
        flat.add((RECORD, p, o))
    assert isomorphic(flat, registry.context.expanded_graph(doc, RECORD))


@pytest.mark.parametrize(("record_type", "body"), FALLBACK, ids=range(len(FALLBACK)))
def test_anything_else_takes_the_full_algorithm(registry: Registry, record_type: str, body: dict[str, Any]) -> None:
    assert registry.context.flat_triples(_doc(record_type, body), RECORD, record_type) is None


def test_flat_documents_equal_pyld_framing(registry: Registry) -> None:
    from fmar.access.principal import SYSTEM
    from tests.conftest import org_body

    org, org_graph = registry.organisations.create(SYSTEM, org_body())
    asset, asset_graph = registry.registrations.register(SYSTEM, asset_body(str(org), ratedCapacity=5.25, friendlyCode="F-1"))
    user, user_graph = registry.users.create(SYSTEM, str(org), {"name": "Ann", "email": "a@example.org",
                                                                 "roles": ["ORG_ADMIN", "DATA_VIEWER"]})
    platform, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="07654321", roles=["PLATFORM"]))
    delegation, delegation_graph = registry.platforms.create_delegation(SYSTEM, str(org), {
        "platform": str(platform), "scopes": ["asset.read", "asset.list"], "validFrom": "2026-01-01T00:00:00Z"})
    for record, graph in ((asset, asset_graph), (user, user_graph), (delegation, delegation_graph)):
        flat = registry.context.flat_document(graph, record)
        assert flat is not None
        assert flat == registry.context.framed_document(graph, record)
    assert registry.context.flat_document(org_graph, org) is None  # nested contact and address: framing
