"""The unified asset view and the saved queries of data/queries/: filters, paging, formats, access."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rdflib import Graph

from fmar.access.principal import SYSTEM
from fmar.arm.generator import generate
from fmar.config import Settings
from tests.api.conftest import World

QUERIES = Settings().resource("data", "queries")


@pytest.fixture
def fleet(world: World) -> tuple[str, str]:
    a, b = world.org("FSP"), world.org("FSP")
    for org, seed in ((a, 21), (b, 22)):
        iri = str(world.registry.iris.record("organisations", org))
        reports = list(world.registry.registrations.run(SYSTEM, [(i, body, None) for i, body in
                                                        enumerate(generate(40, operated_by=iri, seed=seed))]))
        assert {r.status for r in reports} == {"created"}
    return a, b


def _all(world: World, headers: dict[str, str], **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    after = None
    while True:
        query = {**params, "limit": "7", **({"after": after} if after else {})}
        page = world.client.get("/views/assets", params=query, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["@graph"]
        after = body.get("next")
        assert ("link" in page.headers) == (after is not None)
        if after is None:
            assert len(items) == body["total"]
            return items


def test_filters_and_paging(world: World, fleet: tuple[str, str]) -> None:
    everything = _all(world, {})
    assert len(everything) == 80 and len({i["identifier"] for i in everything}) == 80
    assert [i["identifier"] for i in everything] == sorted(i["identifier"] for i in everything)
    first = everything[0]
    same = _all(world, {}, assetCategory=str(first["assetCategory"]), gspGroup=str(first["gspGroup"]))
    assert [i["identifier"] for i in same] == [i["identifier"] for i in everything if (i["assetCategory"], i["gspGroup"])
                                               == (first["assetCategory"], first["gspGroup"])]
    a = str(world.registry.iris.record("organisations", fleet[0]))
    mine = _all(world, {}, operatedBy=fleet[0], minCapacity="5", maxCapacity="10")
    assert mine and all(i["operatedBy"] == a and 5 <= float(str(i["ratedCapacity"])) <= 10 for i in mine)
    assert len(_all(world, {}, status="Verified")) == 0 and len(_all(world, {}, dno="UKPN_EPN")) > 0


def test_each_caller_sees_its_own_restricted_facts_only(world: World, fleet: tuple[str, str]) -> None:
    a = str(world.registry.iris.record("organisations", fleet[0]))
    anonymous = _all(world, {})
    assert not any("importMPAN" in i or "exportMPAN" in i or "serialNumber" in i for i in anonymous)
    as_a = _all(world, world.auth("fsp", fleet[0]))
    assert all(("serialNumber" in i) == (i["operatedBy"] == a) for i in as_a)
    admin = _all(world, world.auth("admin"))
    assert all("serialNumber" in i for i in admin)


def test_csv_and_turtle(world: World, fleet: tuple[str, str]) -> None:
    text = world.client.get("/views/assets", params={"limit": 500}, headers={"Accept": "text/csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 80 and rows[0]["identifier"] and rows[0]["assetCategory"] in {
        "EV_CHARGER", "HEAT_PUMP", "SOLAR_PV", "BESS", "ELECTRIC_BOILER", "HVAC", "REFRIGERATION", "INDUSTRIAL_LOAD"}
    assert all(r["serialNumber"] == "" for r in rows)
    turtle = world.client.get("/views/assets", params={"limit": 5}, headers={"Accept": "text/turtle"})
    assert len(set(Graph().parse(data=turtle.text, format="turtle").subjects())) == 5


@pytest.mark.parametrize("params", [{"colour": "red"}, {"assetCategory": "BESS; DROP"}, {"minCapacity": "lots"},
                                    {"operatedBy": "someone"}, {"after": "'} UNION {"}, {"limit": "0"}])
def test_bad_filters_are_400(world: World, params: dict[str, str]) -> None:
    response = world.client.get("/views/assets", params=params)
    assert response.status_code in (400, 422) and response.headers["content-type"] == "application/problem+json"


def test_the_saved_queries_answer_the_use_cases(world: World, fleet: tuple[str, str]) -> None:
    def run(name: str, replace: tuple[str, str] | None = None) -> list[dict[str, dict[str, str]]]:
        query = (QUERIES / name).read_text(encoding="utf-8")
        if replace:
            query = query.replace(*replace)
        response = world.client.get("/sparql", params={"query": query})
        assert response.status_code == 200, response.text
        rows: list[dict[str, dict[str, str]]] = response.json()["results"]["bindings"]
        return rows

    bess = run("bess-in-gsp-group-a.rq")
    assert {r["id"]["value"] for r in bess} == {str(i["identifier"]) for i in _all(world, {}, assetCategory="BESS",
                                                                                     gspGroup="_A")}
    placeholder = "http://127.0.0.1:8000/organisations/00000000-0000-4000-8000-000000000000"
    of_a = run("assets-of-an-fsp.rq", (placeholder, str(world.registry.iris.record("organisations", fleet[0]))))
    assert len(of_a) == 40
    totals = run("capacity-by-category-and-gsp-group.rq")
    assert sum(int(r["assets"]["value"]) for r in totals) == 80


def test_every_saved_query_is_documented_and_runs(world: World) -> None:
    for path in sorted(Path(QUERIES).glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("#"), f"{path.name} says what it answers in its first lines"
        if "#FILTERS#" not in text:
            assert world.client.get("/sparql", params={"query": text}).status_code == 200, path.name
