"""UC-02.01 over HTTP: categories are published SHACL shapes, versioned, checked, deprecable."""

from __future__ import annotations

import time

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from fmar.arm import categories
from fmar.iris import FMAR
from fmar.validation.shacl import SH
from tests.api.conftest import World
from tests.conftest import asset_body, mpan

BESS = URIRef("https://w3id.org/fmar/shapes/category/BESS")
TURTLE = {"Content-Type": "text/turtle"}


def _current(world: World) -> Graph:
    response = world.client.get("/categories/BESS")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    return Graph().parse(data=response.text, format="turtle")


def _with_storage_at_most(world: World, kwh: int) -> str:
    graph = _current(world)
    prop = BNode()
    graph.add((BESS, SH.property, prop))
    graph.add((prop, SH.path, FMAR.storageCapacity))
    graph.add((prop, SH.maxInclusive, Literal(str(kwh), datatype=XSD.decimal)))
    graph.add((prop, SH.message, Literal(f"storageCapacity must be at most {kwh} kWh")))
    return graph.serialize(format="turtle")


def test_anyone_lists_and_reads_categories(world: World) -> None:
    items = world.client.get("/categories").json()["items"]
    assert {i["code"] for i in items} >= {"BESS", "SOLAR_PV", "EV_CHARGER", "HEAT_PUMP", "OTHER"}
    assert all(i["version"] == 1 and not i["deprecated"] for i in items)
    assert (BESS, FMAR.forCategory, URIRef("https://w3id.org/fmar/code/AssetCategory/BESS")) in _current(world)
    assert world.client.get("/categories/ROCKET").status_code == 404
    assert world.client.get("/categories/BESS", headers={"Accept": "text/csv"}).status_code == 406


def test_a_new_version_applies_to_new_registrations_and_every_version_stays_readable(world: World) -> None:
    fsp = world.org("FSP")
    response = world.client.put("/categories/BESS", content=_with_storage_at_most(world, 50),
                                headers={**world.auth("admin"), **TURTLE})
    assert response.status_code == 200, response.text
    assert response.json() == {"code": "BESS", "version": 2}
    too_big = world.client.post("/assets", json=asset_body(fsp, storageCapacity=60), headers=world.auth("fsp", fsp))
    assert too_big.status_code == 422 and "at most 50 kWh" in too_big.text
    assert world.client.post("/assets", json=asset_body(fsp, storageCapacity=40),
                             headers=world.auth("fsp", fsp)).status_code == 201
    first = Graph().parse(data=world.client.get("/categories/BESS?version=1").text, format="turtle")
    assert (None, SH.maxInclusive, None) not in first
    assert world.client.get("/categories").json()["items"][0]["version"] == 2
    assert world.client.get("/categories/BESS?version=9").status_code == 404


def test_a_version_existing_assets_would_break_needs_breaking(world: World) -> None:
    fsp = world.org("FSP")
    asset = world.asset(fsp)  # 13.5 kWh
    shape = _with_storage_at_most(world, 10)
    before = world.snapshot()
    refused = world.client.put("/categories/BESS", content=shape, headers={**world.auth("admin"), **TURTLE})
    assert refused.status_code == 409 and refused.json()["failing"] == [asset]
    assert world.snapshot() == before
    accepted = world.client.put("/categories/BESS?breaking=true&reason=policy", content=shape,
                                headers={**world.auth("admin"), **TURTLE})
    assert accepted.status_code == 200


def test_bad_shapes_are_refused(world: World) -> None:
    good = _current(world)
    broken = Graph()
    broken += good
    broken.add((BNode(), RDF.type, SH.NodeShape))
    prop = next(good.objects(BESS, SH.property))
    invalid = Graph()
    invalid += good
    invalid.add((prop, SH.minCount, Literal("many")))
    reaches_out = Graph()
    reaches_out += good
    constraint = BNode()
    reaches_out.add((BESS, SH.sparql, constraint))
    reaches_out.add((constraint, SH.select, Literal("SELECT $this WHERE { SERVICE <http://example.org/sparql> "
                                                    "{ $this ?p ?o } }")))
    other = Graph()
    other += good
    other.set((BESS, FMAR.forCategory, URIRef("https://w3id.org/fmar/code/AssetCategory/HEAT_PUMP")))
    fsp = world.org("FSP")
    before = world.snapshot()
    headers = {**world.auth("admin"), **TURTLE}
    assert world.client.put("/categories/BESS", content=b"this is not turtle", headers=headers).status_code == 400
    for graph in (invalid, reaches_out, other):
        response = world.client.put("/categories/BESS", content=graph.serialize(format="turtle"), headers=headers)
        assert response.status_code == 422, response.text
    assert world.client.put("/categories/BESS", content=good.serialize(format="turtle"),
                            headers={**world.auth("admin"), "Content-Type": "application/json"}).status_code == 415
    assert world.client.put("/categories/BESS", content=good.serialize(format="turtle"),
                            headers={**world.auth("fsp", fsp), **TURTLE}).status_code == 403
    assert world.snapshot() == before


def test_deprecation_refuses_new_registrations_and_leaves_assets_alone(world: World) -> None:
    fsp = world.org("FSP")
    asset = world.asset(fsp)
    response = world.client.post("/categories/BESS/deprecate", json={"reason": "superseded"}, headers=world.auth("admin"))
    assert response.status_code == 200 and response.json()["deprecated"] is True
    refused = world.client.post("/assets", json=asset_body(fsp, importMPAN=mpan("100000000666"), serialNumber="D-1"),
                                headers=world.auth("fsp", fsp))
    assert refused.status_code == 422 and "deprecated" in refused.json()["detail"]
    read = world.client.get(f"/assets/{asset}", headers=world.auth("fsp", fsp))
    assert read.status_code == 200
    update = world.client.patch(f"/assets/{asset}", json={"assetName": "Still here"},
                                headers={**world.auth("fsp", fsp), "If-Match": read.headers["etag"]})
    assert update.status_code == 200
    assert world.client.post("/categories/BESS/deprecate", headers=world.auth("admin")).status_code == 409
    assert world.client.get("/categories").json()["items"][0]["deprecated"] is True


def test_published_versions_survive_a_restart(world: World) -> None:
    from fmar.registry import build

    world.client.put("/categories/BESS", content=_with_storage_at_most(world, 50), headers={**world.auth("admin"), **TURTLE})
    again = build(world.registry.settings, store=world.registry.store)
    assert [i["version"] for i in again.categories.list() if i["code"] == "BESS"] == [2]


def _wait(world: World, where: str) -> dict[str, object]:
    """A publication's status once it has finished."""
    for _ in range(600):
        status = world.client.get(where, headers=world.auth("admin"))
        assert status.status_code == 200, status.text
        if status.json()["state"] != "running":
            return dict(status.json())
        time.sleep(0.05)
    raise AssertionError("the publication did not finish")


def test_a_large_category_is_checked_in_the_background(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(categories, "INLINE_CHECK", 1)  # two assets make a large category here
    fsp = world.org("FSP")
    assets = [world.asset(fsp), world.asset(fsp)]  # 13.5 kWh each
    before = world.snapshot()
    refused = world.client.put("/categories/BESS", content=_with_storage_at_most(world, 10),
                               headers={**world.auth("admin"), **TURTLE})
    assert refused.status_code == 202 and refused.headers["location"].startswith("/categories/BESS/publications/")
    final = _wait(world, refused.headers["location"])
    problem = final["problem"]
    assert final["state"] == "failed" and final["total"] == 2 and isinstance(problem, dict)
    assert problem["status"] == 409 and sorted(problem["failing"]) == sorted(assets)
    assert world.snapshot() == before
    published = world.client.put("/categories/BESS", content=_with_storage_at_most(world, 50),
                                 headers={**world.auth("admin"), **TURTLE})
    assert published.status_code == 202
    final = _wait(world, published.headers["location"])
    assert final["state"] == "done" and final["result"] == {"code": "BESS", "version": 2} and final["done"] == 2
    assert world.client.get(published.headers["location"], headers=world.auth("fsp", fsp)).status_code == 403
    assert world.client.get("/categories/BESS/publications/nothing", headers=world.auth("admin")).status_code == 404


def test_assets_written_while_the_check_ran_are_checked_before_the_version_is_in_force(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(categories, "INLINE_CHECK", 1)
    fsp = world.org("FSP")
    world.asset(fsp, storageCapacity=5)
    world.asset(fsp, storageCapacity=6)
    check = world.registry.categories._check
    late: list[str] = []

    def checked_while_one_more_arrives(*args: object, **kwargs: object) -> None:
        check(*args, **kwargs)  # type: ignore[arg-type]
        late.append(world.asset(fsp, storageCapacity=40))  # registered under the old version, meanwhile

    monkeypatch.setattr(world.registry.categories, "_check", checked_while_one_more_arrives)
    response = world.client.put("/categories/BESS", content=_with_storage_at_most(world, 10),
                                headers={**world.auth("admin"), **TURTLE})
    final = _wait(world, response.headers["location"])
    assert final["state"] == "failed" and final["problem"]["failing"] == late  # type: ignore[index]
    assert world.client.get("/categories").json()["items"][0]["version"] == 1
