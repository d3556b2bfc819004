"""Record history and as-of reads (UC-05.06, UC-02.04), for every record type, under the policy table over time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from fmar.access.principal import SYSTEM
from tests.api.conftest import World, admin
from tests.conftest import asset_body, mpan

FORMATS = ("text/turtle", "application/n-triples", "application/rdf+xml")


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def patch(world: World, path: str, body: dict[str, object], headers: dict[str, str]) -> None:
    tag = world.client.get(path, headers=headers).headers["ETag"]
    response = world.client.patch(path, json=body, headers={**headers, "If-Match": tag})
    assert response.status_code == 200, response.text


def rdf(world: World, path: str, media: str, headers: dict[str, str]) -> Graph:
    response = world.client.get(path, headers={**headers, "Accept": media})
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.content, format={"text/turtle": "turtle", "application/n-triples": "nt",
                                                         "application/rdf+xml": "xml"}[media])


def history(world: World, path: str, headers: dict[str, str]) -> list[dict[str, object]]:
    response = world.client.get(f"{path}/history", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record"].endswith(path) and "@context" in body
    return list(body["versions"])


def switch(world: World, asset: str, to: str) -> None:
    """An asset moving to another FSP, through the write path (the switch use case has no route yet)."""
    from fmar.iris import FMAR
    from fmar.writepath import Change

    assets = world.registry.assets
    record = world.registry.iris.record("assets", asset)
    before = assets.load(record)
    after = Graph()
    after += before
    after.set((record, FMAR.operatedBy, world.registry.iris.record("organisations", to)))
    world.registry.write.commit(Change("asset.update", SYSTEM, None, assets.changes(record, before, after),
                                       reason="switch"))


@pytest.fixture
def fsp(world: World) -> str:
    return world.org("FSP")


def test_an_assets_versions_oldest_first_with_who_when_what_and_why(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    path = f"/assets/{asset}"
    owner = world.auth("fsp", fsp)
    patch(world, path, {"assetName": "Garage battery", "reason": "renamed by the owner"}, owner)
    so = world.org("DNO", networkAreas=["UKPN_EPN"])
    validated = world.client.post(f"{path}/validation", json={"status": "Verified", "note": "meter checked"},
                                  headers=world.auth("so", so))
    assert validated.status_code == 200
    versions = history(world, path, owner)
    assert [v["operation"] for v in versions] == ["asset.create", "asset.update", "asset.validate"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["sequence"] for v in versions] == sorted(v["sequence"] for v in versions)  # type: ignore[type-var]
    renamed = versions[1]
    assert renamed["reason"] == "renamed by the owner" and renamed["agent"]["role"] == "fsp"  # type: ignore[index]
    changes = {(c["op"], c["property"], c["value"]) for c in renamed["changes"]}  # type: ignore[attr-defined]
    assert ("remove", "assetName", "Home battery 1") in changes and ("add", "assetName", "Garage battery") in changes
    assert versions[2]["agent"]["organisation"].endswith(so)  # type: ignore[index]
    created = {(c["op"], c["property"]) for c in versions[0]["changes"]}  # type: ignore[attr-defined]
    assert ("add", "importMPAN") in created and ("add", "ratedCapacity") in created


@pytest.mark.parametrize("media", FORMATS)
def test_an_asset_as_of_each_past_time_is_the_record_read_then(world: World, fsp: str, media: str) -> None:
    asset = world.asset(fsp)
    path = f"/assets/{asset}"
    owner = world.auth("fsp", fsp)
    then, seen, tags = [], [], []
    for n in range(3):
        seen.append(rdf(world, path, media, owner))
        tags.append(world.client.get(path, headers=owner).headers["ETag"])
        then.append(now())
        patch(world, path, {"assetName": f"Battery v{n + 2}", "ratedCapacity": 5 + n}, owner)
    for when, expected, tag in zip(then, seen, tags, strict=True):
        response = world.client.get(path, params={"asOf": when}, headers={**owner, "Accept": media})
        assert response.status_code == 200, response.text
        assert response.headers["ETag"] == tag and "Memento-Datetime" in response.headers
        got = Graph().parse(data=response.content, format={"text/turtle": "turtle", "application/n-triples": "nt",
                                                            "application/rdf+xml": "xml"}[media])
        assert isomorphic(got, expected)
    current = world.client.get(path, params={"asOf": now()}, headers=owner)
    assert current.json()["assetName"] == "Battery v4"


def test_as_of_as_json_ld_and_before_the_record_existed(world: World, fsp: str) -> None:
    before = now()
    asset = world.asset(fsp)
    owner = world.auth("fsp", fsp)
    gone = world.client.get(f"/assets/{asset}", params={"asOf": before}, headers=owner)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    assert "did not exist" in gone.json()["detail"]
    body = world.client.get(f"/assets/{asset}", params={"asOf": now()}, headers=owner).json()
    assert body["identifier"] == asset and body["assetName"] == "Home battery 1"


@pytest.mark.parametrize("bad", ["yesterday", "2026-05-01T12:00:00", "2026-13-01T00:00:00Z", ""])
def test_a_bad_as_of_time_is_a_problem_and_reads_nothing(world: World, fsp: str, bad: str) -> None:
    asset = world.asset(fsp)
    response = world.client.get(f"/assets/{asset}", params={"asOf": bad}, headers=world.auth("fsp", fsp))
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"


def test_a_former_operator_sees_the_asset_as_it_was_while_it_was_theirs_not_after(world: World) -> None:
    first, second = world.org("FSP"), world.org("FSP")
    asset = world.asset(first)
    path = f"/assets/{asset}"
    patch(world, path, {"assetName": "Kept by the first"}, world.auth("fsp", first))
    while_theirs = now()
    switch(world, asset, second)
    patch(world, path, {"assetName": "Renamed by the second"}, world.auth("fsp", second))
    former, current = world.auth("fsp", first), world.auth("fsp", second)
    assert world.client.get(path, headers=former).status_code == 404
    assert world.client.get(path, params={"asOf": while_theirs}, headers=former).json()["assetName"] == \
        "Kept by the first"
    assert world.client.get(path, params={"asOf": now()}, headers=former).status_code == 404
    assert [v["operation"] for v in history(world, path, former)] == ["asset.create", "asset.update"]
    assert [v["operation"] for v in history(world, path, current)] == ["asset.update", "asset.update"]
    assert world.client.get(path, params={"asOf": while_theirs}, headers=current).status_code == 404
    assert len(history(world, path, world.auth("regulator", world.org("REGULATOR")))) == 4
    assert world.client.get(f"{path}/history", headers=world.auth("fsp", world.org("FSP"))).status_code == 404


def test_a_system_operator_sees_the_history_of_assets_in_its_areas_only(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    inside, outside = world.org("DNO", networkAreas=["UKPN_EPN"]), world.org("DNO", networkAreas=["NGED_WMID"])
    assert len(history(world, f"/assets/{asset}", world.auth("so", inside))) == 1
    assert world.client.get(f"/assets/{asset}/history", headers=world.auth("so", outside)).status_code == 404
    assert world.client.get(f"/assets/{asset}/history").status_code == 401


def test_an_organisation_and_a_user_have_history_and_as_of(world: World, fsp: str) -> None:
    headers = admin(world)
    renamed_at = now()
    patch(world, f"/organisations/{fsp}", {"tradingName": "Fen Flex", "reason": "rebrand"}, headers)
    assert [v["operation"] for v in history(world, f"/organisations/{fsp}", headers)] == \
        ["organisation.create", "organisation.update"]
    old = world.client.get(f"/organisations/{fsp}", params={"asOf": renamed_at}, headers=headers).json()
    assert "tradingName" not in old
    user = world.user(fsp)
    active = now()
    assert world.client.post(f"/users/{user}/deactivate", headers=headers).status_code == 200
    assert [v["operation"] for v in history(world, f"/users/{user}", headers)] == ["user.create", "user.status"]
    was = world.client.get(f"/users/{user}", params={"asOf": active}, headers=headers).json()
    assert was["status"].endswith("Active")
    member = world.auth("fsp", fsp)
    assert len(history(world, f"/users/{user}", member)) == 2
    assert world.client.get(f"/users/{user}/history", headers=world.auth("fsp", world.org("FSP"))).status_code == 404


def test_client_and_delegation_history_never_shows_a_secret(world: World) -> None:
    platform, fsp = world.org("PLATFORM"), world.org("FSP")
    client_id, secret = world.client_credentials(platform)
    client = world.registry.platforms  # the credential's record ID is listed with the organisation
    listed = world.client.get(f"/organisations/{platform}/clients", headers=admin(world)).json()["items"]
    record = next(item["identifier"] for item in listed if item.get("clientId") == client_id)
    assert client is not None
    versions = history(world, f"/clients/{record}", admin(world))
    assert versions[0]["operation"] == "client.create"
    assert secret not in str(versions) and "[redacted]" in str(versions)
    delegation = world.delegation(fsp, platform, ["asset.read"])
    assert [v["operation"] for v in history(world, f"/delegations/{delegation}", world.auth("fsp", fsp))] == \
        ["delegation.create"]


def test_an_asset_registered_in_bulk_has_its_first_version_from_the_batch(world: World, fsp: str) -> None:
    import json

    lines = [json.dumps(asset_body(world.registry.iris.record("organisations", fsp),
                                   importMPAN=mpan(f"1077{n:08d}"), serialNumber=f"BULK-{n}")) for n in range(3)]
    response = world.client.post("/assets/bulk", content="\n".join(lines).encode(),
                                 headers={**world.auth("fsp", fsp), "Content-Type": "application/x-ndjson"})
    asset = response.json()["records"][1]["id"].rsplit("/", 1)[-1]
    (version,) = history(world, f"/assets/{asset}", world.auth("fsp", fsp))
    assert ("add", "serialNumber", "BULK-1") in {(c["op"], c["property"], c["value"])
                                                for c in version["changes"]}  # type: ignore[attr-defined]


def test_the_audit_trail_by_record_actor_and_time_in_pages(world: World, fsp: str) -> None:
    start = now()
    assets = [world.asset(fsp) for _ in range(3)]
    other = world.org("FSP")
    world.asset(other)
    headers = admin(world)
    page = world.client.get("/audit", params={"from": start, "limit": 2}, headers=headers).json()
    assert [e["operation"] for e in page["items"]] == ["asset.create", "asset.create"]
    found = page["items"]
    while "next" in page:
        page = world.client.get(page["next"].replace("http://testserver", ""), headers=headers).json()
        found += page["items"]
    sequences = [e["sequence"] for e in found]
    assert sequences == sorted(sequences) and len(sequences) == 5  # four assets and the organisation
    record = str(world.registry.iris.record("assets", assets[0]))
    by_record = world.client.get("/audit", params={"record": record}, headers=world.auth("fsp", fsp)).json()
    assert [e["records"] for e in by_record["items"]] == [[record]]
    mine = world.client.get("/audit", params={"from": start}, headers=world.auth("fsp", fsp)).json()["items"]
    assert mine == []  # the system made these records, not the FSP
    patch(world, f"/assets/{assets[1]}", {"assetName": "Mine"}, world.auth("fsp", fsp, subject="fsp-person"))
    mine = world.client.get("/audit", params={"from": start}, headers=world.auth("fsp", fsp)).json()["items"]
    assert [e["operation"] for e in mine] == ["asset.update"]
    by_actor = world.client.get("/audit", params={"actor": "fsp-person"}, headers=headers).json()["items"]
    assert [e["id"] for e in by_actor] == [mine[0]["id"]]
    assert world.client.get("/audit", params={"to": start, "from": start}, headers=headers).json()["items"] == []
    bad = world.client.get("/audit", params={"from": "soon"}, headers=headers)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert world.client.get("/audit").status_code == 401
    assert world.client.get("/audit", headers=world.auth("consumer")).status_code == 403


def test_the_chain_over_http_for_the_admin_and_regulator_only(world: World, fsp: str) -> None:
    world.asset(fsp)
    regulator = world.auth("regulator", world.org("REGULATOR"))
    head = world.client.get("/audit/head", headers=admin(world)).json()
    result = world.client.get("/audit/verify", params={"sequence": head["sequence"], "hash": head["hash"]},
                              headers=regulator).json()
    assert result["intact"] and result["head"]["sequence"] == head["sequence"]
    wrong = world.client.get("/audit/verify", params={"sequence": head["sequence"], "hash": "0" * 64},
                             headers=admin(world)).json()
    assert not wrong["intact"] and wrong["firstProblem"]["kind"] == "altered"
    assert world.client.get("/audit/verify", params={"sequence": 1}, headers=admin(world)).status_code == 400
    assert world.client.get("/audit/verify", headers=world.auth("fsp", fsp)).status_code == 403


def test_history_of_the_system_made_record_is_readable_by_its_organisation(world: World, fsp: str) -> None:
    """The FSP sees its own records' history even when the admin made every change."""
    asset = world.asset(fsp)
    world.registry.assets.set_validation(SYSTEM, asset, "Verified", "ok")
    assert len(history(world, f"/assets/{asset}", world.auth("fsp", fsp))) == 2


def test_a_category_has_history_and_as_of_for_anyone(world: World) -> None:
    from tests.api.test_categories import _with_storage_at_most

    seed_time = now()
    published = world.client.put("/categories/BESS", content=_with_storage_at_most(world, 50),
                                 headers={**admin(world), "Content-Type": "text/turtle", }, params={"reason": "cap"})
    assert published.status_code == 200, published.text
    second_time = now()
    versions = world.client.get("/categories/BESS/history").json()["versions"]
    assert [(v["version"], v["operation"], v.get("reason")) for v in versions] == [(2, "category.update", "cap")]
    assert any(c["property"].endswith("maxInclusive") for c in versions[0]["changes"])
    for when, version in ((seed_time, 1), (second_time, 2)):
        then = world.client.get("/categories/BESS", params={"asOf": when})
        assert then.status_code == 200 and then.headers["Content-Location"].endswith(f"version={version}")
        expected = world.client.get("/categories/BESS", params={"version": version})
        assert isomorphic(Graph().parse(data=then.text, format="turtle"),
                          Graph().parse(data=expected.text, format="turtle"))
    assert world.client.get("/categories/BESS", params={"asOf": "soon"}).status_code == 400
    assert world.client.get("/categories/BESS", params={"asOf": now(), "version": 1}).status_code == 400


def test_a_record_changed_by_a_sparql_update_has_that_version_in_its_history_and_as_of(world: World, fsp: str) -> None:
    asset = world.asset(fsp)
    record = world.registry.iris.record("assets", asset)
    (row,) = world.registry.store.select(
        f"SELECT ?g WHERE {{ GRAPH ?g {{ <{record}> <https://w3id.org/fmar#assetName> ?n }} }}")
    before = now()
    statement = (f"PREFIX fmar: <https://w3id.org/fmar#> WITH <{row['g']}> DELETE {{ <{record}> fmar:assetName ?old }} "
                 f"INSERT {{ <{record}> fmar:assetName \"Fixed\" }} WHERE {{ <{record}> fmar:assetName ?old }}")
    response = world.client.post("/sparql/update", content=statement.encode(),
                                 headers={**admin(world), "Content-Type": "application/sparql-update"})
    assert response.status_code == 204, response.text
    versions = history(world, f"/assets/{asset}", world.auth("fsp", fsp))
    assert [v["operation"] for v in versions] == ["asset.create", "sparql.update"]
    assert {(c["op"], c["value"]) for c in versions[1]["changes"]} == {("remove", "Home battery 1"), ("add", "Fixed")}
    owner = world.auth("fsp", fsp)
    assert world.client.get(f"/assets/{asset}", params={"asOf": before}, headers=owner).json()["assetName"] == \
        "Home battery 1"
    assert world.client.get(f"/assets/{asset}", headers=owner).json()["assetName"] == "Fixed"


def test_a_history_document_is_json_ld_whose_versions_are_prov_activities_in_order(world: World, fsp: str) -> None:
    from pyld import jsonld

    asset = world.asset(fsp)
    patch(world, f"/assets/{asset}", {"assetName": "Renamed"}, world.auth("fsp", fsp))
    document = world.client.get(f"/assets/{asset}/history", headers=world.auth("fsp", fsp)).json()
    graph = Graph().parse(data=jsonld.to_rdf(document, {"format": "application/n-quads"}), format="nt")
    query = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT ?n ?when WHERE { ?h fmar:historyOf ?r ; fmar:version/rdf:rest*/rdf:first ?v .
                                ?v fmar:versionNumber ?n ; prov:startedAtTime ?when } ORDER BY ?n"""
    rows = list(graph.query(query))
    assert [int(n) for n, _ in rows] == [1, 2]
