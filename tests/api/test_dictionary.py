"""The data dictionary's rules over HTTP (../shared/design/data-dictionary.md): for each rule a submission that
keeps it is accepted and one that breaks it is refused, naming the term (single and, for the MPAN, bulk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fmar.validation.shacl import load_shapes
from tests.api.conftest import World
from tests.conftest import asset_body, mpan, org_body

INFO_SHAPE = Path(__file__).parents[1] / "fixtures" / "info-shape.ttl"
NDJSON = {"Content-Type": "application/x-ndjson"}

#: The dictionary's "GB reference data": MPAN distributor id → (DNO code, GSP group).
AREAS = {
    "10": ("UKPN_EPN", "_A"), "11": ("NGED_EMID", "_B"), "12": ("UKPN_LPN", "_C"), "13": ("SPEN_SPM", "_D"),
    "14": ("NGED_WMID", "_E"), "15": ("NPG_NE", "_F"), "16": ("ENWL", "_G"), "17": ("SSEN_SHEPD", "_P"),
    "18": ("SPEN_SPD", "_N"), "19": ("UKPN_SPN", "_J"), "20": ("SSEN_SEPD", "_H"), "21": ("NGED_WALES", "_K"),
    "22": ("NGED_SWEST", "_L"), "23": ("NPG_YK", "_M"),
}
#: The IDNOs the dictionary names, by their MPAN distributor ids (Elexon's market domain data).
IDNOS = {"24": "Independent Power Networks", "25": "ESP Electricity", "26": "Last Mile", "27": "GTC",
         "29": "Harlaxton Energy Networks", "32": "Energy Assets Networks", "33": "Eclipse Power Networks"}

SOLAR = {"assetCategory": "SOLAR_PV", "exportMPAN": mpan("100000000102"), "importMPAN": None, "storageCapacity": None}
WIND = {"assetCategory": "WIND_TURBINE", "exportMPAN": mpan("100000000103"), "importMPAN": None, "storageCapacity": None}
#: An asset of a category that needs no MPAN, without one.
NO_MPAN = {"assetCategory": "OTHER", "energySource": "OTHER", "otherDescription": "flywheel", "importMPAN": None,
           "storageCapacity": None, "dno": None}


@pytest.fixture
def fsp(world: World) -> str:
    return world.org("FSP")


def _register(world: World, fsp: str, **overrides: Any) -> Any:
    return world.client.post("/assets", json=asset_body(fsp, **overrides), headers=world.auth("fsp", fsp))


def _refused(world: World, response: Any, path: str) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, Any]] = response.json()["errors"]
    found = [e for e in errors if e["path"] == path and e["severity"] == "Violation"]
    assert found, errors
    return found


# (rule, a submission that keeps it, one that breaks it, the term the refusal names, words of its message)
PAIRS: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("generationCapacity ≤ ratedCapacity", {"generationCapacity": 5}, {"generationCapacity": 5.01},
     "generationCapacity", "must not exceed ratedCapacity"),
    ("demandCapacity ≤ ratedCapacity", {"demandCapacity": 5}, {"demandCapacity": 6},
     "demandCapacity", "must not exceed ratedCapacity"),
    ("demandCapacity ≥ 0", {"demandCapacity": 0}, {"demandCapacity": -1}, "demandCapacity", "0 or more"),
    ("installedCapacity ≥ generationCapacity", {"installedCapacity": 3, "generationCapacity": 3},
     {"installedCapacity": 2, "generationCapacity": 3}, "generationCapacity", "at least generationCapacity"),
    ("installedCapacity ≥ demandCapacity", {"installedCapacity": 4, "demandCapacity": 4},
     {"installedCapacity": 3.99, "demandCapacity": 4}, "demandCapacity", "at least demandCapacity"),
    ("dno required when CONNECTED, with no MPAN", {**NO_MPAN, "dno": "UKPN_EPN"}, NO_MPAN, "dno",
     "connectionStatus is CONNECTED"),
    ("dno required when an MPAN is given", {"connectionStatus": "PENDING"},
     {"connectionStatus": "PENDING", "dno": None}, "dno", "an MPAN is given"),
    ("energySource required for SOLAR_PV", {**SOLAR, "energySource": "SOLAR"}, {**SOLAR, "energySource": None},
     "energySource", "required for SOLAR_PV"),
    ("energySource required for WIND_TURBINE", {**WIND, "energySource": "WIND"}, {**WIND, "energySource": None},
     "energySource", "required for WIND_TURBINE"),
    ("energySource required for CHP", {**SOLAR, "assetCategory": "CHP", "energySource": "NATURAL_GAS"},
     {**SOLAR, "assetCategory": "CHP", "energySource": None}, "energySource", "required for CHP"),
    ("energySource required for OTHER", NO_MPAN | {"connectionStatus": "PENDING", "commissioningDate": None},
     NO_MPAN | {"connectionStatus": "PENDING", "commissioningDate": None, "energySource": None},
     "energySource", "required for OTHER"),
    ("importMPAN: a known distributor id", {}, {"importMPAN": mpan("990000000001")}, "importMPAN",
     "not a known MPAN distributor id"),
    ("exportMPAN: a known distributor id", {**SOLAR, "energySource": "SOLAR"},
     {**SOLAR, "energySource": "SOLAR", "exportMPAN": mpan("000000000001")}, "exportMPAN",
     "not a known MPAN distributor id"),
    ("importMPAN: no IDNO while IDNOs are inactive", {}, {"importMPAN": mpan("270000000001")}, "importMPAN", "GTC"),
    ("postcode: the UK format", {"postcode": "SW1A 1AA"}, {"postcode": "QA1 1AA"}, "postcode", "valid UK postcode"),
]


@pytest.mark.parametrize(("keeps", "breaks", "path", "words"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_each_rule_accepts_what_keeps_it_and_refuses_what_breaks_it(world: World, fsp: str, keeps: dict[str, Any],
                                                                     breaks: dict[str, Any], path: str, words: str) -> None:
    accepted = _register(world, fsp, **keeps)
    assert accepted.status_code == 201, accepted.text
    before = world.snapshot()
    found = _refused(world, _register(world, fsp, serialNumber="OTHER-1", **breaks), path)
    assert any(words in e["message"] for e in found), found
    assert world.snapshot() == before


def test_a_pending_asset_without_an_mpan_needs_no_dno(world: World, fsp: str) -> None:
    response = _register(world, fsp, **NO_MPAN, connectionStatus="PENDING", commissioningDate=None)
    assert response.status_code == 201, response.text
    assert "dno" not in response.json() and "gspGroup" not in response.json()


# ---------------------------------------------------------------- energySource: no silent default but BESS's


def test_bess_still_defaults_to_grid(world: World, fsp: str) -> None:
    response = _register(world, fsp, energySource=None)
    assert response.status_code == 201 and response.json()["energySource"] == "GRID"


# ---------------------------------------------------------------- the MPAN's distributor id


@pytest.mark.parametrize("distributor", sorted(AREAS))
def test_every_dno_area_gives_its_dno_and_gsp_group(world: World, fsp: str, distributor: str) -> None:
    dno, gsp = AREAS[distributor]
    response = _register(world, fsp, importMPAN=mpan(f"{distributor}0000000001"), dno=dno)
    assert response.status_code == 201, response.text
    assert response.json()["gspGroup"] == gsp and response.json()["dno"] == dno


@pytest.mark.parametrize("distributor", sorted(IDNOS))
def test_an_idno_mpan_is_refused_naming_the_idno(world: World, fsp: str, distributor: str) -> None:
    before = world.snapshot()
    found = _refused(world, _register(world, fsp, importMPAN=mpan(f"{distributor}0000000001")), "importMPAN")
    [error] = [e for e in found if e["constraint"] == "fmar:mpanDistributorActive"]
    assert f"the distributor id of {IDNOS[distributor]} (IDNO)" in error["message"] and "inactive" in error["message"]
    assert error["value"] == mpan(f"{distributor}0000000001")
    assert world.snapshot() == before


@pytest.mark.parametrize("distributor", ["00", "01", "09", "28", "34", "99"])
def test_an_unknown_distributor_id_is_refused(world: World, fsp: str, distributor: str) -> None:
    found = _refused(world, _register(world, fsp, importMPAN=mpan(f"{distributor}0000000001")), "importMPAN")
    assert [e["constraint"] for e in found] == ["fmar:mpanDistributor"]
    assert "10 to 23" in found[0]["message"]


def test_bulk_reports_the_distributor_id_per_record(world: World, fsp: str) -> None:
    bodies = [asset_body(importMPAN=mpan(f"{d}0000000001"), serialNumber=f"BULK-{d}") for d in ("10", "27", "99", "23")]
    bodies[3]["dno"] = "NPG_YK"
    response = world.client.post("/assets/bulk", content="\n".join(json.dumps(b) for b in bodies).encode(),
                                 headers={**world.auth("fsp", fsp), **NDJSON})
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert [r["status"] for r in records] == ["created", "rejected", "rejected", "created"]
    assert [(v["path"], v["constraint"]) for v in records[1]["violations"]] == [
        ("importMPAN", "fmar:mpanDistributorActive")]
    assert "GTC" in records[1]["violations"][0]["message"]
    assert [(v["path"], v["constraint"]) for v in records[2]["violations"]] == [("importMPAN", "fmar:mpanDistributor")]


# ---------------------------------------------------------------- postcodes: the UK format rules

GOOD_POSTCODES = ["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "N1C 4AG",
                  "GIR 0AA", "sw1a1aa", "ls1 4ap"]
BAD_POSTCODES = ["QA1 1AA", "VA1 1AA", "XA1 1AA",  # Q, V, X never first
                 "AI1 1AA", "BJ1 1AA", "CZ1 1AA",  # I, J, Z never second
                 "W1I 1AA", "E1L 6AN",  # the third place of A9A: ABCDEFGHJKPSTUW
                 "EC1C 1BB", "SW1D 1AA",  # the fourth place of AA9A: ABEHMNPRVWXY
                 "CB7 4CA", "CB7 4AI", "CB7 4KO", "CB7 4MV",  # inward letters never C, I, K, M, O, V
                 "CB7  4AA", "CB74AA1", "CB7 AAA", "123 4AA", "GIR 1AA", "CB744 4AA"]


def test_real_postcodes_are_accepted_as_submitted(world: World, fsp: str) -> None:
    for n, postcode in enumerate(GOOD_POSTCODES):
        response = _register(world, fsp, postcode=postcode, importMPAN=mpan(f"1000000002{n:02d}"), serialNumber=f"PC-{n}")
        assert response.status_code == 201, (postcode, response.text)
        assert response.json()["postcode"] == postcode


@pytest.mark.parametrize("postcode", BAD_POSTCODES)
def test_postcodes_that_break_the_format_rules_are_refused(world: World, fsp: str, postcode: str) -> None:
    _refused(world, _register(world, fsp, postcode=postcode), "postcode")


@pytest.mark.parametrize(("postcode", "status"), [("EC1A 1BB", 201), ("gir0aa", 201), ("QA1 1AA", 422), ("W1I 1AA", 422)])
def test_an_organisations_postcode_follows_the_same_rules(world: World, postcode: str, status: int) -> None:
    body = org_body(registeredAddress={"addressLine1": "1 Fen Road", "postcode": postcode})
    response = world.client.post("/organisations", json=body, headers=world.auth("admin"))
    assert response.status_code == status, response.text
    if status == 422:
        assert "registeredAddress.postcode" in {e["path"] for e in response.json()["errors"]}


# ---------------------------------------------------------------- company and VAT numbers

COMPANY_NUMBERS = [("01234567", "01234567"), ("SC123456", "SC123456"), ("NI123456", "NI123456"),
                   ("OC123456", "OC123456"), ("SO123456", "SO123456"), ("NC123456", "NC123456"),
                   ("R0123456", "R0123456"), ("LP123456", "LP123456"), ("SL123456", "SL123456"),
                   ("FC123456", "FC123456"), ("sc654321", "SC654321"), (" oc 654 321 ", "OC654321"),
                   ("ni654321", "NI654321")]


def test_companies_house_numbers_are_accepted_in_upper_case(world: World) -> None:
    for given, stored in COMPANY_NUMBERS:
        response = world.client.post("/organisations", json=org_body(companyNumber=given), headers=world.auth("admin"))
        assert response.status_code == 201, (given, response.text)
        assert response.json()["companyNumber"] == stored


def test_a_company_number_in_lower_case_is_the_same_company(world: World) -> None:
    first = world.client.post("/organisations", json=org_body(companyNumber="SC111111"), headers=world.auth("admin"))
    assert first.status_code == 201
    again = world.client.post("/organisations", json=org_body(companyNumber="sc111111"), headers=world.auth("admin"))
    assert again.status_code == 409 and again.json()["existingId"] == first.json()["identifier"]


@pytest.mark.parametrize("number", ["XX123456", "AB123456", "QQ123456", "GB123456", "S1234567", "SC12345",
                                    "SC1234567", "1234567", "R1123456", "SC-12345"])
def test_other_company_numbers_are_refused(world: World, number: str) -> None:
    response = world.client.post("/organisations", json=org_body(companyNumber=number), headers=world.auth("admin"))
    _refused(world, response, "companyNumber")


VAT_NUMBERS = [("GB980780684", "GB980780684"), ("980780684", "GB980780684"), ("gb 980 7806 84", "GB980780684"),
               ("980-780-684", "GB980780684"), ("XI980780684", "XI980780684"), ("xi 980 780 684", "XI980780684"),
               ("GB 980 7806 84 001", "GB980780684001")]


def test_vat_numbers_are_normalised_then_checked(world: World) -> None:
    for n, (given, stored) in enumerate(VAT_NUMBERS):
        body = org_body(companyNumber=f"{n:08d}", vatNumber=given)
        response = world.client.post("/organisations", json=body, headers=world.auth("admin"))
        assert response.status_code == 201, (given, response.text)
        assert response.json()["vatNumber"] == stored


@pytest.mark.parametrize("number", ["GB980780685", "980780685", "xi980780685", "GB12345678", "DE980780684",
                                    "GB98078068X"])
def test_vat_numbers_that_are_not_uk_ones_are_refused(world: World, number: str) -> None:
    response = world.client.post("/organisations", json=org_body(vatNumber=number), headers=world.auth("admin"))
    _refused(world, response, "vatNumber")


def test_an_update_normalises_too(world: World) -> None:
    created = world.client.post("/organisations", json=org_body(), headers=world.auth("admin")).json()
    path = f"/organisations/{created['identifier']}"
    etag = world.client.get(path, headers=world.auth("admin")).headers["etag"]
    response = world.client.patch(path, json={"vatNumber": "xi 980 780 684"},
                                  headers={**world.auth("admin"), "If-Match": etag})
    assert response.status_code == 200, response.text
    assert response.json()["vatNumber"] == "XI980780684"


# ---------------------------------------------------------------- sh:Info results need no justification


@pytest.fixture
def informed(world: World) -> World:
    catalogue = world.registry.catalogue
    files = [*sorted(world.registry.settings.resource("shapes").rglob("*.ttl")), INFO_SHAPE]
    catalogue.use(catalogue.candidate(load_shapes(files)))
    return world


def test_an_info_result_needs_no_justification(informed: World, fsp: str) -> None:
    response = _register(informed, fsp)  # no friendlyCode: an Info result
    assert response.status_code == 201, response.text
    assert "acceptedWarnings" not in response.json()


def test_an_info_result_beside_a_warning_needs_only_the_warnings_justification(informed: World, fsp: str) -> None:
    refused = _register(informed, fsp, ratedCapacity=2_000_000)
    assert refused.status_code == 422
    assert sorted((e["path"], e["severity"]) for e in refused.json()["errors"]) == [
        ("friendlyCode", "Info"), ("ratedCapacity", "Warning")]
    assert refused.json()["detail"] == "1 warning(s) need a justification to be accepted"
    accepted = _register(informed, fsp, ratedCapacity=2_000_000, justification="a grid-scale site")
    assert accepted.status_code == 201, accepted.text
    assert [w["warningPath"] for w in accepted.json()["acceptedWarnings"]] == ["ratedCapacity"]


def test_bulk_records_with_info_results_are_created(informed: World, fsp: str) -> None:
    bodies = [asset_body(importMPAN=mpan(f"1000000003{n:02d}"), serialNumber=f"INFO-{n}") for n in range(3)]
    bodies[2]["ratedCapacity"] = 2_000_000
    response = informed.client.post("/assets/bulk", content="\n".join(json.dumps(b) for b in bodies).encode(),
                                    headers={**informed.auth("fsp", fsp), **NDJSON})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["records"]] == ["created", "created", "rejected"]
