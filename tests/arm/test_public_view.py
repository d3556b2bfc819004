"""Where an asset's facts are written: its restricted facts in its operator's graph for its DNO area, its
public facts (and the view's district) in the public graph, in step on every write, single and bulk."""

from __future__ import annotations

from typing import Any

import pytest
from rdflib import URIRef

from fmar.access.principal import SYSTEM
from fmar.arm.public_view import district
from fmar.iris import FMAR
from fmar.registry import Registry
from tests.conftest import asset_body, mpan, org_body

NEVER_PUBLIC = {FMAR.importMPAN, FMAR.exportMPAN, FMAR.serialNumber, FMAR.postcode, FMAR.assetName,
                FMAR.friendlyCode, FMAR.consentReference, FMAR.manufacturer, FMAR.assetModel}


@pytest.fixture
def org(registry: Registry) -> str:
    created, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="51515151"))
    return str(created)


def _facts(registry: Registry, asset: URIRef) -> dict[str, set[URIRef]]:
    """Predicate sets of the asset's own triples, by graph."""
    found: dict[str, set[URIRef]] = {}
    for s, p, _, g in registry.store.quads():
        if s == asset:
            found.setdefault(str(g), set()).add(p)  # type: ignore[arg-type]
    return found


def _register(registry: Registry, org: str, **overrides: Any) -> URIRef:
    asset, _ = registry.registrations.register(SYSTEM, asset_body(org, **overrides))
    return asset


def test_public_facts_go_to_the_public_graph_and_the_rest_to_the_area_graph(registry: Registry, org: str) -> None:
    asset = _register(registry, org, ratedCapacity=50, ownerType="NON_DOMESTIC", postcode="CB7 4AA")
    facts = _facts(registry, asset)
    public, area = str(registry.iris.graph("public")), str(registry.iris.asset_graph(URIRef(org), URIRef(
        "https://w3id.org/fmar/code/DNOCode/UKPN_EPN")))
    assert set(facts) == {public, area}
    assert facts[public] >= {FMAR.assetCategory, FMAR.ratedCapacity, FMAR.gspGroup, FMAR.dno, FMAR.status,
                             FMAR.postcodeDistrict, FMAR.operatedBy}
    assert not facts[public] & NEVER_PUBLIC
    assert facts[area] >= {FMAR.importMPAN, FMAR.serialNumber, FMAR.postcode, FMAR.assetName}
    assert not facts[area] & facts[public]  # each fact is written once
    district_of = registry.store.select(f"SELECT ?d WHERE {{ <{asset}> <{FMAR.postcodeDistrict}> ?d }}")
    assert [str(r["d"]) for r in district_of] == ["CB7"]
    _, record = registry.assets.get(SYSTEM, str(asset))
    assert (asset, FMAR.postcodeDistrict, None) not in record  # derived for the view, not part of the record
    assert (asset, FMAR.importMPAN, None) in record and (asset, FMAR.assetCategory, None) in record


def test_a_small_domestic_asset_shows_no_district(registry: Registry, org: str) -> None:
    asset = _register(registry, org, ratedCapacity=30, ownerType="DOMESTIC")
    assert FMAR.postcodeDistrict not in _facts(registry, asset)[str(registry.iris.graph("public"))]
    larger = _register(registry, org, ratedCapacity=30.5, ownerType="DOMESTIC", serialNumber="PW-0002",
                       importMPAN=mpan("100000000022"))
    assert FMAR.postcodeDistrict in _facts(registry, larger)[str(registry.iris.graph("public"))]


def test_the_view_follows_every_write(registry: Registry, org: str) -> None:
    asset = _register(registry, org, ratedCapacity=50, ownerType="NON_DOMESTIC")
    _, graph = registry.assets.get(SYSTEM, str(asset))
    from fmar.records import etag

    registry.assets.update(SYSTEM, str(asset), {"postcode": "NR1 1AA", "dno": "NGED_EMID",
                                                "importMPAN": mpan("110000000001"), "gspGroup": None,
                                                "justification": "moved"},
                           etag(graph))
    facts = _facts(registry, asset)
    moved = str(registry.iris.asset_graph(URIRef(org), URIRef("https://w3id.org/fmar/code/DNOCode/NGED_EMID")))
    assert set(facts) == {str(registry.iris.graph("public")), moved}  # nothing left in the old area's graph
    rows = registry.store.select(f"SELECT ?d ?g WHERE {{ <{asset}> <{FMAR.postcodeDistrict}> ?d ; <{FMAR.gspGroup}> ?g }}")
    assert [(str(r["d"]), str(r["g"]).rsplit("/", 1)[-1]) for r in rows] == [("NR1", "_B")]
    registry.assets.deregister(SYSTEM, str(asset), "DECOMMISSIONED", None)
    status = registry.store.select(f"SELECT ?s WHERE {{ GRAPH <{registry.iris.graph('public')}> {{ <{asset}> "
                                   f"<{FMAR.status}> ?s }} }}")
    assert [str(r["s"]).rsplit("/", 1)[-1] for r in status] == ["Deregistered"]


def test_bulk_writes_the_same_layout(registry: Registry, org: str) -> None:
    body = asset_body(org, ratedCapacity=50, ownerType="NON_DOMESTIC")
    [report] = list(registry.registrations.run(SYSTEM, [(0, body, None)]))
    asset = registry.iris.record("assets", report.id or "")
    single = _register(registry, org, ratedCapacity=50, ownerType="NON_DOMESTIC", serialNumber="PW-0009",
                       importMPAN=mpan("100000000099"))
    assert {g: sorted(ps) for g, ps in _facts(registry, asset).items()} == \
        {g: sorted(ps) for g, ps in _facts(registry, single).items()}


@pytest.mark.parametrize(("postcode", "expected"), [("CB7 4AA", "CB7"), ("sw1a1aa", "SW1A"), (" M1  1AE ", "M1"),
                                                     ("GIR 0AA", "GIR")])
def test_districts_are_outward_codes(postcode: str, expected: str) -> None:
    assert district(postcode) == expected
