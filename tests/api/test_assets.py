"""UC-02.02/03/04 over HTTP: register and validate, read and find, update, validation status, de-register."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from rdflib import Literal
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from fmar.iris import DCTERMS, FMAR, code
from tests.api.conftest import World
from tests.conftest import asset_body, mpan, put_quads
from tests.rdf_parse import parse_rdf

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def fsp(world: World) -> str:
    return world.org("FSP")


def _register(world: World, fsp: str, **overrides: Any) -> Any:
    return world.client.post("/assets", json=asset_body(fsp, **overrides), headers=world.auth("fsp", fsp))


def test_register_answers_201_pending_validation_with_derived_terms(world: World, fsp: str) -> None:
    response = world.client.post("/assets", json=asset_body(), headers=world.auth("fsp", fsp))  # operatedBy: the caller
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == body["id"] and response.headers["etag"]
    assert body["status"] == "PendingValidation"
    assert body["operatedBy"] == str(world.registry.iris.record("organisations", fsp))
    assert body["gspGroup"] == "_A" and body["energySource"] == "GRID"  # from the MPAN and the BESS shape
    assert body["ratedCapacity"] == "5" and body["storageCapacity"] == "13.5"
    assert world.client.get(response.headers["location"], headers=world.auth("fsp", fsp)).json() == body


HARD_RULES: list[tuple[dict[str, Any], str]] = [
    ({"assetName": None}, "assetName"),
    ({"assetName": "Bad*Name"}, "assetName"),
    ({"assetName": "x" * 256}, "assetName"),
    ({"assetCategory": "ROCKET"}, "assetCategory"),
    ({"assetCategory": None}, "assetCategory"),
    ({"ratedCapacity": None}, "ratedCapacity"),
    ({"ratedCapacity": 0}, "ratedCapacity"),
    ({"ratedCapacity": 5.123}, "ratedCapacity"),
    ({"ratedCapacity": "lots"}, "ratedCapacity"),
    ({"generationCapacity": 6}, "generationCapacity"),
    ({"demandCapacity": -1}, "demandCapacity"),
    ({"installedCapacity": 2, "generationCapacity": 3}, "generationCapacity"),
    ({"storageCapacity": None}, "storageCapacity"),
    ({"storageCapacity": 0}, "storageCapacity"),
    ({"assetCategory": "SOLAR_PV", "exportMPAN": mpan("100000000002"), "energySource": None, "importMPAN": None},
     "exportMPAN"),  # placeholder replaced below
    ({"assetCategory": "EV_CHARGER"}, "demandTechType"),
    ({"assetCategory": "HEAT_PUMP", "demandTechType": "HEAT_PUMP", "importMPAN": None}, "importMPAN"),
    ({"assetCategory": "WIND_TURBINE", "energySource": "WIND"}, "exportMPAN"),
    ({"assetCategory": "OTHER", "energySource": "OTHER"}, "otherDescription"),
    ({"energySource": "OTHER"}, "otherDescription"),
    ({"otherDescription": "x" * 201}, "otherDescription"),
    ({"energySource": "PLUTONIUM"}, "energySource"),
    ({"serialNumber": "ab"}, "serialNumber"),
    ({"serialNumber": "has space"}, "serialNumber"),
    ({"importMPAN": "100000000001"}, "importMPAN"),
    ({"importMPAN": "1000000000010"}, "importMPAN"),
    ({"exportMPAN": mpan("100000000001")}, "importMPAN"),
    ({"importMPAN": None}, "importMPAN"),
    ({"dno": None}, "dno"),
    ({"dno": "IDNO_GTC"}, "dno"),
    ({"gspGroup": "_B"}, "gspGroup"),
    ({"postcode": "NOT A CODE"}, "postcode"),
    ({"connectionStatus": "DECOMMISSIONED"}, "connectionStatus"),
    ({"connectionType": "TIMED"}, "connectionType"),
    ({"connectionStatus": None}, "connectionStatus"),
    ({"commissioningDate": None}, "commissioningDate"),
    ({"commissioningDate": TOMORROW, "effectiveDate": TOMORROW}, "commissioningDate"),
    ({"commissioningDate": "2024-13-45"}, "commissioningDate"),
    ({"effectiveDate": YESTERDAY}, "effectiveDate"),
    ({"commissioningDate": date.today().isoformat(), "effectiveDate": YESTERDAY}, "commissioningDate"),
    ({"ownerType": None}, "ownerType"),
    ({"ownerType": "LANDLORD"}, "ownerType"),
    ({"manufacturer": "m" * 256}, "manufacturer"),
    ({"assetModel": "m" * 101}, "assetModel"),
    # issue 12's review of the data dictionary (each with its passing case in tests/api/test_dictionary.py)
    ({"demandCapacity": 6}, "demandCapacity"),  # above ratedCapacity
    ({"installedCapacity": 2, "demandCapacity": 3}, "demandCapacity"),  # installed below demand
    ({"assetCategory": "OTHER", "energySource": "OTHER", "otherDescription": "flywheel", "importMPAN": None,
      "storageCapacity": None, "dno": None}, "dno"),  # CONNECTED without an MPAN still needs its DNO
    ({"assetCategory": "SOLAR_PV", "exportMPAN": mpan("100000000002"), "importMPAN": None, "storageCapacity": None,
      "energySource": None}, "energySource"),  # no default source
    ({"assetCategory": "WIND_TURBINE", "exportMPAN": mpan("100000000002"), "importMPAN": None,
      "storageCapacity": None}, "energySource"),
    ({"importMPAN": mpan("000000000001")}, "importMPAN"),  # not a known distributor id
    ({"importMPAN": mpan("990000000001")}, "importMPAN"),
    ({"importMPAN": mpan("270000000001")}, "importMPAN"),  # an IDNO's (GTC), inactive in this phase
    ({"postcode": "QA1 1AA"}, "postcode"),  # Q never opens a postcode
    ({"postcode": "CB7 4CI"}, "postcode"),  # nor are C, I in the inward code
]
HARD_RULES[14] = ({"assetCategory": "CHP", "exportMPAN": mpan("100000000002"), "importMPAN": None,
                   "storageCapacity": None, "energySource": None}, "energySource")  # CHP has no default source


@pytest.mark.parametrize(("override", "path"), HARD_RULES, ids=[f"{p}-{i}" for i, (_, p) in enumerate(HARD_RULES)])
def test_every_hard_rule_refuses_naming_the_term(world: World, fsp: str, override: dict[str, Any], path: str) -> None:
    before = world.snapshot()
    response = _register(world, fsp, **override)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert path in {e["path"] for e in errors if e["severity"] == "Violation"}, errors
    assert world.snapshot() == before


@pytest.mark.parametrize("role_of_operator", [("SUPPLIER",), ("FSP", "suspended")])
def test_operated_by_must_be_an_active_fsp(world: World, role_of_operator: tuple[str, ...]) -> None:
    org = world.org(role_of_operator[0])
    if "suspended" in role_of_operator:
        world.client.post(f"/organisations/{org}/status", json={"status": "Suspended", "reason": "x"},
                          headers=world.auth("admin"))
    response = world.client.post("/assets", json=asset_body(org), headers=world.auth("admin"))
    assert response.status_code == 422
    assert "operatedBy" in {e["path"] for e in response.json()["errors"]}


@pytest.mark.parametrize("body", [
    {"status": "Verified"}, {"identifier": "x"}, {"colour": "red"}, {"statusNote": "x"},
    {"@context": "http://127.0.0.1:9/elsewhere.jsonld"}, {"operatedBy": "not-an-id"},
])
def test_bad_submissions_are_refused(world: World, fsp: str, body: dict[str, Any]) -> None:
    before = world.snapshot()
    response = world.client.post("/assets", json={**asset_body(fsp), **body}, headers=world.auth("fsp", fsp))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert world.snapshot() == before


def _warning_then_justified(world: World, fsp: str, path: str, headers: dict[str, str] | None = None,
                            **overrides: Any) -> dict[str, Any]:
    headers = headers or world.auth("fsp", fsp)
    before = world.snapshot()
    refused = world.client.post("/assets", json=asset_body(fsp, **overrides), headers=headers)
    assert refused.status_code == 422, refused.text
    assert [(e["path"], e["severity"]) for e in refused.json()["errors"]] == [(path, "Warning")]
    assert world.snapshot() == before
    accepted = world.client.post("/assets", json=asset_body(fsp, justification="checked with the DNO", **overrides),
                                 headers=headers)
    assert accepted.status_code == 201, accepted.text
    body: dict[str, Any] = accepted.json()
    assert [w["warningPath"] for w in body["acceptedWarnings"]] == [path]
    return body


def test_soft_rule_capacity_over_a_million_kw(world: World, fsp: str) -> None:
    _warning_then_justified(world, fsp, "ratedCapacity", ratedCapacity=2_000_000)


def test_soft_rule_dno_differs_from_the_mpan(world: World, fsp: str) -> None:
    _warning_then_justified(world, fsp, "dno", dno="NGED_EMID", gspGroup="_A")


def test_soft_rule_mpan_used_by_another_organisations_asset(world: World, fsp: str) -> None:
    other = world.org("FSP")
    world.client.post("/assets", json=asset_body(other), headers=world.auth("fsp", other))
    body = _warning_then_justified(world, fsp, "importMPAN", serialNumber="OTHER-SERIAL")
    events = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?r ?j WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; fmar:record ?r ; fmar:justification ?j } }""",
                                         bindings={"r": world.registry.iris.record("assets", body["identifier"])})
    assert [str(e["j"]) for e in events] == ["checked with the DNO"]


def test_the_same_mpan_and_serial_is_a_duplicate(world: World, fsp: str) -> None:
    first = _register(world, fsp).json()
    other = world.org("FSP")
    before = world.snapshot()
    again = _register(world, fsp, assetName="Same battery again")
    assert again.status_code == 409 and again.json()["existingId"] == first["identifier"]
    elsewhere = world.client.post("/assets", json=asset_body(other, justification="x"), headers=world.auth("fsp", other))
    assert elsewhere.status_code == 409
    assert world.snapshot() == before


def test_friendly_codes_are_unique_within_the_organisation(world: World, fsp: str) -> None:
    first = _register(world, fsp, friendlyCode="HOME-1").json()
    clash = _register(world, fsp, friendlyCode="HOME-1", importMPAN=mpan("100000000009"), serialNumber="SN-2")
    assert clash.status_code == 409 and clash.json()["existingId"] == first["identifier"]
    other = world.org("FSP")
    fine = world.client.post("/assets", json=asset_body(other, friendlyCode="HOME-1", importMPAN=mpan("100000000019"),
                                                        serialNumber="SN-3"), headers=world.auth("fsp", other))
    assert fine.status_code == 201, fine.text


@pytest.mark.parametrize(("media", "fmt"), [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                            ("application/rdf+xml", "xml")])
def test_read_in_every_format(world: World, fsp: str, media: str, fmt: str) -> None:
    asset = world.asset(fsp)
    headers = world.auth("fsp", fsp)
    as_jsonld = world.client.get(f"/assets/{asset}", headers=headers)
    other = world.client.get(f"/assets/{asset}", headers={**headers, "Accept": media})
    assert other.status_code == 200 and other.headers["etag"] == as_jsonld.headers["etag"]
    context = world.registry.context.document
    assert isomorphic(parse_rdf(other.text, media), parse_rdf(as_jsonld.text, "application/ld+json", context))
    assert world.client.get(f"/assets/{asset}", headers={**headers, "Accept": "text/csv"}).status_code == 406


def test_find_filters_pages_and_counts(world: World, fsp: str) -> None:
    ids = sorted(world.asset(fsp) for _ in range(3))
    ev = world.asset(fsp, assetCategory="EV_CHARGER", demandTechType="EV", storageCapacity=None, friendlyCode="EV-1")
    headers = world.auth("fsp", fsp)
    everything = world.client.get("/assets?limit=2", headers=headers).json()
    assert everything["total"] == 4 and len(everything["items"]) == 2
    rest = world.client.get(everything["next"], headers=headers).json()
    assert sorted(i["identifier"] for i in everything["items"] + rest["items"]) == sorted([*ids, ev])
    assert "next" not in rest and rest["total"] == 4
    one = world.client.get("/assets", params={"assetCategory": "EV_CHARGER"}, headers=headers).json()
    assert [i["identifier"] for i in one["items"]] == [ev] and one["total"] == 1
    record = world.client.get(f"/assets/{ids[0]}", headers=headers).json()
    for name, value in (("mpan", record["importMPAN"]), ("serialNumber", record["serialNumber"])):
        found = world.client.get("/assets", params={name: value}, headers=headers).json()
        assert [i["identifier"] for i in found["items"]] == [ids[0]]
    for name, value, count in (("friendlyCode", "EV-1", 1), ("dno", "UKPN_EPN", 4), ("gspGroup", "_A", 4),
                               ("status", "PendingValidation", 4), ("status", "Verified", 0), ("operatedBy", fsp, 4)):
        assert world.client.get("/assets", params={name: value}, headers=headers).json()["total"] == count
    assert world.client.get("/assets", params={"dno": "not a code!"}, headers=headers).status_code == 400


def test_each_caller_finds_only_what_the_policy_lets_it_see(world: World, fsp: str) -> None:
    other = world.org("FSP")
    mine, theirs = world.asset(fsp), world.asset(other)
    south = world.asset(other, importMPAN=mpan("200000000001"), dno="SSEN_SEPD", serialNumber="S-1")
    dno_east = world.org("DNO", networkAreas=["UKPN_EPN"])

    def seen(headers: dict[str, str]) -> set[str]:
        return {i["identifier"] for i in world.client.get("/assets", headers=headers).json()["items"]}

    assert seen(world.auth("fsp", fsp)) == {mine}
    assert seen(world.auth("so", dno_east)) == {mine, theirs}
    assert seen(world.auth("regulator")) == {mine, theirs, south}
    assert world.client.get("/assets", headers=world.auth("supplier", world.org("SUPPLIER"))).status_code == 403
    assert world.client.get("/assets").status_code == 401
    assert world.client.get(f"/assets/{theirs}", headers=world.auth("fsp", fsp)).status_code == 404
    assert world.client.get(f"/assets/{south}", headers=world.auth("so", dno_east)).status_code == 404


def test_a_platform_finds_and_registers_for_the_fsp_that_delegated(world: World, fsp: str) -> None:
    platform = world.org("PLATFORM")
    world.delegation(fsp, platform, ["asset.create", "asset.list", "asset.read"])
    mine = world.asset(fsp)
    world.asset(world.org("FSP"))
    client_id, secret = world.client_credentials(platform)
    token = world.client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    headers = {"Authorization": f"Bearer {token.json()['access_token']}", "On-Behalf-Of": fsp}
    assert {i["identifier"] for i in world.client.get("/assets", headers=headers).json()["items"]} == {mine}
    created = world.client.post("/assets", json=asset_body(importMPAN=mpan("100000000077"), serialNumber="P-1"),
                                headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["operatedBy"] == str(world.registry.iris.record("organisations", fsp))
    patch = world.client.patch(f"/assets/{mine}", json={"assetName": "x"}, headers={**headers, "If-Match": "*"})
    assert patch.status_code == 403  # asset.update was not delegated


def test_update_needs_if_match_and_is_revalidated(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    headers = world.auth("fsp", fsp)
    current = world.client.get(f"/assets/{asset}", headers=headers)
    another_fsp = world.org("FSP")
    before = world.snapshot()
    assert world.client.patch(f"/assets/{asset}", json={"assetName": "New"}, headers=headers).status_code == 428
    assert world.client.patch(f"/assets/{asset}", json={"assetName": "New"},
                              headers={**headers, "If-Match": '"old"'}).status_code == 412
    broken = world.client.patch(f"/assets/{asset}", json={"storageCapacity": None},
                                headers={**headers, "If-Match": current.headers["etag"]})
    assert broken.status_code == 422 and broken.json()["errors"][0]["path"] == "storageCapacity"
    for refused in ({"operatedBy": another_fsp}, {"status": "Verified"}):
        assert world.client.patch(f"/assets/{asset}", json=refused,
                                  headers={**headers, "If-Match": current.headers["etag"]}).status_code == 422
    assert world.snapshot() == before
    ok = world.client.patch(f"/assets/{asset}", json={"assetName": "Renamed battery", "reason": "typo"},
                            headers={**headers, "If-Match": current.headers["etag"],
                                     "Content-Type": "application/merge-patch+json"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["assetName"] == "Renamed battery" and "materialChange" not in ok.json()
    assert ok.json()["recordedAt"] == current.json()["recordedAt"] and ok.json()["status"] == "PendingValidation"


@pytest.mark.parametrize(("patch", "material"), [
    ({"ratedCapacity": 5.25}, []),
    ({"ratedCapacity": 6}, ["ratedCapacity"]),
    ({"importMPAN": mpan("100000000055")}, ["importMPAN"]),
    ({"assetCategory": "EV_CHARGER", "demandTechType": "EV", "storageCapacity": None, "energySource": None},
     ["assetCategory"]),
])
def test_material_changes_are_marked_in_the_response_and_the_event(world: World, fsp: str, patch: dict[str, Any],
                                                                   material: list[str]) -> None:
    asset = world.asset(fsp)
    headers = world.auth("fsp", fsp)
    etag = world.client.get(f"/assets/{asset}", headers=headers).headers["etag"]
    response = world.client.patch(f"/assets/{asset}", json=patch, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.text
    assert response.json().get("materialChange", []) == material
    rows = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?r ?m WHERE { GRAPH ?g { ?e fmar:operation "asset.update" ; fmar:record ?r ; fmar:materialChange ?m } }""",
                                       bindings={"r": world.registry.iris.record("assets", asset)})
    assert sorted(str(r["m"]) for r in rows) == material


def test_validation_status_by_the_so_of_the_area(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    east, south = world.org("DNO", networkAreas=["UKPN_EPN"]), world.org("DNO", networkAreas=["SSEN_SEPD"])
    path = f"/assets/{asset}/validation"
    assert world.client.post(path, json={"status": "Verified"}, headers=world.auth("fsp", fsp)).status_code == 403
    assert world.client.post(path, json={"status": "Verified"}, headers=world.auth("so", south)).status_code == 404
    assert world.client.post(path, json={"status": "Query"}, headers=world.auth("so", east)).status_code == 422
    assert world.client.post(path, json={"status": "Deregistered", "note": "x"},
                             headers=world.auth("so", east)).status_code == 422
    query = world.client.post(path, json={"status": "Query", "note": "serial number unreadable"},
                              headers=world.auth("so", east))
    assert query.status_code == 200 and query.json()["statusNote"] == "serial number unreadable"
    verified = world.client.post(path, json={"status": "Verified", "note": "photo received"}, headers=world.auth("admin"))
    assert verified.status_code == 200 and verified.json()["status"] == "Verified"
    assert world.client.post(path, json={"status": "Verified"}, headers=world.auth("admin")).status_code == 409


def test_deregistration_is_a_soft_delete(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    headers = world.auth("fsp", fsp)
    path = f"/assets/{asset}/deregister"
    assert world.client.post(path, json={"reason": "BORED"}, headers=headers).status_code == 422
    assert world.client.post(path, json={}, headers=headers).status_code == 422
    done = world.client.post(path, json={"reason": "END_OF_CONTRACT", "note": "contract ended"}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "Deregistered" and done.json()["deregistrationReason"] == "END_OF_CONTRACT"
    read = world.client.get(f"/assets/{asset}", headers=headers)
    assert read.status_code == 200 and read.json()["status"] == "Deregistered"
    assert world.client.post(path, json={"reason": "DECOMMISSIONED"}, headers=headers).status_code == 409
    assert world.client.patch(f"/assets/{asset}", json={"assetName": "x"},
                              headers={**headers, "If-Match": read.headers["etag"]}).status_code == 409
    # the MPAN and serial are free again, and the organisation may now be de-registered
    assert _register(world, fsp, importMPAN=read.json()["importMPAN"], serialNumber=read.json()["serialNumber"],
                     assetName="Replacement").status_code == 201


def test_deregistration_is_refused_while_in_an_active_market_unit(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    iris = world.registry.iris
    unit = iris.record("units", "22222222-2222-4222-8222-222222222222")
    graph = iris.org_graph(iris.record("organisations", fsp))
    # Set up as the market unit module will record one (it arrives in a later issue).
    put_quads(world.registry.store, [(unit, RDF.type, FMAR.MarketUnit, graph),
                                    (unit, DCTERMS.identifier, Literal(iris.identifier(unit)), graph),
                                    (unit, FMAR.hasAsset, iris.record("assets", asset), graph),
                                    (unit, FMAR.status, code("MarketUnitStatus", "Active"), graph)])
    before = world.snapshot()
    response = world.client.post(f"/assets/{asset}/deregister", json={"reason": "DECOMMISSIONED"},
                                 headers=world.auth("fsp", fsp))
    assert response.status_code == 409 and response.json()["dependents"][0]["record"] == str(unit)
    assert world.snapshot() == before


def test_an_organisation_with_active_assets_cannot_deregister(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    refused = world.client.post(f"/organisations/{fsp}/deregister", json={"reason": "x"}, headers=world.auth("admin"))
    assert refused.status_code == 409 and refused.json()["dependents"][0]["id"] == asset


@pytest.mark.parametrize(("rated", "storage"), [("12.50", 10.0), (7, "0.50"), ("100", 1e2)])
def test_the_registration_answer_is_the_stored_record(world: World, fsp: str, rated: object, storage: object) -> None:
    created = _register(world, fsp, ratedCapacity=rated, storageCapacity=storage)
    assert created.status_code == 201, created.text
    read = world.client.get(created.headers["location"], headers=world.auth("fsp", fsp))
    assert read.json() == created.json() and read.headers["etag"] == created.headers["etag"]
