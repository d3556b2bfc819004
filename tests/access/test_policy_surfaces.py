"""Every surface that lists, searches or reads many records, for every caller, against the policy table.

What each caller should find is worked out here from the table's cells alone (``data/policy.csv``), by the
scopes' definitions, independently of :class:`fmar.access.policy.Policy`; what it finds comes through the HTTP
API: the asset search, the export, the unified view, SPARQL, the graph store, the organisation list, record
histories and the audit trail. Change a cell and these expectations change with it.

The world: FSP A with an asset in the system operator's area (UKPN_EPN) and one elsewhere (NGED_EMID); FSP B
the same; each FSP registered its own assets (so each made their events); a platform acting for A under a
delegation of every delegable operation.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from fmar.access.principal import ROLES
from fmar.iris import code
from tests.api.conftest import ROLE_ORG, World
from tests.conftest import asset_body, mpan

CALLERS = (*ROLES, "anonymous", "platform-for-a")
OWN = {"own", "own-admin", "own-manager"}
FMAR = "https://w3id.org/fmar#"


@dataclass(frozen=True)
class Asset:
    identifier: str
    org: str
    area: str
    serial: str


@dataclass
class Fleet:
    fsp_a: str
    fsp_b: str
    assets: list[Asset]


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    role: str  # the table's column
    org: str | None  # the organisation it acts for
    areas: frozenset[str]
    delegated: bool


@pytest.fixture
def fleet(world: World) -> Fleet:
    a, b = world.org("FSP"), world.org("FSP")
    assets = []
    for n, (org, area) in enumerate(((a, "UKPN_EPN"), (a, "NGED_EMID"), (b, "UKPN_EPN"), (b, "NGED_EMID"))):
        serial = f"SURFACE-{n}"
        distributor = "10" if area == "UKPN_EPN" else "11"
        body = asset_body(importMPAN=mpan(f"{distributor}{n:02d}00006601"), serialNumber=serial, dno=area,
                          gspGroup=None)
        response = world.client.post("/assets", json=body, headers=world.auth("fsp", org))  # made by its own FSP
        assert response.status_code == 201, response.text
        assets.append(Asset(response.json()["identifier"], org, area, serial))
    return Fleet(a, b, assets)


def _caller(world: World, fleet: Fleet, name: str) -> Caller:
    if name == "platform-for-a":
        platform = world.org("PLATFORM")
        world.delegation(fleet.fsp_a, platform, world.registry.policy.delegable)
        client_id, secret = world.client_credentials(platform)
        token = world.client.post("/auth/token", data={"grant_type": "client_credentials"},
                                  auth=(client_id, secret)).json()["access_token"]
        return Caller({"Authorization": f"Bearer {token}", "On-Behalf-Of": fleet.fsp_a}, "platform", fleet.fsp_a,
                      frozenset(), True)
    org = world.org_for(name) if name in ROLE_ORG and name != "admin" else None
    areas = frozenset({"UKPN_EPN"}) if name == "so" else frozenset()
    return Caller(world.auth(name, org), name, org, areas, False)


def _scopes(world: World, caller: Caller, operation: str) -> set[str]:
    """The caller's scopes for an operation, read from the table's cells by their definitions."""
    cells = world.registry.policy.operations[operation].scopes
    if caller.delegated:
        return {"own"} | (cells["platform"] & {"made"}) if "delegated" in cells["platform"] else set()
    return set(cells[caller.role])


def _sees(scopes: set[str], caller: Caller, org: str, area: str | None) -> bool:
    """A record of ``org`` in ``area`` under these scopes (every caller here administers its organisation)."""
    return "any" in scopes or ("area" in scopes and area in caller.areas) or bool(OWN & scopes and org == caller.org)


def _refused(response_status: int, scopes: set[str], caller: Caller) -> bool:
    if scopes:
        assert response_status == 200, f"{caller.role}: allowed by the table, refused {response_status}"
        return False
    assert response_status == (401 if caller.role == "anonymous" else 403), (caller.role, response_status)
    return True


@pytest.fixture(params=CALLERS)
def caller(request: pytest.FixtureRequest, world: World, fleet: Fleet) -> Caller:
    return _caller(world, fleet, str(request.param))


def test_asset_search(world: World, fleet: Fleet, caller: Caller) -> None:
    scopes = _scopes(world, caller, "asset.list")
    response = world.client.get("/assets", headers=caller.headers)
    if _refused(response.status_code, scopes, caller):
        return
    found = {item["identifier"] for item in response.json()["items"]}
    assert found == {a.identifier for a in fleet.assets if _sees(scopes, caller, a.org, a.area)}
    assert response.json()["total"] == len(found)


def test_asset_export(world: World, fleet: Fleet, caller: Caller) -> None:
    scopes = _scopes(world, caller, "asset.export")
    response = world.client.get("/assets/export", params={"format": "csv"}, headers=caller.headers)
    if _refused(response.status_code, scopes, caller):
        return
    found = {row["identifier"] for row in csv.DictReader(io.StringIO(response.text))}
    assert found == {a.identifier for a in fleet.assets if _sees(scopes, caller, a.org, a.area)}


def test_unified_view(world: World, fleet: Fleet, caller: Caller) -> None:
    """Everyone with a cell reads the public facts of every asset; the restricted ones where the table says."""
    scopes = _scopes(world, caller, "view.read")
    response = world.client.get("/views/assets", headers={**caller.headers, "Accept": "text/csv"})
    if _refused(response.status_code, scopes, caller):
        return
    rows = {row["identifier"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {a.identifier for a in fleet.assets}
    assert {i for i, row in rows.items() if row["serialNumber"]} == \
        {a.identifier for a in fleet.assets if _sees(scopes, caller, a.org, a.area)}


def test_sparql(world: World, fleet: Fleet, caller: Caller) -> None:
    scopes = _scopes(world, caller, "sparql.query")
    query = f"SELECT ?serial WHERE {{ GRAPH ?g {{ ?asset <{FMAR}serialNumber> ?serial }} }}"
    response = world.client.get("/sparql", params={"query": query}, headers=caller.headers)
    if _refused(response.status_code, scopes, caller):
        return
    found = {b["serial"]["value"] for b in response.json()["results"]["bindings"]}
    assert found == {a.serial for a in fleet.assets if _sees(scopes, caller, a.org, a.area)}


def test_graph_store(world: World, fleet: Fleet, caller: Caller) -> None:
    """Each asset's restricted graph: read where the table says, 404 (as if it did not exist) elsewhere."""
    scopes = _scopes(world, caller, "store.read")
    iris = world.registry.iris
    for asset in fleet.assets:
        graph = iris.asset_graph(iris.record("organisations", asset.org), code("DNOCode", asset.area))
        response = world.client.get("/store", params={"graph": str(graph)}, headers=caller.headers)
        if not scopes:
            assert response.status_code == (401 if caller.role == "anonymous" else 403)
            continue
        assert response.status_code == (200 if _sees(scopes, caller, asset.org, asset.area) else 404), \
            (caller.role, asset, response.status_code)


def test_organisation_list(world: World, fleet: Fleet, caller: Caller) -> None:
    scopes = _scopes(world, caller, "organisation.list")
    response = world.client.get("/organisations", params={"limit": 1000}, headers=caller.headers)
    if _refused(response.status_code, scopes, caller):
        return
    found = {item["identifier"] for item in response.json()["items"]}
    for org in (fleet.fsp_a, fleet.fsp_b, *([caller.org] if caller.org else [])):
        assert (org in found) is _sees(scopes, caller, org, None), (caller.role, org)


def test_record_histories(world: World, fleet: Fleet, caller: Caller) -> None:
    """A history is shown by ``history.read`` or by the record's own read, on the record as it was; and for the
    ``made`` scope, where the caller's organisation made the change (each FSP registered its own assets)."""
    history, read = _scopes(world, caller, "history.read"), _scopes(world, caller, "asset.read")
    for asset in fleet.assets:
        response = world.client.get(f"/assets/{asset.identifier}/history", headers=caller.headers)
        if not history:
            assert response.status_code == (401 if caller.role == "anonymous" else 403)
            continue
        made = "made" in history and caller.org == asset.org
        expected = made or _sees(history, caller, asset.org, asset.area) or _sees(read, caller, asset.org, asset.area)
        assert (response.status_code == 200) is expected, (caller.role, asset, response.status_code)


def test_audit_trail(world: World, fleet: Fleet, caller: Caller) -> None:
    scopes = _scopes(world, caller, "audit.read")
    response = world.client.get("/audit", params={"operation": "asset.create", "limit": 1000}, headers=caller.headers)
    if _refused(response.status_code, scopes, caller):
        return
    iris = world.registry.iris
    found = {record for event in response.json()["items"] for record in event["records"]}
    for asset in fleet.assets:
        made = "made" in scopes and caller.org == asset.org
        assert (str(iris.record("assets", asset.identifier)) in found) is ("any" in scopes or made), (caller.role, asset)
