"""UC-02.02 bulk and UC-02.05 export over HTTP: reports per record, nothing partial, streamed exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rdflib import Graph

from fmar.arm.generator import generate
from tests.api.conftest import World
from tests.conftest import asset_body, mpan
from tests.rdf_parse import parse_rdf

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def fsp(world: World) -> str:
    return world.org("FSP")


def _ndjson(bodies: list[Any]) -> bytes:
    return "\n".join(b if isinstance(b, str) else json.dumps(b) for b in bodies).encode()


def _csv(bodies: list[dict[str, Any]]) -> bytes:
    header = sorted({k for b in bodies for k in b})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header)
    writer.writeheader()
    writer.writerows(bodies)
    return buffer.getvalue().encode()


def test_ndjson_bulk_reports_every_record_in_order(world: World, fsp: str) -> None:
    good = list(generate(5, seed=3))
    bodies: list[Any] = [good[0], "{broken", good[1], {**good[2], "ratedCapacity": -1}, "[1, 2]", good[3], good[0],
                         {**good[4], "colour": "red"}]
    response = world.client.post("/assets/bulk", content=_ndjson(bodies), headers={**world.auth("fsp", fsp), **NDJSON})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["summary"] == {"created": 3, "rejected": 4, "duplicate": 1, "total": 8}
    statuses = [(r["index"], r["status"]) for r in report["records"]]
    assert statuses == [(0, "created"), (1, "rejected"), (2, "created"), (3, "rejected"), (4, "rejected"),
                        (5, "created"), (6, "duplicate"), (7, "rejected")]
    records = report["records"]
    assert records[6]["id"] == records[0]["id"]
    assert "ratedCapacity" in {v["path"] for v in records[3]["violations"]}
    assert "colour" in records[7]["violations"][0]["message"]
    for created in (records[0], records[2], records[5]):
        read = world.client.get(f"/assets/{created['id']}", headers=world.auth("fsp", fsp))
        assert read.status_code == 200 and read.json()["status"] == "PendingValidation"
    found = world.client.get("/assets", headers=world.auth("fsp", fsp)).json()
    assert found["total"] == 3  # nothing of the rejected records was stored


def test_csv_bulk_with_justified_warnings(world: World, fsp: str) -> None:
    bodies = [asset_body(importMPAN=mpan(f"1000000007{n:02d}"), serialNumber=f"CSV-{n}") for n in range(3)]
    bodies[1]["ratedCapacity"] = 2_000_000
    bodies[2]["ratedCapacity"] = 2_000_000
    bodies[2]["justification"] = "a grid-scale site"
    response = world.client.post("/assets/bulk", content=_csv(bodies),
                                 headers={**world.auth("fsp", fsp), "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert [r["status"] for r in records] == ["created", "rejected", "created"]
    assert records[1]["violations"][0]["severity"] == "Warning"
    accepted = world.client.get(f"/assets/{records[2]['id']}", headers=world.auth("fsp", fsp)).json()
    assert accepted["acceptedWarnings"][0]["warningPath"] == "ratedCapacity"


@pytest.mark.parametrize(("content", "problem"), [
    (b"assetName,colour\nx,red\n", "unknown"),
    (b"", "header"),
    (b"assetName,manufacturer\nx,Caf\xe9\n", "UTF-8"),
])
def test_bad_csv_files_are_refused_whole(world: World, fsp: str, content: bytes, problem: str) -> None:
    before = world.snapshot()
    response = world.client.post("/assets/bulk", content=content,
                                 headers={**world.auth("fsp", fsp), "Content-Type": "text/csv"})
    assert response.status_code == 422 and problem in response.json()["detail"]
    assert world.snapshot() == before


def test_malformed_csv_rows_are_rejected_records(world: World, fsp: str) -> None:
    body = asset_body()
    header = ",".join(body)
    row = ",".join(str(v) for v in body.values())
    content = f"{header}\n{row}\n{row},extra\nshort\n".encode()
    response = world.client.post("/assets/bulk", content=content,
                                 headers={**world.auth("fsp", fsp), "Content-Type": "text/csv"})
    assert [r["status"] for r in response.json()["records"]] == ["created", "rejected", "rejected"]


def test_bulk_refuses_other_media_types_and_huge_bodies(world: World, fsp: str) -> None:
    before = world.snapshot()
    assert world.client.post("/assets/bulk", content=b"{}", headers={**world.auth("fsp", fsp),
                             "Content-Type": "application/json"}).status_code == 415
    huge = world.registry.settings.bulk_max_body_bytes + 1
    response = world.client.post("/assets/bulk", content=b" " * huge, headers={**world.auth("fsp", fsp), **NDJSON})
    assert response.status_code == 413 and "fmar import" in response.json()["detail"]
    assert world.client.post("/assets/bulk", content=b"{}", headers=NDJSON).status_code == 401
    assert world.snapshot() == before


def test_bulk_records_for_another_organisation_are_rejected(world: World, fsp: str) -> None:
    other = world.org("FSP")
    bodies = [asset_body(other), asset_body(fsp, importMPAN=mpan("100000000811"), serialNumber="MINE-1")]
    records = world.client.post("/assets/bulk", content=_ndjson(bodies),
                                headers={**world.auth("fsp", fsp), **NDJSON}).json()["records"]
    assert [r["status"] for r in records] == ["rejected", "created"]


def test_bulk_writes_one_audit_event_per_batch_naming_each_record(world: World, fsp: str) -> None:
    bodies = list(generate(4, seed=5))
    records = world.client.post("/assets/bulk", content=_ndjson(bodies),
                                headers={**world.auth("fsp", fsp), **NDJSON}).json()["records"]
    rows = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?e (COUNT(?r) AS ?n) WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; fmar:record ?r } }
        GROUP BY ?e""")
    assert [int(str(r["n"])) for r in rows] == [len(records)]


@pytest.mark.parametrize("fmt", ["jsonld", "turtle", "ntriples", "csv"])
def test_export_streams_the_callers_assets(world: World, fsp: str, fmt: str) -> None:
    mine = {world.asset(fsp) for _ in range(3)}
    world.asset(world.org("FSP"))
    response = world.client.get(f"/assets/export?format={fmt}", headers=world.auth("fsp", fsp))
    assert response.status_code == 200
    iris = {str(world.registry.iris.record("assets", a)) for a in mine}
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {r["id"] for r in rows} == iris and rows[0]["assetCategory"] == "BESS"
    elif fmt == "jsonld":
        assert {d["id"] for d in response.json()["@graph"]} == iris
    else:
        media = {"turtle": "text/turtle", "ntriples": "application/n-triples"}[fmt]
        graph: Graph = parse_rdf(response.text, media)
        assert {str(s) for s in graph.subjects() if "#" not in str(s)} == iris
        single = parse_rdf(world.client.get(f"/assets/{next(iter(mine))}", headers={
            **world.auth("fsp", fsp), "Accept": media}).text, media)
        assert set(single) <= set(graph)
    events = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?e WHERE { GRAPH ?g { ?e fmar:operation "asset.export" } }""")
    assert len(events) == 1


def test_export_refuses_unknown_formats(world: World, fsp: str) -> None:
    assert world.client.get("/assets/export?format=xlsx", headers=world.auth("fsp", fsp)).status_code == 400


def test_bulk_soft_rule_on_an_mpan_of_another_organisation(world: World, fsp: str) -> None:
    other = world.org("FSP")
    shared = mpan("100000000901")
    world.asset(other, importMPAN=shared, serialNumber="OTHER-1")
    bodies = [asset_body(importMPAN=shared, serialNumber="MINE-1"),
              asset_body(importMPAN=shared, serialNumber="MINE-2", justification="a second meter on site")]
    records = world.client.post("/assets/bulk", content=_ndjson(bodies),
                                headers={**world.auth("fsp", fsp), **NDJSON}).json()["records"]
    assert [r["status"] for r in records] == ["rejected", "created"]
    assert [(v["path"], v["severity"]) for v in records[0]["violations"]] == [("importMPAN", "Warning")]
